/*
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package runs it
 * for the CSI sidecars (csi-lib-utils: lease 15 s, renew deadline 10 s, retry period 5 s): a
 * candidate tries every retry period (jittered by up to 1.2 periods) and takes the Lease when it
 * has none or the holder's record has not changed for a lease duration on the candidate's own
 * clock; the leader renews every retry period and, when it cannot within the renew deadline,
 * stops leading. Writes are PUTs of the last object read, so the API server's resourceVersion
 * check lets only one of two racing candidates win.
 */
import { isNotFound } from "../../client/api-error.ts";
import type { KubeRequest } from "../../client/kube-client.ts";
import { NO_RETRY } from "../../client/retry.ts";
import type { Clock } from "../../kernel/clock.ts";
import { microTime } from "../node-object.ts";

/** What the Lease says about the leader (client-go's `LeaderElectionRecord`). */
export interface LeaderElectionRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: string;
  readonly renewTime: string;
  readonly leaseTransitions: number;
}

/** The Lease as a lock (client-go's `resourcelock.Interface`): `update` writes over what was last read or written. */
export interface LeaseLock {
  /** The record, or undefined when there is no Lease. */
  get(): Promise<LeaderElectionRecord | undefined>;
  create(record: LeaderElectionRecord): Promise<void>;
  /** Fails (409) when somebody wrote the Lease since this lock last read or wrote it. */
  update(record: LeaderElectionRecord): Promise<void>;
}

/** The CSI sidecars' election timing (csi-lib-utils standardflags defaults). */
export const SIDECAR_ELECTION = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 5_000 };
/** client-go's jitter of the candidates' retry period. */
const JITTER_FACTOR = 1.2;

/** Options of a {@link LeaderElector}. */
export interface ElectorOptions {
  readonly lock: LeaseLock;
  /** Unique per process: two processes with one identity would both lead. */
  readonly identity: string;
  readonly clock: Clock;
  readonly random: () => number;
  /** Runs `fn` after `ms` (the engine's due queue). */
  readonly schedule: (ms: number, fn: () => void) => void;
  readonly timing?: typeof SIDECAR_ELECTION;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  /** A failed attempt (for logs). */
  onError?(err: unknown): void;
}

/** One candidate: {@link start} it, and it leads whenever it holds the Lease. */
export class LeaderElector {
  private readonly o: ElectorOptions;
  private readonly t: typeof SIDECAR_ELECTION;
  private observed: LeaderElectionRecord | undefined;
  private observedRaw = "";
  private observedAt = 0;
  private leading = false;
  /** Bumped on stop: steps scheduled before belong to an old run. */
  private run = 0;

  constructor(o: ElectorOptions) {
    this.o = o;
    this.t = o.timing ?? SIDECAR_ELECTION;
  }

  /** Whether this candidate leads (it started leading and has not stopped). */
  get isLeading(): boolean {
    return this.leading;
  }

  /** Starts campaigning (the first attempt at once). */
  start(): void {
    const run = ++this.run;
    this.acquire(run);
  }

  /** Stops campaigning; with `release`, a leader hands the Lease back (ReleaseOnCancel) so another takes it at once. */
  async stop(release: boolean): Promise<void> {
    this.run++;
    const wasLeader = this.holds();
    if (this.leading) {
      this.leading = false;
      this.o.onStoppedLeading();
    }
    if (!release || !wasLeader) return;
    try {
      const old = await this.o.lock.get();
      if (!old || old.holderIdentity !== this.o.identity) return;
      const now = microTime(this.o.clock.now());
      await this.o.lock.update({
        holderIdentity: "",
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: old.leaseTransitions,
      });
    } catch (err) {
      this.o.onError?.(err);
    }
  }

  private holds(): boolean {
    return this.observed?.holderIdentity === this.o.identity;
  }

  private leaseValid(now: number): boolean {
    return this.observedAt + (this.observed?.leaseDurationSeconds ?? 0) * 1000 > now;
  }

  private acquire(run: number): void {
    void this.tryAcquireOrRenew().then((ok) => {
      if (run !== this.run) return;
      if (ok) {
        this.leading = true;
        this.o.onStartedLeading();
        this.o.schedule(this.t.retryPeriodMs, () =>
          this.renew(run, this.o.clock.now() + this.t.renewDeadlineMs),
        );
        return;
      }
      const jittered = this.t.retryPeriodMs * (1 + this.o.random() * JITTER_FACTOR);
      this.o.schedule(jittered, () => this.acquire(run));
    });
  }

