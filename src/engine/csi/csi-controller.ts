/*
 * The controller side of the fleet's hollow CSI driver: the external-provisioner, external-attacher
 * and external-resizer of one process of the fleet, elected on a Lease (every process started with
 * the driver stands unless --no-csi-controller). Only the leader watches and works: StorageClasses,
 * CSINodes, PVs and VolumeAttachments fill its cache first, then the claims' watch starts and the
 * parts' work queues run. When it stops leading, it stops watching and drops its state; work in
 * flight writes nothing more.
 */
import { hostname } from "node:os";
import type { Logger } from "pino";
import { describeError } from "../../kernel/errors.ts";
import type { EngineContext } from "../engine-context.ts";
import type { Versioned, Watcher, WatchHandler } from "../watcher.ts";
import { Attacher } from "./attacher.ts";
import { ControllerCache } from "./controller-cache.ts";
import { ControllerEvents, refTo } from "./controller-events.ts";
import { controllerLeaseName, type CsiConfig } from "./csi-names.ts";
import { ApiLeaseLock, LeaderElector, SIDECAR_ELECTION } from "./leader-election.ts";
import type { PartContext } from "./part-context.ts";
import { Provisioner } from "./provisioner.ts";
import { Resizer } from "./resizer.ts";
import type {
  AttachmentObject,
  ClaimObject,
  ClassObject,
  CsiNodeObject,
  VolumeObject,
} from "./storage-objects.ts";
import { WorkQueue } from "./work-queue.ts";

/** How long stopping waits for the Lease's hand-back (client-go gives it the renew deadline). */
const RELEASE_WAIT_MS = 2_000;

/** Options of a {@link CsiController} (tests shorten the election). */
export interface CsiControllerOptions {
  readonly identity?: string;
  readonly timing?: typeof SIDECAR_ELECTION;
}

/** A unique identity for this process: its host name and a random suffix (`sanitizeName`d). */
export function processIdentity(random: () => number): string {
  const suffix = Math.floor(random() * 2 ** 32)
    .toString(16)
    .padStart(8, "0");
  return `${hostname()}-${suffix}`.replace(/[^a-zA-Z0-9-]/g, "-");
}

/** The elected controller of the fleet's CSI driver. */
export class CsiController {
  readonly identity: string;
  private readonly ctx: EngineContext;
  private readonly csi: CsiConfig;
  private readonly elector: LeaderElector;
  private readonly log: Logger;
  private readonly events: ControllerEvents;
  private session: Session | undefined;

  constructor(ctx: EngineContext, csi: CsiConfig, opts: CsiControllerOptions = {}) {
    this.ctx = ctx;
    this.csi = csi;
    this.identity = opts.identity ?? processIdentity(ctx.random);
    this.log = ctx.log.child({ subsystem: "csi-controller", driver: csi.driver });
    this.events = new ControllerEvents({
      request: (req) => ctx.request(req),
      clock: ctx.clock,
      log: this.log,
    });
    const lease = controllerLeaseName(csi.driver);
    // The heartbeat client, as the sidecars elect on a client of their own: busy work must not delay renewals.
    const lock = new ApiLeaseLock((req) => ctx.heartbeat(req), csi.leaseNamespace, lease);
    // client-go's LeaderElection Events on the Lease, from `<lock name>/<identity>`.
    const electionEvent = (what: string): void => {
      const m = lock.metadata;
      if (m)
        this.events.record(
          `${lease}/${this.identity}`,
          refTo("Lease", "coordination.k8s.io/v1", m),
          "Normal",
          "LeaderElection",
          `${this.identity} ${what}`,
        );
    };
    this.elector = new LeaderElector({
      lock,
      identity: this.identity,
      clock: ctx.clock,
      random: ctx.random,
      schedule: (ms, fn) => ctx.beats.after(ms, fn),
      timing: opts.timing ?? SIDECAR_ELECTION,
      onStartedLeading: () => {
        this.log.info(
          { lease: `${csi.leaseNamespace}/${lease}`, identity: this.identity },
          "became leader, starting",
        );
        electionEvent("became leader");
        this.session = new Session(this.ctx, this.csi, this.identity, this.log, this.events);
        this.session.start();
      },
      onStoppedLeading: () => {
        this.log.info({ identity: this.identity }, "stopped leading");
        electionEvent("stopped leading");
        this.session?.stop();
        this.session = undefined;
      },
      onError: (err) => this.log.debug({ err: describeError(err) }, "leader election attempt failed"),
    });
  }

  /** Whether this process leads (for tests and figures). */
  get leading(): boolean {
    return this.elector.isLeading;
  }

  /** Stands for election. */
  start(): void {
    this.elector.start();
  }

  /**
   * Stops working and hands the Lease back if held, so another process takes over at once; the
   * hand-back gets {@link RELEASE_WAIT_MS} (an unreachable API server must not hold the exit up).
   */
  async stop(): Promise<void> {
    await Promise.race([this.elector.stop(true), this.ctx.clock.sleep(RELEASE_WAIT_MS)]);
  }
}

