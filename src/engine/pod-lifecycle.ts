import { isConflict, isNotFound } from "../client/api-error.ts";
import { requeueDelayMs } from "../kernel/backoff.ts";
import { describeError } from "../kernel/errors.ts";
import type { HostedPod } from "./container-log.ts";
import { sandboxLatencyMs } from "./container-run.ts";
import { podClaims } from "./csi/volume-decisions.ts";
import { NodeVolumes } from "./csi/volume-manager.ts";
import type { Cidr, PodIpAllocator } from "./ip-pool.ts";
import { refKey, type KubeletWatches } from "./kubelet-watches.ts";
import type { NodeHandle } from "./node-handle.ts";
import { rfc3339 } from "./node-object.ts";
import { intern, referencedObjects, resourcesKey, slimPod, type PodObject } from "./pod-object.ts";
import { PodIps, type PodAddresses } from "./pod-ips.ts";
import { resizeDeletes } from "./pod-resize.ts";
import { resizePod, resizeReleased, type ResizeRunner } from "./pod-resize-run.ts";
import { startPod, scheduleExit } from "./pod-run.ts";
import { STAGES, adoptedStage, generationUnobserved, stopPlan, type PodStage } from "./pod-stage.ts";
import { hostedPod, runOf, type PodState } from "./pod-state.ts";
import { renderPodStatus } from "./pod-status.ts";

/** The refs of every pod that references no ConfigMap or Secret: shared, never written to. */
const NO_REFS: string[] = [];

/** The handler of a node's pod events (its own watch in kubelet traffic, dispatched in minimal). */
export interface PodHandler {
  onEvent: (type: "ADDED" | "MODIFIED" | "DELETED", pod: PodObject) => void;
  onRelistStart: () => void;
  onSynced: () => void;
}

/**
 * The pods a hollow node runs: it follows their events, runs each through its stages
 * (pod-stage.ts decides what comes next, pod-run.ts runs it), writes their statuses, deletes them
 * gracefully, and gives each a unique IP. I/O only: the decisions are pod-stage.ts's.
 */
export class PodLifecycle implements ResizeRunner, PodAddresses {
  readonly node: NodeHandle;
  private readonly watches: KubeletWatches;
  private readonly pods = new Map<string, PodState>();
  private readonly ips = new PodIps();
  private relistSeen: Set<string> | undefined;
  /** The volume manager, created with the node's first pod with CSI volumes. */
  volumes: NodeVolumes | undefined;
  /** The node's pods have been listed once. */
  private podsSynced = false;

  constructor(node: NodeHandle, watches: KubeletWatches) {
    this.node = node;
    this.watches = watches;
  }

  /** Number of pods this node runs. */
  get count(): number {
    return this.pods.size;
  }

  /** The Node's spec.podCIDR as the server has it. */
  observeCidr(cidr: string | undefined): void {
    this.ips.observe(cidr);
  }

  /** The Node was deleted: its pod CIDR with it. */
  resetCidr(): void {
    this.ips.reset();
  }

  /** Handler for this node's pods (its own watch in kubelet traffic, dispatched in minimal). */
  handler(): PodHandler {
    return {
      onEvent: (type, pod) => this.onPod(type, pod),
      onRelistStart: () => {
        this.relistSeen = new Set();
      },
      onSynced: () => {
        this.podsSynced = true;
        this.volumes?.markSynced();
        const seen = this.relistSeen;
        this.relistSeen = undefined;
        if (!seen) return;
        // Pods deleted while the watch was down never get a DELETED event.
        for (const uid of [...this.pods.keys()]) if (!seen.has(uid)) this.forget(uid);
      },
    };
  }

  /** A pod event for this node. */
  onPod(type: "ADDED" | "MODIFIED" | "DELETED", pod: PodObject): void {
    const uid = pod.metadata.uid;
    this.relistSeen?.add(uid);
    if (type === "DELETED") {
      this.forget(uid);
      return;
    }
    if (pod.spec.nodeName !== this.node.id.name || this.node.stopped) return;
    let st = this.pods.get(uid);
    const isNew = !st;
    if (!st) {
      st = this.adopt(pod);
      this.pods.set(uid, st);
    } else {
      const before = st.pod;
      st.pod = slimPod(pod);
      // An in-place resize (spec resources changed): the kubelet allocates it when it fits the
      // node, applies it and reports the containers' new resources, or reports it pending.
      if (
        st.stage === "running" &&
        !pod.metadata.deletionTimestamp &&
        // A spec change bumps the generation; status updates (most events) do not.
        before.metadata.generation !== st.pod.metadata.generation &&
        resourcesKey(before) !== resourcesKey(st.pod)
      )
        resizePod(this, st, before);
    }
    const s = st;
    const queue = this.node.ctx.queue;
    // Mark deletion before queueing the start: the queue may run a task that is due at once synchronously.
    if (pod.metadata.deletionTimestamp && !s.deleting) {
      s.deleting = true;
      queue.after(0, () => this.terminatePod(s));
    }
    if (isNew) {
      if (s.stage === "new") queue.after(0, () => startPod(this, s));
      else scheduleExit(this, s);
    }
  }

