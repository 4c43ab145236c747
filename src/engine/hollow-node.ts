import type { Logger } from "pino";
import { isAlreadyExists, isConflict, isNotFound } from "../client/api-error.ts";
import type { KubeRequest } from "../client/kube-client.ts";
import { decodeObject, readObjectMeta } from "../client/protobuf.ts";
import { describeError } from "../kernel/errors.ts";
import type { HostedPod } from "./container-log.ts";
import type { EngineContext } from "./engine-context.ts";
import { PodIpAllocator, parseCidr, type Cidr } from "./ip-pool.ts";
import {
  encodeLease,
  microTime,
  missingLabels,
  renderCsiNode,
  renderLease,
  renderNode,
  renderNodeStatus,
  rfc3339,
  type LeaseObject,
  type NodeIdentity,
} from "./node-object.ts";
import {
  intern,
  referencedObjects,
  renderPodStatus,
  resourcesKey,
  slimPod,
  tokenRequests,
  type PodObject,
  type PodRun,
  type PodStage,
} from "./pod-status.ts";
import {
  afterExit,
  initFailure,
  podOutcome,
  podStopMs,
  resetsBackoff,
  restartDelayMs,
  type InitFailure,
} from "./container-run.ts";
import { podGate, probeFailures } from "./probes.ts";
import { HollowProxy } from "./hollow-proxy.ts";
import { statusDrift, statusReportDue, type ObservedNodeStatus, type StatusDrift } from "./node-status.ts";
import { Watcher, type Versioned } from "./watcher.ts";

const LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
/** The parts of a Node the engine reads. */
export interface NodeObject extends Versioned {
  metadata: { name: string; uid: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: { podCIDR?: string };
  status?: ObservedNodeStatus;
}

/** The refs of every pod that references no ConfigMap or Secret: shared, never written to. */
const NO_REFS: string[] = [];

/** What the engine remembers of one pod (kept small: thousands per process). */
interface PodState {
  uid: string;
  namespace: string;
  name: string;
  /** The latest pod seen, slimmed to what the engine reads ({@link slimPod}). */
  pod: PodObject;
  stage: PodStage | "new";
  ip: string;
  startedAt: string;
  runningAt: string;
  /** When the containers finished (succeeded, failed or terminated), for the kubelet endpoint's logs. */
  finishedAt?: string;
  /** Exit code of the containers' last run (succeeded, failed, backoff). */
  exitCode?: number;
  /** Container restarts so far, and exits in the current back-off streak. */
  restarts: number;
  exits: number;
  /** The containers' previous run, once they exited and were restarted (lastState). */
  lastRun?: { exitCode: number; startedAt: string; finishedAt: string };
  /** In `backoff`: the wait before the restart (ms). */
  backoffMs?: number;
  /** A failing init container: which, its failed runs, restarts, previous run, latest start; the pod failed in init. */
  initIndex?: number;
  initFails?: number;
  initRestarts?: number;
  initLastRun?: { exitCode: number; startedAt: string; finishedAt: string };
  initRunningAt?: string;
  initFailed?: boolean;
  /** Being deleted: when its containers will have stopped (epoch ms). */
  stopDue?: number;
  /** Running while the startup or readiness probe has not passed yet, and when they let it be ready. */
  notStarted?: boolean;
  unready?: boolean;
  readyAt?: string;
  /** Bound-to-Running latency start (ms): when the engine first saw the pod. */
  seenAt: number;
  deleting: boolean;
  /** Bumped when the pod is forgotten, so queued work for it is dropped. */
  alive: boolean;
  refs: string[];
}

/**
 * One simulated kubelet: registers its Node, keeps its Lease and status fresh, and runs the pods
 * bound to it. All periodic work goes through the engine's shared due-time queue; in `kubelet`
 * traffic it also holds a kubelet's own watches.
 */
export class HollowNode {
  readonly id: NodeIdentity;
  readonly index: number;
  private readonly ctx: EngineContext;
  private uid = "";
  private leaseRv = "";
  private since = "";
  private lastStatusAt = 0;
  private reportedKey = "";
  /** How the Node's status as the server last showed it differs from what this node reports. */
  private drift: StatusDrift = "none";
  private nextRenewAt = 0;
  private nextStatusCheckAt = 0;
  private lastRenewAt = 0;
  private podCidr: Cidr | undefined;
  private podCidrText = "";
  private ipAlloc: PodIpAllocator | undefined;
  private readonly pods = new Map<string, PodState>();
  private watchers: Watcher<Versioned>[] = [];
  private readonly refWatches = new Map<string, { count: number; watcher: Watcher<Versioned> }>();
  private relistSeen: Set<string> | undefined;
  private tokens: number;
  private tokenAt = 0;
  private stopped = false;
  private ticking = false;
  registered = false;
  private logger: Logger | undefined;
  /** This node's hollow kube-proxy (kubelet traffic with the proxy on). */
  proxy: HollowProxy | undefined;

  constructor(ctx: EngineContext, id: NodeIdentity, index: number) {
    this.ctx = ctx;
    this.id = id;
    this.index = index;
    this.tokens = ctx.cfg.nodeBurst;
  }

  /** This node's logger (created on first use: most nodes never log). */
  private get log(): Logger {
    this.logger ??= this.ctx.nodeLogger(this.id.name);
    return this.logger;
  }

  /** Number of pods this node runs. */
  get podCount(): number {
    return this.pods.size;
  }

