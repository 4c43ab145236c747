import type { Logger } from "pino";
import { isAlreadyExists, isNotFound } from "../client/api-error.ts";
import type { KubeClient, KubeRequest } from "../client/kube-client.ts";
import type { ProtoType } from "../client/protobuf-schema.ts";
import { CSI_NODE, NODE } from "../client/protobuf-types.ts";
import { describeError } from "../kernel/errors.ts";
import { NODES_PATH, nodeLeasePath, nodePath } from "../kernel/k8s.ts";
import type { HostedPod } from "./container-log.ts";
import type { EngineContext } from "./engine-context.ts";
import { isDue, lateness } from "./heartbeat-schedule.ts";
import { HollowProxy } from "./hollow-proxy.ts";
import { installCsiDriver } from "./csi/node-info.ts";
import { csiNodeDriver, nodeInfoPatch } from "./csi/volume-decisions.ts";
import type { NodeVolumes } from "./csi/volume-manager.ts";
import { KubeletWatches } from "./kubelet-watches.ts";
import { LeaseHeartbeat } from "./lease-heartbeat.ts";
import type { NodeHandle, NodeObject } from "./node-handle.ts";
import { missingLabels, renderCsiNode, renderNode, rfc3339, type NodeIdentity } from "./node-object.ts";
import { NodeStatusReporter } from "./node-status-reporter.ts";
import { PodLifecycle, type PodHandler } from "./pod-lifecycle.ts";
import type { PodObject } from "./pod-object.ts";
import type { PodState } from "./pod-state.ts";
import type { Versioned } from "./watcher.ts";

export type { NodeObject } from "./node-handle.ts";

/**
 * One simulated kubelet: registers its Node, then composes its behaviours: a {@link LeaseHeartbeat}
 * and a {@link NodeStatusReporter} driven by one heartbeat loop on the engine's heartbeat queue,
 * in `kubelet` traffic a kubelet's own {@link KubeletWatches}, and the {@link PodLifecycle} of the
 * pods bound to it. The parts share this node (its context, identity, API and logger) rather
 * than copies of them.
 */
export class HollowNode implements NodeHandle {
  readonly id: NodeIdentity;
  readonly index: number;
  readonly ctx: EngineContext;
  uid = "";
  registered = false;
  gone = false;
  stopped = false;
  private ticking = false;
  private kubeletWatchesOpen = false;
  private tokens: number;
  private tokenAt = 0;
  private logger: Logger | undefined;
  private readonly lease: LeaseHeartbeat;
  private readonly status: NodeStatusReporter;
  private readonly watches: KubeletWatches;
  private readonly pods: PodLifecycle;
  /** This node's hollow kube-proxy (kubelet traffic with the proxy on). */
  proxy: HollowProxy | undefined;

  constructor(ctx: EngineContext, id: NodeIdentity, index: number) {
    this.ctx = ctx;
    this.id = id;
    this.index = index;
    this.tokens = ctx.cfg.nodeBurst;
    this.lease = new LeaseHeartbeat(this);
    this.status = new NodeStatusReporter(this);
    this.watches = new KubeletWatches(ctx);
    this.pods = new PodLifecycle(this, this.watches);
  }

  /** This node's logger (created on first use: most nodes never log). */
  get log(): Logger {
    this.logger ??= this.ctx.nodeLogger(this.id.name);
    return this.logger;
  }

  /** Number of pods this node runs. */
  get podCount(): number {
    return this.pods.count;
  }

  /** The volume manager of this node's pods with CSI volumes (undefined until one comes). */
  get volumes(): NodeVolumes | undefined {
    return this.pods.volumes;
  }

