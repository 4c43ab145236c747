/**
 * The fleet's Nodes and their Leases as the target has them, kept current by two watches (as an
 * informer's store) instead of listed on every poll: at 5,000 nodes a list of every Node and every
 * Lease every few seconds is itself load on the API server that is registering them.
 */
import { LEASE_RENEWAL, NODE_CENSUS } from "../client/protobuf-types.ts";
import { NODES_PATH, NODE_LEASES_PATH, FLEET_LABEL } from "../kernel/k8s.ts";
import type { Clock } from "../kernel/clock.ts";
import { Watcher, type Versioned, type WatchClient, type WatchListSupport } from "../engine/watcher.ts";
import { countNodes, type LeaseItem, type NodeCensus, type NodeItem } from "./census.ts";
import { HOLLOW_LABEL, nodeIndex, type FleetSpec } from "./spec.ts";

/**
 * A keyed store that a watch keeps: events set and delete; a relist (first start, 410 Gone)
 * announces every object again, and those it did not announce are gone once it has synced.
 */
export class WatchedMap<V> {
  private readonly items = new Map<string, V>();
  private relisted: Set<string> | undefined;
  /** Whether the first full list has been delivered. */
  synced = false;

  set(key: string, value: V): void {
    this.items.set(key, value);
    this.relisted?.add(key);
  }

  delete(key: string): void {
    this.items.delete(key);
    this.relisted?.delete(key);
  }

  relistStart(): void {
    this.relisted = new Set();
  }

  relistEnd(): void {
    const seen = this.relisted;
    this.relisted = undefined;
    if (seen) for (const key of [...this.items.keys()]) if (!seen.has(key)) this.items.delete(key);
    this.synced = true;
  }

  get size(): number {
    return this.items.size;
  }

  values(): IterableIterator<V> {
    return this.items.values();
  }

  get(key: string): V | undefined {
    return this.items.get(key);
  }

  /** A read-only view of the entries. */
  get map(): ReadonlyMap<string, V> {
    return this.items;
  }
}

/** What {@link FleetWatch} keeps of a Node: what the census reads, nothing else (5,000 of them). */
export function slimNode(n: NodeItem): NodeItem {
  const ready = n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
  const version = n.status?.nodeInfo?.kubeletVersion;
  return {
    metadata: {
      name: n.metadata.name,
      ...(n.metadata.creationTimestamp ? { creationTimestamp: n.metadata.creationTimestamp } : {}),
    },
    status: {
      conditions: ready ? [{ type: "Ready", status: "True" }] : [],
      ...(version ? { nodeInfo: { kubeletVersion: version } } : {}),
    },
  };
}

/** Options of a {@link FleetWatch}. */
export interface FleetWatchOptions {
  readonly clock: Clock;
  /** The fleet's name (its ownership label's value). */
  readonly fleet: string;
  /** The fleet's Node name prefix: only those Leases are kept. */
  readonly namePrefix: string;
  readonly random?: () => number;
  /** Called when the number of Ready fleet Nodes changes (cheap: counted as events come). */
  readonly onReadyCount?: (ready: number) => void;
}

/**
 * Watches the fleet's Nodes (by its labels) and the node Leases (`kube-node-lease`; Leases carry
 * no label to select by), resuming after a stream ends and relisting after 410 Gone or an error, as
 * a client-go reflector. Two requests for the whole wait instead of two lists per poll, in
 * protobuf with only the fields the census reads: at 5,000 nodes a JSON watcher made the API
 * server encode every Node update and Lease renewal once more just for the waiting CLI.
 */
export class FleetWatch {
  private readonly nodes = new WatchedMap<NodeItem>();
  private readonly leases = new WatchedMap<number>();
  private readonly watchers: Array<{ start(): void; stop(): void }> = [];
  private readonly client: WatchClient;
  private readonly opts: FleetWatchOptions;
  private readonly watchList: WatchListSupport = { enabled: true };
  private ready = 0;
  /** The last error either watch met (they retry on their own); cleared by the next sync. */
  lastError: unknown;
  /**
   * How often the Node watch was opened (resumed or listed), listed (its first list included), and
   * failed (each failure is retried after a backoff, as a reflector's).
   */
  readonly nodeWatch = { opens: 0, relists: 0, failures: 0 };