  /** State for a newly seen pod; a pod this engine ran before a restart keeps its IP and stage. */
  private adopt(pod: PodObject): PodState {
    const now = this.node.ctx.clock.now();
    const stage = adoptedStage(pod.status?.phase, pod.status?.podIP);
    const { configMaps, secrets } = referencedObjects(pod);
    const refs: string[] = configMaps.size + secrets.size > 0 ? [] : NO_REFS;
    for (const n of configMaps) refs.push(intern(refKey("configmaps", pod.metadata.namespace, n)));
    for (const n of secrets) refs.push(intern(refKey("secrets", pod.metadata.namespace, n)));
    for (const r of refs) this.watches.addRef(r);
    let ip = "";
    if (stage !== "new" && pod.status?.podIP) {
      ip = pod.status.podIP;
      if (!pod.spec.hostNetwork) this.allocator()?.claim(ip);
    }
    const start = pod.status?.startTime ?? rfc3339(now);
    const csi = this.node.ctx.cfg.csi;
    const claims = csi ? podClaims(pod) : undefined;
    const st: PodState = {
      uid: pod.metadata.uid,
      namespace: intern(pod.metadata.namespace),
      name: pod.metadata.name,
      pod: slimPod(pod),
      stage,
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
    if (claims) st.claims = claims;
    if (stage === "new") {
      // The start-up latency model: how long this pod's sandbox takes (container-run.ts).
      const ms = sandboxLatencyMs(pod, this.node.ctx.cfg.podStartLatency.sandbox, this.node.ctx.random);
      if (ms > 0) st.sandboxMs = ms;
    }
    // A pod that ran before a restart: its volumes are mounted (the kubelet reconstructs them).
    if (claims && csi && (stage === "running" || stage === "backoff")) {
      this.volumes ??= new NodeVolumes(this.node, csi);
      this.volumes.adoptMounted(st);
    }
    return st;
  }

  /**
   * Whether the pod's CSI volumes are attached and mounted (`WaitForAttachAndMount`); when not,
   * the volume manager sets them up and starts the pod again once they are.
   */
  volumesReady(st: PodState): boolean {
    const csi = this.node.ctx.cfg.csi;
    if (!st.claims || !csi) return true;
    this.volumes ??= new NodeVolumes(this.node, csi);
    return this.volumes.ensureMounted(st, () => this.node.ctx.queue.after(0, () => startPod(this, st)));
  }

  /**
   * The server's Node lists volumes in use (a restart): the volume manager runs, so that once the
   * node's pods are listed, the volumes none of them uses are cleared from the status.
   */
  volumesListed(): void {
    const csi = this.node.ctx.cfg.csi;
    if (csi && !this.volumes) this.volumes = new NodeVolumes(this.node, csi, this.podsSynced);
  }

  /** Unmounts the pod's CSI volumes (its containers have stopped, or it is gone). */
  unmountVolumes(st: PodState): Promise<void> {
    return st.claims && this.volumes ? this.volumes.unmount(st.uid) : Promise.resolve();
  }

  /** The engine's pod CIDR for this node, used while its Node has no spec.podCIDR. */
  fallbackCidr(): Cidr | undefined {
    return this.node.ctx.fallbackPodCidr(this.node.index);
  }

  /** Claims on a new allocator the addresses this node's pods hold (hostNetwork pods hold none). */
  claimInUse(alloc: PodIpAllocator): void {
    for (const st of this.pods.values()) if (st.ip && !st.pod.spec.hostNetwork) alloc.claim(st.ip);
  }

  /** The node's pod address allocator (created on first use). */
  allocator(): PodIpAllocator | undefined {
    return this.ips.allocator(this);
  }

  /** The pod is gone: its queued work is dropped, its IP and its references released. */
  forget(uid: string): void {
    const st = this.pods.get(uid);
    if (!st) return;
    st.alive = false;
    this.pods.delete(uid);
    if (st.ip && !st.pod.spec.hostNetwork) this.ips.release(st.ip);
    for (const r of st.refs) this.watches.dropRef(r);
    if (st.claims) void this.unmountVolumes(st);
    resizeReleased(this, st);
  }

  /** The pods this node runs. */
  hostedPods(): Iterable<PodState> {
    return this.pods.values();
  }

  private podPath(st: PodState): string {
    return `/api/v1/namespaces/${st.namespace}/pods/${st.name}`;
  }

  /** PATCHes a pod's status for a stage; in kubelet traffic GETs the pod first, as the status manager does. */
  async writePodStatus(st: PodState, stage: PodStage, finishedAt?: string): Promise<boolean> {
    const { ctx } = this.node;
    if (finishedAt) st.finishedAt = finishedAt;
    if (ctx.cfg.traffic === "kubelet") {
      try {
        const latest = await this.node.api<PodObject>({ method: "GET", path: this.podPath(st) });
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
    const status = renderPodStatus(st.pod, stage, runOf(st, this.node.id.ip));
    const deletes = resizeDeletes(st.resize, STAGES[stage].ended);
    if (deletes.length > 0) (status.conditions as unknown[]).push(...deletes);
    try {
      await this.node.api({
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
    st.observedGeneration = st.pod.metadata.generation;
    // The pod's runtime is gone once it ended: the volume manager unmounts its volumes.
    if (st.claims && STAGES[stage].ended) void this.unmountVolumes(st);
    if (st.resize && deletes.length > 0) st.resize.cleared = undefined;
    ctx.metrics.podTransition(stage);
    ctx.events?.podWritten(this.node.id.name, st);
    return true;
  }

  /** Runs a status write now, and again after a back-off while it fails (as long as the pod lives). */
  retrying(st: PodState, what: string, write: () => Promise<boolean>): void {
    const { ctx } = this.node;
    const attempt = async (): Promise<void> => {
      if (!st.alive || st.deleting) return;
      try {
        await write();
      } catch (err) {
        this.node.log.warn(
          { pod: `${st.namespace}/${st.name}`, err: describeError(err) },
          `${what} failed; retrying`,
        );
        ctx.queue.after(requeueDelayMs(ctx.random), attempt);
      }
    };
    ctx.queue.after(0, attempt);
  }

  /** Graceful deletion: containers terminate, then the pod is deleted with grace period 0 and a UID precondition. */
  private async terminatePod(st: PodState): Promise<void> {
    if (!st.alive) return;
    const { ctx } = this.node;
    if (st.stopDue === undefined && ctx.cfg.traffic === "kubelet" && st.stage !== "new") {
      // SyncTerminatingPod's first SetPodStatus, before the kill: the status as it is, observing
      // the generation the graceful deletion bumped.
      if (generationUnobserved(st.stage, st.pod.metadata.generation, st.observedGeneration)) {
        try {
          if (!(await this.writePodStatus(st, st.stage))) return;
        } catch (err) {
          this.node.log.warn(
            { pod: `${st.namespace}/${st.name}`, err: describeError(err) },
            "terminating pod status failed; retrying",
          );
          ctx.queue.after(requeueDelayMs(ctx.random), () => this.terminatePod(st));
          return;
        }
      }
    }
    const now = ctx.clock.now();
    if (st.stopDue === undefined) {
      // The kubelet kills the containers (pod-stage.ts's stopPlan); meanwhile the pod stays as it
      // is (Terminating, as its deletionTimestamp says).
      const plan = stopPlan(st.stage, st.pod);
      if (STAGES[st.stage].containersRunning) ctx.events?.podStopping(this.node.id.name, st.pod);
      st.stopDue = now + plan.stopMs;
      if (plan.exitCode !== undefined) st.exitCode = plan.exitCode;
      if (plan.stopMs > 0) {
        ctx.queue.after(plan.stopMs, () => this.terminatePod(st));
        return;
      }
    }
    try {
      if (STAGES[st.stage].terminatesOnDelete) {
        if (!(await this.writePodStatus(st, "terminated", rfc3339(now)))) return;
      }
      // SyncTerminatedPod waits for the volumes to be unmounted before the pod may be deleted.
      if (st.claims) await this.unmountVolumes(st);
      if (ctx.cfg.traffic === "kubelet") {
        // The status manager reads the pod once more before it may delete it.
        const latest = await this.node.api<PodObject>({ method: "GET", path: this.podPath(st) });
        if (latest.metadata.uid !== st.uid) return;
      }
      await this.node.api({
        method: "DELETE",
        path: this.podPath(st),
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          gracePeriodSeconds: 0,
          preconditions: { uid: st.uid },
        },
      });
      ctx.metrics.podTransition("deleted");
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      this.node.log.warn(
        { pod: `${st.namespace}/${st.name}`, err: describeError(err) },
        "pod deletion failed; retrying",
      );
      ctx.queue.after(requeueDelayMs(ctx.random), () => this.terminatePod(st));
    }
  }

  // ---------------------------------------------------------------- kubelet endpoint (read-only)

  /** What this node knows of pod `namespace/name`, or undefined when it does not run it. */
  podInfo(namespace: string, name: string): HostedPod | undefined {
    for (const st of this.pods.values()) {
      if (st.namespace === namespace && st.name === name) return hostedPod(st, this.node.id.name);
    }
    return undefined;
  }

  /** The pods this node runs, as Pod objects with the status it reports (a kubelet's /pods). */
  listPods(): object[] {
    return [...this.pods.values()].map((st) =>
      st.stage === "new"
        ? { ...st.pod }
        : { ...st.pod, status: renderPodStatus(st.pod, st.stage, runOf(st, this.node.id.ip)) },
    );
  }
}