  /** Time of the last successful lease renewal (epoch ms, 0 = never). */
  get lastRenew(): number {
    return this.lastRenewAt;
  }

  /** Client-side rate limit like a kubelet's (token bucket, QPS and burst from the config). */
  private async throttle(): Promise<void> {
    const { nodeQps, nodeBurst } = this.ctx.cfg;
    if (nodeQps <= 0) return;
    const now = this.ctx.clock.now();
    this.tokens = Math.min(nodeBurst, this.tokens + ((now - this.tokenAt) / 1000) * nodeQps);
    this.tokenAt = now;
    this.tokens -= 1;
    if (this.tokens < 0) await this.ctx.clock.sleep((-this.tokens / nodeQps) * 1000);
  }

  /** Sends one request on this node's behalf (rate-limited, counted). */
  private async api<T>(req: KubeRequest): Promise<T> {
    await this.throttle();
    return this.ctx.request<T>(req);
  }

  /** Sends a Lease or node-status request as the kubelet's heartbeat client (not rate-limited). */
  private beat<T>(req: KubeRequest): Promise<T> {
    return this.ctx.heartbeat<T>(req);
  }

  /**
   * Sends a Lease request through the heartbeat client in the configured encoding (protobuf, as a
   * kubelet's client, unless `--kube-api-content-type application/json`); returns the Lease's
   * resourceVersion.
   */
  private async leaseCall(
    method: "GET" | "POST" | "PUT",
    path: string,
    lease?: LeaseObject,
  ): Promise<string> {
    const proto = this.ctx.cfg.leaseContentType === "protobuf";
    const body = lease === undefined ? undefined : proto ? encodeLease(lease) : lease;
    const res = await this.beat<Uint8Array | Versioned>({
      method,
      path,
      ...(body === undefined ? {} : { body }),
      ...(proto ? { accept: "protobuf" as const } : {}),
    });
    // A server may answer JSON whatever was asked (the client then parses it).
    if (res instanceof Uint8Array) return readObjectMeta(decodeObject(res).raw).resourceVersion;
    return res.metadata.resourceVersion ?? "";
  }

  // ---------------------------------------------------------------- registration

  /** Registers the Node (or adopts an existing one), its Lease and CSINode; then starts its loops. */
  async register(): Promise<void> {
    const now = this.ctx.clock.now();
    this.since = rfc3339(now);
    let node: NodeObject;
    try {
      node = await this.api<NodeObject>({
        method: "POST",
        path: "/api/v1/nodes",
        body: renderNode(this.id, this.since),
      });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // A restart: adopt the Node, reconciling the labels a kubelet owns.
      node = await this.api<NodeObject>({ method: "GET", path: `/api/v1/nodes/${this.id.name}` });
      const labels = missingLabels(this.id, node.metadata.labels);
      if (Object.keys(labels).length > 0) {
        node = await this.api<NodeObject>({
          method: "PATCH",
          path: `/api/v1/nodes/${this.id.name}`,
          patchType: "strategic",
          body: { metadata: { labels } },
        });
      }
    }
    this.uid = node.metadata.uid;
    this.observeNode(node);
    await this.patchStatus();
    await this.ensureLease();
    if (this.ctx.cfg.traffic === "kubelet") {
      // The kubelet's volume manager registers the CSINode on its own, after start-up; spread
      // over the fleet's first seconds, as kubelets starting together would.
      this.ctx.queue.after(this.ctx.random() * 20_000, () => this.kubeletStartupReads());
    } else {
      await this.createCsiNode();
    }
    this.registered = true;
    this.ctx.metrics.nodeRegistered(1);
    if (this.ctx.cfg.logDir) this.log.info({ uid: this.uid, ip: this.id.ip }, "node registered");
    if (this.ctx.cfg.traffic === "kubelet") {
      this.startKubeletWatches();
      const proxy = this.ctx.proxy;
      if (proxy && !this.proxy) {
        this.proxy = new HollowProxy({ ctx: this.ctx, ...proxy, node: this.id.name, log: this.log });
        this.proxy.start(this.uid);
      }
    }
    if (!this.ticking) {
      this.ticking = true;
      // Spread the fleet's heartbeats over one interval.
      const first = this.ctx.clock.now() + this.ctx.random() * this.renewIntervalMs();
      this.nextRenewAt = first;
      this.nextStatusCheckAt = first;
      this.ctx.beats.schedule(first, this.tickTask);
    }
  }

  /**
   * The queue's task for the heartbeat loops. It starts {@link tick} and returns at once, so a
   * renewal waiting for the API server holds no queue worker: like a kubelet's lease controller,
   * each node has at most one heartbeat in flight, and nothing else of the engine's delays it.
   */
  private readonly tickTask = (): void => {
    void this.tick().catch((err: unknown) => {
      this.log.error({ node: this.id.name, err: describeError(err) }, "heartbeat loop failed; rescheduling");
      const retryAt = this.ctx.clock.now() + this.renewIntervalMs();
      this.nextRenewAt = Math.max(this.nextRenewAt, retryAt);
      this.nextStatusCheckAt = Math.max(this.nextStatusCheckAt, retryAt);
      this.scheduleTick();
    });
  };

  private scheduleTick(): void {
    if (!this.stopped)
      this.ctx.beats.schedule(Math.min(this.nextRenewAt, this.nextStatusCheckAt), this.tickTask);
  }

  private renewIntervalMs(): number {
    return this.jittered((this.ctx.cfg.leaseDurationSeconds * 1000) / 4);
  }