  constructor(client: WatchClient, opts: FleetWatchOptions) {
    this.client = client;
    this.opts = opts;
  }

  /** Opens both watches. */
  start(): void {
    const { clock, fleet, namePrefix } = this.opts;
    const options = {
      clock,
      random: this.opts.random ?? Math.random,
      watchList: this.watchList,
      onError: (err: unknown) => {
        this.lastError = err;
      },
    };
    const isReady = (n: NodeItem | undefined): boolean => n?.status?.conditions?.length === 1;
    const recount = (): void => {
      let ready = 0;
      for (const n of this.nodes.values()) if (isReady(n)) ready++;
      this.setReady(ready);
    };
    const nodes = new Watcher<NodeItem & Versioned>(
      this.client,
      NODES_PATH,
      { labelSelector: `${FLEET_LABEL}=${fleet},${HOLLOW_LABEL}=true` },
      {
        onEvent: (type, n) => {
          const name = n.metadata.name;
          const was = isReady(this.nodes.get(name));
          const now = type === "DELETED" ? undefined : slimNode(n);
          if (now) this.nodes.set(name, now);
          else this.nodes.delete(name);
          if (this.nodes.synced && was !== isReady(now)) this.setReady(this.ready + (was ? -1 : 1));
        },
        onRelistStart: () => {
          this.nodeWatch.relists++;
          this.nodes.relistStart();
        },
        onSynced: () => {
          this.nodes.relistEnd();
          this.lastError = undefined;
          recount();
        },
      },
      {
        ...options,
        onOpen: () => this.nodeWatch.opens++,
        onError: (err: unknown) => {
          this.nodeWatch.failures++;
          options.onError(err);
        },
      },
      NODE_CENSUS,
    );
    const leases = new Watcher<LeaseItem & Versioned>(
      this.client,
      NODE_LEASES_PATH,
      {},
      {
        onEvent: (type, l) => {
          const name = l.metadata.name;
          if (nodeIndex(name, namePrefix) === undefined) return;
          const renewed = l.spec?.renewTime ? Date.parse(l.spec.renewTime) : NaN;
          if (type === "DELETED" || Number.isNaN(renewed)) this.leases.delete(name);
          else this.leases.set(name, renewed);
        },
        onRelistStart: () => this.leases.relistStart(),
        onSynced: () => this.leases.relistEnd(),
      },
      options,
      LEASE_RENEWAL,
    );
    this.watchers.push(nodes, leases);
    for (const w of this.watchers) w.start();
  }

  private setReady(ready: number): void {
    if (ready === this.ready) return;
    this.ready = ready;
    this.opts.onReadyCount?.(ready);
  }

  /** Closes both watches. */
  stop(): void {
    for (const w of this.watchers) w.stop();
    this.watchers.length = 0;
  }

  /** The fleet's Nodes counted against `spec`; undefined until the Node watch has its first list. */
  census(spec: Pick<FleetSpec, "nodes" | "namePrefix">): NodeCensus | undefined {
    return this.nodes.synced ? countNodes([...this.nodes.values()], spec) : undefined;
  }

  /**
   * When each fleet Node it holds was created (ms, to the second as the API server stamps it),
   * oldest first. Set against the moments the Ready count grew, it bounds how long each
   * registration took to be counted Ready.
   */
  creationTimes(): number[] {
    const times: number[] = [];
    for (const n of this.nodes.values()) {
      const t = n.metadata.creationTimestamp ? Date.parse(n.metadata.creationTimestamp) : NaN;
      if (!Number.isNaN(t)) times.push(t);
    }
    return times.sort((a, b) => a - b);
  }

  /** When each fleet Node's Lease was last renewed (ms); undefined until the Lease watch has synced. */
  renewals(): ReadonlyMap<string, number> | undefined {
    return this.leases.synced ? this.leases.map : undefined;
  }
}