/** One term of leadership: the watches, the cache and the parts. */
class Session {
  private active = true;
  private readonly ctx: EngineContext;
  private readonly csi: CsiConfig;
  private readonly log: Logger;
  private readonly cache: ControllerCache;
  private readonly watchers: Watcher<Versioned>[] = [];
  private readonly queues: WorkQueue[] = [];
  private readonly provisioner: Provisioner;
  private readonly attacher: Attacher;
  private readonly resizer: Resizer;

  constructor(ctx: EngineContext, csi: CsiConfig, identity: string, log: Logger, events: ControllerEvents) {
    this.ctx = ctx;
    this.csi = csi;
    this.log = log;
    this.cache = new ControllerCache(csi.driver);
    const p: PartContext = {
      ctx,
      driver: csi.driver,
      cache: this.cache,
      events,
      identity,
      active: () => this.active,
      queue: (name, workers, process) => {
        const q = new WorkQueue({
          workers,
          process,
          paused: true,
          schedule: (ms, fn) => ctx.queue.after(ms, fn),
          onError: (key, err) => log.debug({ queue: name, key, err: describeError(err) }, "retrying"),
        });
        this.queues.push(q);
        return q;
      },
    };
    this.provisioner = new Provisioner(p);
    this.attacher = new Attacher(p);
    this.resizer = new Resizer(p);
  }

  /** Fills the cache, then watches the claims and runs the queues. */
  start(): void {
    const { cache } = this;
    let pending = 4;
    const synced = (): void => {
      if (--pending !== 0 || !this.active) return;
      // Claims are not cached: after a relist, the parts forget the queued ones it did not show.
      let seen: Set<string> | undefined;
      this.watch<ClaimObject>("/api/v1/persistentvolumeclaims", {
        onEvent: (type, claim) => {
          seen?.add(claim.metadata.uid ?? "");
          this.provisioner.onClaim(type, claim);
          this.resizer.onClaim(type, claim);
        },
        onRelistStart: () => (seen = new Set()),
        onSynced: () => {
          if (seen) {
            this.provisioner.forgetClaimsBut(seen);
            this.resizer.forgetClaimsBut(seen);
          }
          seen = undefined;
        },
      });
      for (const q of this.queues) q.start();
      this.log.debug({ classes: cache.classes.map.size, volumes: cache.volumes.map.size }, "caches synced");
    };
    const done = new Set<number>();
    const once = (i: number): void => {
      if (done.has(i)) return;
      done.add(i);
      synced();
    };
    this.watch<ClassObject>("/apis/storage.k8s.io/v1/storageclasses", {
      onEvent: (type, c) =>
        type === "DELETED"
          ? cache.classes.map.delete(c.metadata.name)
          : cache.classes.set(c.metadata.name, c),
      onRelistStart: () => cache.classes.start(),
      onSynced: () => {
        cache.classes.end();
        once(0);
      },
    });
    this.watch<CsiNodeObject>("/apis/storage.k8s.io/v1/csinodes", {
      onEvent: (type, n) =>
        type === "DELETED" ? cache.csiNodes.map.delete(n.metadata.name) : cache.setCsiNode(n),
      onRelistStart: () => cache.csiNodes.start(),
      onSynced: () => {
        cache.csiNodes.end();
        once(1);
      },
    });
    this.watch<VolumeObject>("/api/v1/persistentvolumes", {
      onEvent: (type, pv) => this.onVolume(type, pv),
      onRelistStart: () => cache.volumes.start(),
      onSynced: () => {
        cache.volumes.end();
        once(2);
      },
    });
    this.watch<AttachmentObject>("/apis/storage.k8s.io/v1/volumeattachments", {
      onEvent: (type, va) => this.onAttachment(type, va),
      onRelistStart: () => cache.attachments.start(),
      onSynced: () => {
        cache.sweepAttachments();
        once(3);
      },
    });
  }

  private onVolume(type: string, pv: VolumeObject): void {
    if (!this.cache.ours(pv)) return;
    if (type === "DELETED") {
      this.cache.volumes.map.delete(pv.metadata.name);
      this.provisioner.onVolume(type, pv);
      return;
    }
    const trimmed = this.cache.setVolume(pv);
    this.provisioner.onVolume(type, trimmed);
    this.attacher.onVolume(trimmed);
  }

  private onAttachment(type: string, va: AttachmentObject): void {
    if (va.spec.attacher !== this.csi.driver) return;
    const deleted = type === "DELETED";
    this.cache.setAttachment(va, deleted);
    const pv = va.spec.source.persistentVolumeName;
    if (deleted && pv && this.cache.attachedNode(pv) === undefined) this.provisioner.detached(pv);
    this.attacher.onAttachment(type, va);
  }

  private watch<T extends Versioned>(path: string, handler: WatchHandler<T>): void {
    this.watchers.push(this.ctx.watch<T>(path, undefined, handler));
  }

  /** Ends the term: no more watching, queued work dropped, work in flight writes nothing more. */
  stop(): void {
    this.active = false;
    for (const w of this.watchers) w.stop();
    for (const q of this.queues) q.stop();
  }
}
