import { PodIpAllocator, parseCidr, type Cidr } from "./ip-pool.ts";

/** Where the addresses go: the node's pods. */
export interface PodAddresses {
  /** The engine's pod CIDR for this node when its Node has none. */
  fallbackCidr(): Cidr | undefined;
  /** Claims, on a new allocator, the addresses its running pods hold. */
  claimInUse(alloc: PodIpAllocator): void;
}

/**
 * A node's pod addresses: its pod CIDR (the Node's spec.podCIDR, else the engine's fallback) and
 * the allocator over it, created on first use.
 */
export class PodIps {
  private cidr: Cidr | undefined;
  private cidrText = "";
  private alloc: PodIpAllocator | undefined;

  /** The Node's spec.podCIDR as the server has it: a new one replaces the pool (next use). */
  observe(cidr: string | undefined): void {
    if (!cidr || cidr === this.cidrText) return;
    try {
      this.cidr = parseCidr(cidr, "spec.podCIDR");
      this.cidrText = cidr;
      this.alloc = undefined;
    } catch {
      // an IPv6 or odd CIDR: keep using the fallback pool
    }
  }

  /**
   * The allocator, created on first use over the pod CIDR (else the pods' fallback); a new one
   * (a new podCIDR, as a recreated Node gets) first claims the addresses in use: running pods keep
   * their addresses.
   */
  allocator(pods: PodAddresses): PodIpAllocator | undefined {
    if (!this.alloc) {
      const cidr = this.cidr ?? pods.fallbackCidr();
      if (cidr) {
        this.alloc = new PodIpAllocator(cidr);
        pods.claimInUse(this.alloc);
      }
    }
    return this.alloc;
  }

  /** Releases a pod's address (if an allocator holds it). */
  release(ip: string): void {
    this.alloc?.release(ip);
  }
}