  /** Time of the last successful lease renewal (epoch ms, 0 = never). */
  get lastRenew(): number {
    return this.lease.lastRenew;
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

  /** The request field that sends `type` in protobuf, unless `--kube-api-content-type` is JSON. */
  proto(type: ProtoType): { proto?: ProtoType } {
    return this.ctx.proto(type);
  }

  /** Sends one request on this node's behalf (rate-limited, counted). */
  async api<T>(req: KubeRequest): Promise<T> {
    await this.throttle();
    return this.ctx.request<T>(req);
  }

  // ---------------------------------------------------------------- registration

  /** Registers the Node (or adopts an existing one), its Lease and CSINode; then starts its loops. */
  async register(): Promise<void> {
    const now = this.ctx.clock.now();
    this.status.registering(now);
    const kubelet = this.ctx.cfg.traffic === "kubelet";
    const csi = this.ctx.cfg.csi;
    // Minimal traffic writes what the CSI node-info manager adds at once; a kubelet adds it later.
    const csiMeta = csi && !kubelet ? nodeInfoPatch({}, csi.driver, this.id.name) : undefined;
    let adopted = false;
    let node: NodeObject;
    try {
      node = await this.api<NodeObject>({
        method: "POST",
        path: NODES_PATH,
        body: renderNode(this.id, rfc3339(now), csiMeta),
        ...this.proto(NODE),
      });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      adopted = true;
      // A restart: adopt the Node, reconciling the labels a kubelet owns.
      node = await this.api<NodeObject>({ method: "GET", path: nodePath(this.id.name), ...this.proto(NODE) });
      const labels = missingLabels(this.id, node.metadata.labels);
      if (Object.keys(labels).length > 0) {
        node = await this.api<NodeObject>({
          method: "PATCH",
          path: nodePath(this.id.name),
          patchType: "strategic",
          body: { metadata: { labels } },
          ...this.proto(NODE),
        });
      }
    }
    this.uid = node.metadata.uid;
    this.observeNode(node);
    await this.status.patch();
    await this.lease.ensure();
    if (this.ctx.cfg.traffic === "kubelet") {
      // The kubelet's volume manager registers the CSINode on its own, after start-up; spread
      // over the fleet's first seconds, as kubelets starting together would.
      this.ctx.queue.after(this.ctx.random() * 20_000, () => this.kubeletStartupReads());
    } else {
      const drivers = csi ? [csiNodeDriver(csi, this.id.name)] : [];
      if (!(await this.createCsiNode(drivers)) || adopted) await this.registerCsiDriver();
    }
    this.registered = true;
    this.ctx.metrics.nodeRegistered(1);
    if (this.ctx.cfg.logDir) this.log.info({ uid: this.uid, ip: this.id.ip }, "node registered");
    if (this.ctx.cfg.traffic === "kubelet") {
      this.openKubeletWatches();
      const proxy = this.ctx.proxy;
      if (proxy && !this.proxy) {
        this.proxy = new HollowProxy({ ctx: this.ctx, ...proxy, node: this.id.name, log: this.log });
        this.proxy.start();
      }
    }
    if (!this.ticking) {
      this.ticking = true;
      // The kubelet's start: its birth cry and first node conditions, once per process.
      this.ctx.events?.nodeStarted(this.id.name);
      // Spread the fleet's heartbeats over one interval.
      const first = this.ctx.clock.now() + this.ctx.random() * this.lease.intervalMs();
      this.lease.nextAt = first;
      this.status.nextAt = first;
      this.ctx.beats.schedule(first, this.tickTask);
    }
  }

  /**
   * Opens the kubelet's own watches (kubelet traffic; once), as a kubelet does before it registers:
   * NewMainKubelet starts its Node informer (this node's name) and its Service informer, the pod
   * source once the Node informer has synced, and only then does Run's status loop register the
   * Node. The engine opens them for all its nodes before pacing their registrations; register()
   * opens them for a node that registers without that (none left open). Returns how many it opened.
   */
  openKubeletWatches(): number {
    if (this.ctx.cfg.traffic !== "kubelet" || this.kubeletWatchesOpen || this.stopped) return 0;
    this.kubeletWatchesOpen = true;
    return this.watches.start(this.id.name, {
      pods: this.pods.handler(),
      node: { onEvent: (type, n) => (type === "DELETED" ? this.nodeDeleted(n) : this.observeNode(n)) },
    });
  }

  /** Creates the CSINode (with `drivers`); false when it already existed. */
  private async createCsiNode(drivers: object[] = []): Promise<boolean> {
    return this.api({
      method: "POST",
      path: "/apis/storage.k8s.io/v1/csinodes",
      body: renderCsiNode(this.id.name, this.uid, drivers),
      ...this.proto(CSI_NODE),
    }).then(
      () => true,
      (err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
        return false;
      },
    );
  }

  /**
   * What a starting kubelet does besides registering (kubelet traffic): the CSI node-info manager
   * reads the CSINode, creates it, reads it again to update it; the node is read back three times
   * (status syncs, the lease controller's owner reference, the CSI manager's annotation check).
   * Then the fleet's CSI driver registers, when there is one (the node-info manager's writes).
   */
  private async kubeletStartupReads(): Promise<void> {
    if (this.stopped) return;
    const csiPath = `/apis/storage.k8s.io/v1/csinodes/${this.id.name}`;
    try {
      if (!(await this.getOrUndefined(csiPath, CSI_NODE))) await this.createCsiNode();
      await this.getOrUndefined(csiPath, CSI_NODE);
      for (let i = 0; i < 3; i++) await this.getOrUndefined(nodePath(this.id.name), NODE);
      await this.registerCsiDriver();
    } catch (err) {
      this.log.warn({ node: this.id.name, err: describeError(err) }, "CSINode set-up failed; retrying");
      if (!this.stopped)
        this.ctx.queue.after(5_000 + this.ctx.random() * 5_000, () => this.kubeletStartupReads());
    }
  }

  /** The fleet's CSI driver registers on this node (when there is one), retried until it has. */
  private async registerCsiDriver(): Promise<void> {
    const csi = this.ctx.cfg.csi;
    if (!csi || this.stopped) return;
    try {
      await installCsiDriver(this, csi);
    } catch (err) {
      this.log.warn(
        { node: this.id.name, err: describeError(err) },
        "CSI driver registration failed; retrying",
      );
      this.ctx.queue.after(5_000 + this.ctx.random() * 5_000, () => this.registerCsiDriver());
    }
  }

  /** GETs an object, or undefined when it does not exist. */
  private async getOrUndefined(path: string, type: ProtoType): Promise<Versioned | undefined> {
    try {
      return await this.api<Versioned>({ method: "GET", path, ...this.proto(type) });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  // ---------------------------------------------------------------- heartbeat loop

  /**
   * The queue's task for the heartbeat loop. It starts {@link tick} and returns at once, so a
   * renewal waiting for the API server holds no queue worker: like a kubelet's lease controller,
   * each node has at most one heartbeat in flight, and nothing else of the engine's delays it.
   */
  private readonly tickTask = (): void => {
    void this.tick().catch((err: unknown) => {
      this.log.error({ node: this.id.name, err: describeError(err) }, "heartbeat loop failed; rescheduling");
      const retryAt = this.ctx.clock.now() + this.lease.intervalMs();
      this.lease.nextAt = Math.max(this.lease.nextAt, retryAt);
      this.status.nextAt = Math.max(this.status.nextAt, retryAt);
      this.scheduleTick();
    });
  };

  private scheduleTick(): void {
    if (!this.stopped)
      this.ctx.beats.schedule(Math.min(this.lease.nextAt, this.status.nextAt), this.tickTask);
  }

  /**
   * The node's periodic work: renew the Lease and sync the status when each is due, reschedule.
   * Both are the kubelet's `JitterUntil(..., 0.04, sliding=true)` loops: the next run is due one
   * jittered period after this one finished, so a slow API server stretches a node's cadence (as
   * it does a kubelet's) instead of piling renewals up. Lateness is how long after that due time a
   * renewal starts: the engine's own delay, the API server's answer time being its latency.
   */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    const { clock, metrics } = this.ctx;
    const { lease, status } = this;
    const now = clock.now();
    if (isDue(now, lease.nextAt)) {
      const due = lease.nextAt;
      try {
        if (await lease.renew()) metrics.leaseRenewed(clock.now() - now, lateness(now, due));
      } catch (err) {
        this.log.warn({ node: this.id.name, err: describeError(err) }, "lease renewal failed");
      }
      lease.nextAt = clock.now() + lease.intervalMs();
    }
    if (isDue(now, status.nextAt)) {
      try {
        if (this.gone) await status.readBack();
        if (!this.gone && status.reportDue(now)) await status.report(now);
      } catch (err) {
        this.log.warn({ node: this.id.name, err: describeError(err) }, "node status update failed");
      }
      status.nextAt = clock.now() + status.intervalMs();
    }
    this.scheduleTick();
  }

  // ---------------------------------------------------------------- the Node as the server has it

  /**
   * Follows the Node as the API server has it: its podCIDR (assigned by the controller-manager
   * after registration, and a new one if the Node was recreated), its uid, and whether its
   * status still is what this node reports (the status sync corrects it when not). A Node of this
   * name that exists again after it was deleted (somebody created it) is this node's again: a
   * kubelet's status loop finds it and writes its status to it, with conditions new from now.
   */
  observeNode(node: NodeObject): void {
    if (this.gone && !this.stopped) {
      this.gone = false;
      this.ctx.metrics.nodeRegistered(1);
      this.status.registering(this.ctx.clock.now());
      this.log.info({ node: this.id.name, uid: node.metadata.uid }, "node exists again; reporting to it");
    }
    this.pods.observeCidr(node.spec?.podCIDR);
    if (node.status?.volumesInUse?.length && !this.pods.volumes) this.pods.volumesListed();
    if (node.metadata.uid) this.uid = node.metadata.uid;
    this.status.observe(node.status);
  }

  /** GETs the Node through the heartbeat client and follows it; false when it does not exist. */
  async readNode(): Promise<boolean> {
    try {
      this.observeNode(
        await this.ctx.heartbeat<NodeObject>({
          method: "GET",
          path: nodePath(this.id.name),
          ...this.proto(NODE),
        }),
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** The Node was deleted (its watch says so). */
  nodeDeleted(node: NodeObject): void {
    if (this.registered && node.metadata.uid === this.uid) this.nodeGone();
  }

  /**
   * The Node was deleted under this node. A kubelet registers once per process
   * (registerWithAPIServer returns once registrationCompleted), so it does not create the Node
   * again: its status loop reads the Node back every period, its lease controller creates no
   * Lease without the Node to own it, and its pods run on until the pod GC deletes them. So until
   * somebody creates the Node or the process restarts.
   */
  nodeGone(): void {
    if (this.gone || this.stopped || !this.registered) return;
    this.gone = true;
    this.ctx.metrics.nodeRegistered(-1);
    this.log.warn(
      { node: this.id.name },
      "node was deleted; like a kubelet, not registering it again until the process restarts",
    );
  }

  // ---------------------------------------------------------------- pods

  /** Handler for this node's pods (its own watch in kubelet traffic, dispatched in minimal). */
  podHandler(): PodHandler {
    return this.pods.handler();
  }

  /** A pod event for this node. */
  onPod(type: "ADDED" | "MODIFIED" | "DELETED", pod: PodObject): void {
    this.pods.onPod(type, pod);
  }

  /** What this node knows of pod `namespace/name`, or undefined when it does not run it. */
  podInfo(namespace: string, name: string): HostedPod | undefined {
    return this.pods.podInfo(namespace, name);
  }

  /** The pods this node runs, as Pod objects with the status it reports (a kubelet's /pods). */
  listPods(): object[] {
    return this.pods.listPods();
  }

  /** The states of the pods this node runs (its kubelet API's view reads them). */
  hostedPods(): Iterable<PodState> {
    return this.pods.hostedPods();
  }

  // ---------------------------------------------------------------- shutdown

  /** Stops this node's loops and watches (its objects stay). */
  stop(): void {
    this.stopped = true;
    this.watches.stop();
    this.proxy?.stop();
  }

  /** Deletes the Node and its Lease with `client` (`--delete-nodes-on-exit`: the process's identity). */
  async deleteObjects(client: Pick<KubeClient, "request">): Promise<void> {
    const gone = (err: unknown): void => {
      if (!isNotFound(err)) throw err;
    };
    await client.request({ method: "DELETE", path: nodeLeasePath(this.id.name) }).catch(gone);
    await client.request({ method: "DELETE", path: nodePath(this.id.name) }).catch(gone);
  }
}