  /** A period with the kubelet's jitter (up to +4%). */
  private jittered(ms: number): number {
    return ms * (1 + this.ctx.cfg.jitter * this.ctx.random());
  }

  private async createCsiNode(): Promise<void> {
    await this.api({
      method: "POST",
      path: "/apis/storage.k8s.io/v1/csinodes",
      body: renderCsiNode(this.id.name, this.uid),
    }).catch((err: unknown) => {
      if (!isAlreadyExists(err)) throw err;
    });
  }

  /**
   * What a starting kubelet does besides registering (kubelet traffic): the CSI node-info manager
   * reads the CSINode, creates it, reads it again to update it; the node is read back three times
   * (status syncs, the lease controller's owner reference, the CSI manager's annotation check).
   */
  private async kubeletStartupReads(): Promise<void> {
    if (this.stopped) return;
    const csiPath = `/apis/storage.k8s.io/v1/csinodes/${this.id.name}`;
    try {
      if (!(await this.getOrUndefined(csiPath))) await this.createCsiNode();
      await this.getOrUndefined(csiPath);
      for (let i = 0; i < 3; i++) await this.getOrUndefined(`/api/v1/nodes/${this.id.name}`);
    } catch (err) {
      this.log.warn({ node: this.id.name, err: describeError(err) }, "CSINode set-up failed; retrying");
      if (!this.stopped)
        this.ctx.queue.after(5_000 + this.ctx.random() * 5_000, () => this.kubeletStartupReads());
    }
  }

