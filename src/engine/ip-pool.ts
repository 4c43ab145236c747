import { BadInputError } from "../kernel/errors.ts";

/** An IPv4 CIDR as numbers. */
export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  readonly base: number;
  readonly prefix: number;
}

/** Parses `a.b.c.d/n`; the error names the flag. */
export function parseCidr(text: string, flag: string): Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix > 30 || prefix < 1) {
    throw new BadInputError(`${flag} must be an IPv4 CIDR like 10.0.0.0/16 (prefix 1-30), got "${text}"`);
  }
  const raw = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (raw & mask) >>> 0, prefix };
}

/** Dotted form of a 32-bit address. */
export function formatIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Number of addresses in a CIDR. */
export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** The `index`-th host address of a pool (skipping the network and broadcast addresses), or undefined past its end. */
export function nthHost(pool: Cidr, index: number): string | undefined {
  if (index < 0 || index + 2 >= cidrSize(pool)) return undefined;
  return formatIp((pool.base + index + 1) >>> 0);
}

/** The `index`-th subnet of size /`prefix` inside `pool`, or undefined past its end. */
export function nthSubnet(pool: Cidr, prefix: number, index: number): Cidr | undefined {
  if (prefix < pool.prefix) return undefined;
  const count = 2 ** (prefix - pool.prefix);
  if (index < 0 || index >= count) return undefined;
  return { base: (pool.base + index * 2 ** (32 - prefix)) >>> 0, prefix };
}

/**
 * Hands out pod IPs of one node's pod CIDR: the next free one after the last handed out, from .2, like host-local
 * IPAM (.1 is the bridge), so a just-released address is not reused at once. One bit per address.
 */
export class PodIpAllocator {
  readonly cidr: Cidr;
  private readonly used: Uint8Array;
  private readonly size: number;
  private next = 2;

  constructor(cidr: Cidr) {
    this.cidr = cidr;
    this.size = cidrSize(cidr);
    this.used = new Uint8Array(Math.ceil(this.size / 8));
  }

  /** A free address, or undefined when the CIDR is full. */
  allocate(): string | undefined {
    for (let n = 0; n < this.size - 3; n++) {
      let off = this.next + n;
      if (off >= this.size - 1) off = 2 + ((off - 2) % (this.size - 3));
      if ((this.used[off >> 3]! & (1 << (off & 7))) === 0) {
        this.used[off >> 3]! |= 1 << (off & 7);
        this.next = off + 1 >= this.size - 1 ? 2 : off + 1;
        return formatIp((this.cidr.base + off) >>> 0);
      }
    }
    return undefined;
  }

  /** Marks an address as taken (a pod that already had it when the engine started). */
  claim(ip: string): boolean {
    const off = this.offsetOf(ip);
    if (off === undefined) return false;
    this.used[off >> 3]! |= 1 << (off & 7);
    return true;
  }

  /** Returns an address to the pool. */
  release(ip: string): void {
    const off = this.offsetOf(ip);
    if (off !== undefined) this.used[off >> 3]! &= ~(1 << (off & 7));
  }

  private offsetOf(ip: string): number | undefined {
    const parts = ip.split(".").map(Number);
    if (parts.length !== 4) return undefined;
    const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
    const off = n - this.cidr.base;
    return off >= 0 && off < this.size ? off : undefined;
  }
}