  /** One renewal round: tries every retry period until the deadline, then gives up leading. */
  private renew(run: number, deadline: number): void {
    if (run !== this.run) return;
    void this.tryAcquireOrRenew().then((ok) => {
      if (run !== this.run) return;
      const { retryPeriodMs, renewDeadlineMs } = this.t;
      if (ok) {
        this.o.schedule(retryPeriodMs, () => this.renew(run, this.o.clock.now() + renewDeadlineMs));
      } else if (this.o.clock.now() + retryPeriodMs < deadline) {
        this.o.schedule(retryPeriodMs, () => this.renew(run, deadline));
      } else {
        this.leading = false;
        this.o.onStoppedLeading();
        this.o.schedule(retryPeriodMs, () => this.acquire(run));
      }
    });
  }

  /** client-go's `tryAcquireOrRenew`: true when this candidate holds the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { lock, identity, clock } = this.o;
    const now = clock.now();
    const stamp = microTime(now);
    const durationSeconds = Math.round(this.t.leaseDurationMs / 1000);
    const mine = (acquireTime: string, leaseTransitions: number): LeaderElectionRecord => ({
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime,
      renewTime: stamp,
      leaseTransitions,
    });
    try {
      // Fast path: the leader writes over the record it last wrote, without reading it.
      if (this.holds() && this.leaseValid(now)) {
        const rec = mine(this.observed!.acquireTime, this.observed!.leaseTransitions);
        try {
          await lock.update(rec);
          this.setObserved(rec);
          return true;
        } catch {
          // Somebody wrote the Lease: read it (the slow path).
        }
      }
      const old = await lock.get();
      if (!old) {
        const rec = mine(stamp, 0);
        await lock.create(rec);
        this.setObserved(rec);
        return true;
      }
      const raw = JSON.stringify(old);
      if (raw !== this.observedRaw) {
        this.observed = old;
        this.observedRaw = raw;
        this.observedAt = clock.now();
      }
      if (old.holderIdentity !== "" && this.leaseValid(now) && !this.holds()) return false;
      const rec = this.holds()
        ? mine(old.acquireTime, old.leaseTransitions)
        : mine(stamp, old.leaseTransitions + 1);
      await lock.update(rec);
      this.setObserved(rec);
      return true;
    } catch (err) {
      this.o.onError?.(err);
      return false;
    }
  }

  private setObserved(rec: LeaderElectionRecord): void {
    this.observed = rec;
    this.observedAt = this.o.clock.now();
  }
}

interface LeaseObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string };
  spec?: Partial<LeaderElectionRecord>;
}

/** The Lease lock on the API: GET, POST, and PUT of the last object read (its resourceVersion). */
export class ApiLeaseLock implements LeaseLock {
  private lease: LeaseObject | undefined;
  private readonly request: <T>(req: KubeRequest) => Promise<T>;
  private readonly namespace: string;
  private readonly name: string;

  constructor(request: <T>(req: KubeRequest) => Promise<T>, namespace: string, name: string) {
    this.request = request;
    this.namespace = namespace;
    this.name = name;
  }

  /** The Lease's metadata as last read or written (what the election's Events are about). */
  get metadata(): LeaseObject["metadata"] | undefined {
    return this.lease?.metadata;
  }

  private get collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases`;
  }

  async get(): Promise<LeaderElectionRecord | undefined> {
    try {
      this.lease = await this.request<LeaseObject>({
        method: "GET",
        path: `${this.collection}/${this.name}`,
        retry: NO_RETRY,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const s = this.lease.spec ?? {};
    return {
      holderIdentity: s.holderIdentity ?? "",
      leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
      acquireTime: s.acquireTime ?? "",
      renewTime: s.renewTime ?? "",
      leaseTransitions: s.leaseTransitions ?? 0,
    };
  }

  async create(record: LeaderElectionRecord): Promise<void> {
    this.lease = await this.request<LeaseObject>({
      method: "POST",
      path: this.collection,
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: this.name, namespace: this.namespace },
        spec: record,
      },
      retry: NO_RETRY,
    });
  }

  async update(record: LeaderElectionRecord): Promise<void> {
    if (!this.lease) throw new Error("lease not initialized, call get or create first");
    this.lease = await this.request<LeaseObject>({
      method: "PUT",
      path: `${this.collection}/${this.name}`,
      body: { ...this.lease, spec: record },
      retry: NO_RETRY,
    });
  }
}