  /** GETs an object, or undefined when it does not exist. */
  private async getOrUndefined(path: string): Promise<Versioned | undefined> {
    try {
      return await this.api<Versioned>({ method: "GET", path });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Creates the Lease, or adopts an existing one (a kubelet reads it first). */
  private async ensureLease(): Promise<void> {
    if (this.ctx.cfg.traffic === "kubelet") {
      let rv: string | undefined;
      try {
        rv = await this.leaseCall("GET", `${LEASES}/${this.id.name}`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (rv !== undefined) {
        this.leaseRv = rv;
        await this.renewLease();
        return;
      }
    }
    const body = renderLease({
      name: this.id.name,
      nodeUid: this.uid,
      durationSeconds: this.ctx.cfg.leaseDurationSeconds,
      renewTime: microTime(this.ctx.clock.now()),
    });
    try {
      this.leaseRv = await this.leaseCall("POST", LEASES, body);
      this.lastRenewAt = this.ctx.clock.now();
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      await this.refreshLeaseRv();
      await this.renewLease();
    }
  }

  private async refreshLeaseRv(): Promise<void> {
    this.leaseRv = await this.leaseCall("GET", `${LEASES}/${this.id.name}`);
  }

  // ---------------------------------------------------------------- heartbeat and status

  /**
   * The node's periodic work: renew the Lease and sync the status when each is due, reschedule.
   * Both are the kubelet's `JitterUntil(..., 0.04, sliding=true)` loops: the next run is due one
   * jittered period after this one finished, so a slow API server stretches a node's cadence (as
   * it does a kubelet's) instead of piling renewals up. Lateness is how long after that due time a
   * renewal starts: the engine's own delay, the API server's answer time being its latency.
   */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    const { cfg, clock } = this.ctx;
    const now = clock.now();
    if (now >= this.nextRenewAt) {
      const due = this.nextRenewAt;
      try {
        await this.renewLease();
        this.ctx.metrics.leaseRenewed(clock.now() - now, Math.max(0, now - due));
      } catch (err) {
        this.log.warn({ node: this.id.name, err: describeError(err) }, "lease renewal failed");
      }
      this.nextRenewAt = clock.now() + this.renewIntervalMs();
    }
    if (now >= this.nextStatusCheckAt) {
      // The kubelet recomputes status every nodeStatusUpdateFrequency and PATCHes it only when
      // it differs from the Node as the server has it (its node informer's copy: so a
      // controller's Ready=Unknown is corrected within one period) or nodeStatusReportFrequency
      // has passed since the last report.
      try {
        const drift = this.drift;
        const due = statusReportDue({
          now,
          lastReportAt: this.lastStatusAt,
          reportEveryMs: cfg.statusReportMs,
          drift,
          ownChange: this.statusKey() !== this.reportedKey,
        });
        if (due) {
          if (drift !== "none") this.ctx.metrics.statusCorrected();
          // The conditions turn healthy anew: their transition time is now.
          if (drift === "transition") this.since = rfc3339(now);
          await this.patchStatus();
        }
      } catch (err) {
        this.log.warn({ node: this.id.name, err: describeError(err) }, "node status update failed");
      }
      this.nextStatusCheckAt = clock.now() + this.jittered(cfg.statusUpdateMs);
    }
    this.scheduleTick();
  }

  /**
   * What the reported status depends on besides heartbeat times. Capacity, addresses and
   * nodeInfo come from the node's fixed identity; the conditions' transition time changes when
   * the node registers again.
   */
  private statusKey(): string {
    return this.since;
  }

  /** PUTs the Lease with a fresh renewTime, as the kubelet's lease controller does. */
  private async renewLease(): Promise<void> {
    const put = (): Promise<string> =>
      this.leaseCall(
        "PUT",
        `${LEASES}/${this.id.name}`,
        renderLease({
          name: this.id.name,
          nodeUid: this.uid,
          durationSeconds: this.ctx.cfg.leaseDurationSeconds,
          renewTime: microTime(this.ctx.clock.now()),
          resourceVersion: this.leaseRv,
        }),
      );
    let rv: string;
    try {
      rv = await put();
    } catch (err) {
      if (isNotFound(err)) {
        // Somebody deleted the Lease: a kubelet recreates it.
        this.log.info({ node: this.id.name }, "lease was deleted; recreating it");
        this.ctx.metrics.leaseRecreated();
        await this.ensureLease();
        return;
      }
      if (!isConflict(err)) throw err;
      await this.refreshLeaseRv();
      rv = await put();
    }
    this.leaseRv = rv;
    this.lastRenewAt = this.ctx.clock.now();
  }

  /** PATCHes the node status (conditions with a fresh heartbeat), as the kubelet's status loop. */
  private async patchStatus(): Promise<void> {
    const now = this.ctx.clock.now();
    try {
      await this.beat({
        method: "PATCH",
        path: `/api/v1/nodes/${this.id.name}/status`,
        patchType: "strategic",
        body: { status: renderNodeStatus(this.id, rfc3339(now), this.since) },
      });
      this.lastStatusAt = now;
      this.reportedKey = this.statusKey();
      // The server now has this status; its watch event will say so too.
      this.drift = "none";
    } catch (err) {
      if (isNotFound(err) && this.registered) {
        // The Node was deleted under us (and no watch told us yet): register again.
        this.reRegister();
        return;
      }
      throw err;
    }
  }

  // ---------------------------------------------------------------- watches

  /** The kubelet's own watches: its pods, its Node, Services, RuntimeClasses, CSIDrivers. */
  private startKubeletWatches(): void {
    const name = this.id.name;
    const ignore = { onEvent: () => undefined };
    this.watchers = [
      this.ctx.watch<PodObject>(
        "/api/v1/pods",
        { fieldSelector: `spec.nodeName=${name}` },
        this.podHandler(),
      ),
      this.ctx.watch<NodeObject>(
        "/api/v1/nodes",
        { fieldSelector: `metadata.name=${name}` },
        {
          onEvent: (type, n) => (type === "DELETED" ? this.nodeDeleted(n) : this.observeNode(n)),
        },
      ),
      this.ctx.watch("/api/v1/services", { fieldSelector: "spec.clusterIP!=None" }, ignore),
      this.ctx.watch("/apis/node.k8s.io/v1/runtimeclasses", {}, ignore),
      this.ctx.watch("/apis/storage.k8s.io/v1/csidrivers", {}, ignore),
    ] as Watcher<Versioned>[];
  }

  private stopKubeletWatches(): void {
    for (const w of this.watchers) w.stop();
    this.watchers = [];
    for (const r of this.refWatches.values()) r.watcher.stop();
    this.refWatches.clear();
  }

  /**
   * Follows the Node as the API server has it: its podCIDR (assigned by the controller-manager
   * after registration, and a new one if the Node was recreated), its uid, and whether its
   * status still is what this node reports (the status sync corrects it when not).
   */
  observeNode(node: NodeObject): void {
    const cidr = node.spec?.podCIDR;
    if (cidr && cidr !== this.podCidrText) {
      try {
        this.podCidr = parseCidr(cidr, "spec.podCIDR");
        this.podCidrText = cidr;
        this.ipAlloc = undefined;
      } catch {
        // an IPv6 or odd CIDR: keep using the fallback pool
      }
    }
    if (node.metadata.uid) this.uid = node.metadata.uid;
    if (node.status) this.drift = statusDrift(node.status);
  }

  /** The Node was deleted: register it again at once, as the kubelet's next status update would. */
  nodeDeleted(node: NodeObject): void {
    if (this.stopped || !this.registered || node.metadata.uid !== this.uid) return;
    this.reRegister();
  }

  private reRegister(): void {
    this.log.info({ node: this.id.name }, "node was deleted; registering again");
    this.registered = false;
    this.ctx.metrics.nodeRegistered(-1);
    this.podCidr = undefined;
    this.podCidrText = "";
    this.ipAlloc = undefined;
    this.stopKubeletWatches();
    const again = async (): Promise<void> => {
      try {
        await this.register();
      } catch (err) {
        this.log.warn({ node: this.id.name, err: describeError(err) }, "re-registration failed; retrying");
        if (!this.stopped) this.ctx.queue.after(2_000 + this.ctx.random() * 3_000, again);
      }
    };
    this.ctx.queue.after(0, again);
  }

  /** Handler for this node's pods (its own watch in kubelet traffic, dispatched in minimal). */
  podHandler(): {
    onEvent: (type: "ADDED" | "MODIFIED" | "DELETED", pod: PodObject) => void;
    onRelistStart: () => void;
    onSynced: () => void;
  } {
    return {
      onEvent: (type, pod) => this.onPod(type, pod),
      onRelistStart: () => {
        this.relistSeen = new Set();
      },
      onSynced: () => {
        const seen = this.relistSeen;
        this.relistSeen = undefined;
        if (!seen) return;
        // Pods deleted while the watch was down never get a DELETED event.
        for (const uid of [...this.pods.keys()]) if (!seen.has(uid)) this.forget(uid);
      },
    };
  }

  private addRef(key: string): void {
    if (this.ctx.cfg.traffic !== "kubelet") return;
    const r = this.refWatches.get(key);
    if (r) {
      r.count++;
      return;
    }
    const [kind, ns, name] = key.split("/") as [string, string, string];
    if (this.ctx.cfg.skipped.includes(kind as "secrets" | "configmaps")) return;
    const watcher = this.ctx.watch(
      `/api/v1/namespaces/${ns}/${kind}`,
      { fieldSelector: `metadata.name=${name}` },
      {
        onEvent: () => undefined,
      },
    );
    this.refWatches.set(key, { count: 1, watcher });
  }

  private dropRef(key: string): void {
    const r = this.refWatches.get(key);
    if (!r) return;
    if (--r.count <= 0) {
      r.watcher.stop();
      this.refWatches.delete(key);
    }
  }

  // ---------------------------------------------------------------- pods

  /** A pod event for this node. */
  onPod(type: "ADDED" | "MODIFIED" | "DELETED", pod: PodObject): void {
    const uid = pod.metadata.uid;
    this.relistSeen?.add(uid);
    if (type === "DELETED") {
      this.forget(uid);
      return;
    }
    if (pod.spec.nodeName !== this.id.name || this.stopped) return;
    let st = this.pods.get(uid);
    const isNew = !st;
    if (!st) {
      st = this.adopt(pod);
      this.pods.set(uid, st);
    } else {
      const before = st.pod;
      st.pod = slimPod(pod);
      // An in-place resize (spec resources changed): the kubelet applies it and reports the
      // containers' new resources, with the pod's new generation observed.
      if (
        st.stage === "running" &&
        !pod.metadata.deletionTimestamp &&
        // A spec change bumps the generation; status updates (most events) do not.
        before.metadata.generation !== st.pod.metadata.generation &&
        resourcesKey(before) !== resourcesKey(st.pod)
      ) {
        const resized = st;
        this.retrying(resized, "resize status", () => this.writePodStatus(resized, "running"));
      }
    }
    const s = st;
    // Mark deletion before queueing the start: the queue may run a task that is due at once synchronously.
    if (pod.metadata.deletionTimestamp && !s.deleting) {
      s.deleting = true;
      this.ctx.queue.after(0, () => this.terminatePod(s));
    }
    if (isNew) {
      if (s.stage === "new") this.ctx.queue.after(0, () => this.startPod(s));
      else this.scheduleExit(s);
    }
  }

  /** State for a newly seen pod; a pod this engine ran before a restart keeps its IP and stage. */
  private adopt(pod: PodObject): PodState {
    const now = this.ctx.clock.now();
    const phase = pod.status?.phase;
    // A pod that ended (Succeeded, Failed) stays ended; a Running one is adopted as it runs.
    const ended = phase === "Succeeded" || phase === "Failed";
    const known = ended || (pod.status?.podIP && phase === "Running");
    const { configMaps, secrets } = referencedObjects(pod);
    const refs: string[] = configMaps.size + secrets.size > 0 ? [] : NO_REFS;
    for (const n of configMaps) refs.push(intern(`configmaps/${pod.metadata.namespace}/${n}`));
    for (const n of secrets) refs.push(intern(`secrets/${pod.metadata.namespace}/${n}`));
    for (const r of refs) this.addRef(r);
    let ip = "";
    if (known && pod.status?.podIP) {
      ip = pod.status.podIP;
      if (!pod.spec.hostNetwork) this.allocator()?.claim(ip);
    }
    const start = pod.status?.startTime ?? rfc3339(now);
    return {
      uid: pod.metadata.uid,
      namespace: intern(pod.metadata.namespace),
      name: pod.metadata.name,
      pod: slimPod(pod),
      stage: known
        ? phase === "Succeeded"
          ? "succeeded"
          : phase === "Failed"
            ? "failed"
            : "running"
        : "new",
      restarts: 0,
      exits: 0,
      ip,
      startedAt: start,
      runningAt: start,
      seenAt: now,
      deleting: false,
      alive: true,
      refs,
    };
  }

  private allocator(): PodIpAllocator | undefined {
    if (!this.ipAlloc) {
      const cidr = this.podCidr ?? this.ctx.fallbackPodCidr(this.index);
      if (cidr) {
        this.ipAlloc = new PodIpAllocator(cidr);
        // A new allocator (new podCIDR, or after re-registration): running pods keep their addresses.
        for (const st of this.pods.values()) if (st.ip && !st.pod.spec.hostNetwork) this.ipAlloc.claim(st.ip);
      }
    }
    return this.ipAlloc;
  }

  private forget(uid: string): void {
    const st = this.pods.get(uid);
    if (!st) return;
    st.alive = false;
    this.pods.delete(uid);
    if (st.ip && !st.pod.spec.hostNetwork) this.ipAlloc?.release(st.ip);
    for (const r of st.refs) this.dropRef(r);
  }

  private podPath(st: PodState): string {
    return `/api/v1/namespaces/${st.namespace}/pods/${st.name}`;
  }

  /** PATCHes a pod's status for a stage; in kubelet traffic GETs the pod first, as the status manager does. */
  private async writePodStatus(st: PodState, stage: PodStage, finishedAt?: string): Promise<boolean> {
    if (finishedAt) st.finishedAt = finishedAt;
    if (this.ctx.cfg.traffic === "kubelet") {
      try {
        const latest = await this.api<PodObject>({ method: "GET", path: this.podPath(st) });
        if (latest.metadata.uid !== st.uid) return false;
        st.pod = slimPod(latest);
      } catch (err) {
        if (isNotFound(err)) {
          this.forget(st.uid);
          return false;
        }
        throw err;
      }
    }
    const status = renderPodStatus(st.pod, stage, this.runOf(st));
    try {
      await this.api({
        method: "PATCH",
        path: `${this.podPath(st)}/status`,
        patchType: "strategic",
        body: { metadata: { uid: st.uid }, status },
      });
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) {
        // Gone, or replaced by a pod of the same name (the uid precondition failed).
        this.forget(st.uid);
        return false;
      }
      throw err;
    }
    st.stage = stage;
    this.ctx.metrics.podTransition(stage);
    return true;
  }

  /** Starts a pod: tokens, init containers, then Running and Ready with a unique IP. */
  private async startPod(st: PodState): Promise<void> {
    // A retry after a failed write goes on from where the start was (not yet running).
    if (!st.alive || st.deleting) return;
    if (st.stage !== "new" && st.stage !== "creating" && st.stage !== "initializing") return;
    let initializing = false;
    try {
      if (!st.ip) {
        st.ip = st.pod.spec.hostNetwork ? this.id.ip : (this.allocator()?.allocate() ?? "");
        if (!st.ip) {
          // As the kubelet retries sandbox creation: the pod starts once an address is released.
          this.log.warn(
            { node: this.id.name, pod: `${st.namespace}/${st.name}` },
            "no free pod IP; retrying",
          );
          this.ctx.queue.after(2_000 + this.ctx.random() * 3_000, () => this.startPod(st));
          return;
        }
      }
      if (this.ctx.cfg.traffic === "kubelet") {
        const tokens = this.ctx.cfg.skipped.includes("tokens") ? [] : tokenRequests(st.pod);
        for (const t of tokens) {
          await this.api({
            method: "POST",
            path: `/api/v1/namespaces/${st.namespace}/serviceaccounts/${st.pod.spec.serviceAccountName ?? "default"}/token`,
            body: {
              apiVersion: "authentication.k8s.io/v1",
              kind: "TokenRequest",
              spec: {
                ...(t.audience ? { audiences: [t.audience] } : {}),
                expirationSeconds: t.expirationSeconds,
                boundObjectRef: { apiVersion: "v1", kind: "Pod", name: st.name, uid: st.uid },
              },
            },
          }).catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
        }
        // The kubelet's first report, while it sets up the sandbox; then the init containers.
        if (!(await this.writePodStatus(st, "creating"))) return;
        if ((st.pod.spec.initContainers ?? []).length > 0) {
          if (!(await this.writePodStatus(st, "initializing"))) return;
          initializing = true;
        }
      }
      const fail = initFailure(st.pod);
      if (fail) {
        // A failing init container shows, whatever the traffic profile.
        if (!initializing && !(await this.writePodStatus(st, "initializing"))) return;
        this.scheduleInitExit(st, fail);
        return;
      }
      await this.finishStart(st);
    } catch (err) {
      this.log.warn(
        { node: this.id.name, pod: `${st.namespace}/${st.name}`, err: describeError(err) },
        "pod start failed; retrying",
      );
      if (st.alive && !st.deleting)
        this.ctx.queue.after(2_000 + this.ctx.random() * 3_000, () => this.startPod(st));
    }
  }

  /** The init containers have completed: the main containers run from now. */
  private async finishStart(st: PodState): Promise<void> {
    st.runningAt = rfc3339(this.ctx.clock.now());
    st.initIndex = undefined;
    st.backoffMs = undefined;
    if (!st.alive || st.deleting) return;
    if (!(await this.enterRunning(st))) return;
    this.ctx.metrics.podStarted(this.ctx.clock.now() - st.seenAt);
  }

  /**
   * A failing init container's run ends: with restartPolicy Never the pod fails; otherwise the
   * kubelet restarts it with the back-off (at once, then 10 s doubling, in CrashLoopBackOff),
   * until a run succeeds (`init-failures`) and the pod goes on to its main containers.
   */
  private scheduleInitExit(st: PodState, fail: InitFailure): void {
    st.initIndex = fail.index;
    const startedAt = st.initRunningAt ?? st.startedAt;
    const at = Math.max(this.ctx.clock.now(), Date.parse(startedAt) + fail.runMs);
    this.ctx.queue.schedule(at, () => {
      if (!st.alive || st.deleting) return;
      const finishedAt = rfc3339(this.ctx.clock.now());
      st.initFails = (st.initFails ?? 0) + 1;
      st.initLastRun = { exitCode: fail.exitCode, startedAt, finishedAt };
      st.exitCode = fail.exitCode;
      if (st.pod.spec.restartPolicy === "Never") {
        st.initFailed = true;
        this.retrying(st, "init failure status", () => this.writePodStatus(st, "failed", finishedAt));
        return;
      }
      const next = async (): Promise<boolean> => {
        st.backoffMs = undefined;
        st.initRestarts = (st.initRestarts ?? 0) + 1;
        st.initRunningAt = rfc3339(this.ctx.clock.now());
        if (!(await this.writePodStatus(st, "initializing"))) return false;
        if ((st.initFails ?? 0) < fail.times) this.scheduleInitExit(st, fail);
        else await this.finishStart(st);
        return true;
      };
      const delay = restartDelayMs(st.initFails);
      if (delay === 0) {
        this.retrying(st, "init container restart", next);
        return;
      }
      st.backoffMs = delay;
      this.retrying(st, "init back-off status", async () => {
        if (await this.writePodStatus(st, "initializing"))
          this.ctx.queue.after(delay, () => this.retrying(st, "init container restart", next));
        return true;
      });
    });
  }

  /**
   * The containers run from now (`runningAt`): the Running status, `started` and `ready` as far as
   * the startup and readiness probes allow ({@link podGate}), a status when each probe passes (as
   * the kubelet's status manager writes one per change), then the exit when the run model has one.
   */
  private async enterRunning(st: PodState): Promise<boolean> {
    const gate = podGate(st.pod.spec.containers);
    st.notStarted = gate.startedAfterMs > 0 || undefined;
    st.unready = gate.readyAfterMs > 0 || undefined;
    st.readyAt = undefined;
    if (!(await this.writePodStatus(st, "running"))) return false;
    const runningAt = st.runningAt;
    const start = Date.parse(runningAt);
    const same = (): boolean =>
      st.alive && !st.deleting && st.stage === "running" && st.runningAt === runningAt;
    if (st.notStarted && gate.startedAfterMs < gate.readyAfterMs) {
      this.ctx.queue.schedule(start + gate.startedAfterMs, () => {
        if (!same()) return;
        st.notStarted = undefined;
        this.retrying(st, "startup probe status", () => this.writePodStatus(st, "running"));
      });
    }
    const setReady = (ready: boolean, at: number): void => {
      if (!same() || !st.unready === ready) return;
      st.notStarted = undefined;
      st.unready = ready ? undefined : true;
      st.readyAt = rfc3339(at);
      this.retrying(st, "readiness probe status", () => this.writePodStatus(st, "running"));
    };
    if (st.unready)
      this.ctx.queue.schedule(start + gate.readyAfterMs, () => setReady(true, start + gate.readyAfterMs));
    // Probes made to fail by the pod's annotations: readiness lost, or flapping.
    const fail = probeFailures(st.pod);
    if (fail.unreadyAfterMs !== undefined) {
      const at = start + Math.max(gate.readyAfterMs, fail.unreadyAfterMs);
      this.ctx.queue.schedule(at, () => setReady(false, at));
    } else if (fail.flapPeriodMs !== undefined) {
      const period = fail.flapPeriodMs;
      const flip = (at: number, ready: boolean): void => {
        if (!same()) return;
        setReady(ready, at);
        this.ctx.queue.schedule(at + period, () => flip(at + period, !ready));
      };
      const first = start + gate.readyAfterMs + period;
      this.ctx.queue.schedule(first, () => flip(first, false));
    }
    this.scheduleExit(st, fail.killAfterMs);
    return true;
  }

  /** The facts of a pod's run that its status is rendered from. */
  private runOf(st: PodState): PodRun {
    return {
      hostIP: this.id.ip,
      podIP: st.ip,
      startedAt: st.startedAt,
      runningAt: st.runningAt,
      ...(st.finishedAt ? { finishedAt: st.finishedAt } : {}),
      ...(st.exitCode !== undefined ? { exitCode: st.exitCode } : {}),
      ...(st.restarts > 0 ? { restarts: st.restarts } : {}),
      ...(st.lastRun ? { lastRun: st.lastRun } : {}),
      ...(st.backoffMs !== undefined ? { backoffMs: st.backoffMs } : {}),
      ...(st.notStarted ? { notStarted: true } : {}),
      ...(st.unready ? { unready: true } : {}),
      ...(st.readyAt ? { readyAt: st.readyAt } : {}),
      ...(st.initIndex !== undefined ? { initIndex: st.initIndex } : {}),
      ...(st.initRestarts ? { initRestarts: st.initRestarts } : {}),
      ...(st.initLastRun ? { initLastRun: st.initLastRun } : {}),
      ...(st.initRunningAt ? { initRunningAt: st.initRunningAt } : {}),
      ...(st.initFailed ? { initFailed: true } : {}),
    };
  }

  /**
   * When the pod's containers exit on their own ({@link podOutcome}: annotation, image and command,
   * fleet default), the kubelet's restartPolicy decides: the pod ends Succeeded or Failed, or the
   * containers restart with the kubelet's back-off (at once, then 10 s doubling to 5 min, as
   * CrashLoopBackOff in between).
   */
  private scheduleExit(st: PodState, killAfterMs?: number): void {
    if (st.stage !== "running") return;
    let out = podOutcome(st.pod, this.ctx.cfg);
    // A failing liveness probe kills the container first: SIGKILL's exit code.
    if (killAfterMs !== undefined && (out.afterMs === null || killAfterMs < out.afterMs))
      out = { afterMs: killAfterMs, exitCode: 137 };
    if (out.afterMs === null) return;
    const runningAt = st.runningAt;
    this.ctx.queue.schedule(Date.parse(runningAt) + out.afterMs, () => {
      if (!st.alive || st.deleting || st.stage !== "running" || st.runningAt !== runningAt) return;
      const now = this.ctx.clock.now();
      const finishedAt = rfc3339(now);
      st.exitCode = out.exitCode;
      const next = afterExit(st.pod.spec.restartPolicy, out.exitCode);
      if (next !== "restart") {
        this.retrying(st, "pod completion", () =>
          this.writePodStatus(st, next === "succeed" ? "succeeded" : "failed", finishedAt),
        );
        return;
      }
      st.exits = resetsBackoff(now - Date.parse(runningAt)) ? 1 : st.exits + 1;
      st.lastRun = { exitCode: out.exitCode, startedAt: runningAt, finishedAt };
      st.finishedAt = finishedAt;
      const delay = restartDelayMs(st.exits);
      if (delay === 0) {
        this.restartContainers(st);
        return;
      }
      st.backoffMs = delay;
      this.retrying(st, "back-off status", async () => {
        if (await this.writePodStatus(st, "backoff")) {
          this.ctx.queue.after(delay, () => this.restartContainers(st));
        }
        return true;
      });
    });
  }

  /** The containers start again after an exit: one more restart, running from now. */
  private restartContainers(st: PodState): void {
    if (!st.alive || st.deleting) return;
    st.restarts++;
    st.backoffMs = undefined;
    st.runningAt = rfc3339(this.ctx.clock.now());
    this.retrying(st, "container restart", () => this.enterRunning(st));
  }

  /** Runs a status write now, and again after a back-off while it fails (as long as the pod lives). */
  private retrying(st: PodState, what: string, write: () => Promise<boolean>): void {
    const attempt = async (): Promise<void> => {
      if (!st.alive || st.deleting) return;
      try {
        await write();
      } catch (err) {
        this.log.warn(
          { pod: `${st.namespace}/${st.name}`, err: describeError(err) },
          `${what} failed; retrying`,
        );
        this.ctx.queue.after(2_000 + this.ctx.random() * 3_000, attempt);
      }
    };
    this.ctx.queue.after(0, attempt);
  }

  /** Graceful deletion: containers terminate, then the pod is deleted with grace period 0 and a UID precondition. */
  private async terminatePod(st: PodState): Promise<void> {
    if (!st.alive) return;
    const now = this.ctx.clock.now();
    if (st.stopDue === undefined) {
      // The kubelet kills the containers: preStop hooks, SIGTERM, and SIGKILL when the grace
      // period ends; meanwhile the pod stays as it is (Terminating, as its deletionTimestamp says).
      const m = st.pod.metadata;
      const graceS = m.deletionGracePeriodSeconds ?? st.pod.spec.terminationGracePeriodSeconds ?? 30;
      const stopMs = st.stage === "running" ? podStopMs(st.pod, graceS * 1000) : 0;
      st.stopDue = now + stopMs;
      // Killed at the end of the grace period: SIGKILL's exit code; a prompt stop exits 0.
      if (st.stage === "running") st.exitCode = stopMs > 0 && stopMs >= graceS * 1000 ? 137 : 0;
      if (stopMs > 0) {
        this.ctx.queue.after(stopMs, () => this.terminatePod(st));
        return;
      }
    }
    try {
      if (
        st.stage === "running" ||
        st.stage === "backoff" ||
        st.stage === "initializing" ||
        st.stage === "creating"
      ) {
        if (!(await this.writePodStatus(st, "terminated", rfc3339(now)))) return;
      }
      if (this.ctx.cfg.traffic === "kubelet") {
        // The status manager reads the pod once more before it may delete it.
        const latest = await this.api<PodObject>({ method: "GET", path: this.podPath(st) });
        if (latest.metadata.uid !== st.uid) return;
      }
      await this.api({
        method: "DELETE",
        path: this.podPath(st),
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 0,
          preconditions: { uid: st.uid },
        },
      });
      this.ctx.metrics.podTransition("deleted");
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      this.log.warn(
        { pod: `${st.namespace}/${st.name}`, err: describeError(err) },
        "pod deletion failed; retrying",
      );
      this.ctx.queue.after(2_000 + this.ctx.random() * 3_000, () => this.terminatePod(st));
    }
  }

  // ---------------------------------------------------------------- kubelet endpoint (read-only)

  /** What this node knows of pod `namespace/name`, or undefined when it does not run it. */
  podInfo(namespace: string, name: string): HostedPod | undefined {
    for (const st of this.pods.values()) {
      if (st.namespace !== namespace || st.name !== name) continue;
      const container = (c: { name: string; image?: string; restartPolicy?: string }) => ({
        name: c.name,
        image: c.image ?? "",
        sidecar: c.restartPolicy === "Always",
      });
      return {
        node: this.id.name,
        namespace,
        name,
        uid: st.uid,
        containers: st.pod.spec.containers.map(container),
        initContainers: (st.pod.spec.initContainers ?? []).map(container),
        stage: st.stage,
        startedAt: st.startedAt,
        runningAt: st.runningAt,
        finishedAt: st.finishedAt,
        exitCode: st.exitCode,
      };
    }
    return undefined;
  }

  /** The pods this node runs, as Pod objects with the status it reports (a kubelet's /pods). */
  listPods(): object[] {
    return [...this.pods.values()].map((st) =>
      st.stage === "new"
        ? { ...st.pod }
        : { ...st.pod, status: renderPodStatus(st.pod, st.stage, this.runOf(st)) },
    );
  }

  // ---------------------------------------------------------------- shutdown

  /** Stops this node's loops and watches (its objects stay). */
  stop(): void {
    this.stopped = true;
    this.stopKubeletWatches();
    this.proxy?.stop();
  }

  /** Deletes the Node and its Lease (for `--delete-nodes-on-exit` and scale-down). */
  async deleteObjects(): Promise<void> {
    const gone = (err: unknown): void => {
      if (!isNotFound(err)) throw err;
    };
    await this.ctx
      .request({
        method: "DELETE",
        path: `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.id.name}`,
      })
      .catch(gone);
    await this.ctx.request({ method: "DELETE", path: `/api/v1/nodes/${this.id.name}` }).catch(gone);
  }
}
