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
import { resizePod, resizeReleased, type ResizeRunner } from "./pod-resize-run.ts";
import { startPod, scheduleExit } from "./pod-run.ts";
import {
  STAGES,
  adoptedStage,
  generationUnobserved,
  stopPlan,
  unmountSeenAt,
  type PodStage,
} from "./pod-stage.ts";
import { hostedPod, runOf, type PodState } from "./pod-state.ts";
import { renderPodStatus } from "./pod-status.ts";
import { podStatusFeatures } from "./pod-status-features.ts";
import { StatusManager } from "./status-manager.ts";

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
 * (pod-stage.ts decides what comes next, pod-run.ts runs it), sets their statuses (its status
 * manager writes them: status-manager.ts), deletes them gracefully, and gives each a unique IP.
 * I/O only: the decisions are pod-stage.ts's.
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
  /** Writes the pods' statuses and deletes them (created with the node's first status). */
  private statuses: StatusManager | undefined;

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
        resourcesKey(before) !== resourcesKey(st.pod) &&
        // Kubelets before v1.33 (InPlacePodVerticalScaling off) do not resize in place.
        podStatusFeatures(this.node.id.kubeletVersion).containerResources
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
    this.statuses?.drop(uid);
    if (st.ip && !st.pod.spec.hostNetwork) this.ips.release(st.ip);
    for (const r of st.refs) this.watches.dropRef(r);
    if (st.claims) void this.unmountVolumes(st);
    resizeReleased(this, st);
  }

  /** The pods this node runs. */
  hostedPods(): Iterable<PodState> {
    return this.pods.values();
  }

  /**
   * The pod worker's SetPodStatus: the pod is now at `stage` (its containers ended at
   * `finishedAt`); the node's status manager writes its status soon, the newest when several
   * come while a write is under way. The Events the change stands for are recorded now.
   */
  setPodStatus(st: PodState, stage: PodStage, finishedAt?: string): void {
    if (!st.alive) return;
    if (finishedAt) st.finishedAt = finishedAt;
    st.stage = stage;
    st.observedGeneration = st.pod.metadata.generation;
    this.statuses ??= new StatusManager(this);
    if (!this.statuses.set(st)) return;
    this.node.ctx.events?.podWritten(this.node.id.name, st);
    // The pod's runtime is gone once it ended: the volume manager unmounts its volumes.
    if (st.claims && STAGES[stage].ended) void this.unmountVolumes(st);
  }

  /**
   * Graceful deletion, as the kubelet's SyncTerminatingPod and SyncTerminatedPod: the status as it
   * is, observing the generation the deletion bumped; the containers killed (pod-stage.ts's
   * stopPlan); the terminated status; the volumes unmounted; then TerminatePod: the status manager
   * deletes the pod (grace 0, uid precondition) once its terminal status is on the server.
   */
  private terminatePod(st: PodState): void {
    if (!st.alive) return;
    const { ctx } = this.node;
    if (st.stopDue === undefined && ctx.cfg.traffic === "kubelet" && st.stage !== "new") {
      // SyncTerminatingPod's first SetPodStatus, before the kill.
      if (generationUnobserved(st.stage, st.pod.metadata.generation, st.observedGeneration))
        this.setPodStatus(st, st.stage);
    }
    const now = ctx.clock.now();
    if (st.stopDue === undefined) {
      // The kubelet kills the containers; meanwhile the pod stays as it is (Terminating, as its
      // deletionTimestamp says).
      const plan = stopPlan(st.stage, st.pod);
      if (STAGES[st.stage].containersRunning) ctx.events?.podStopping(this.node.id.name, st.pod);
      st.stopDue = now + plan.stopMs;
      if (plan.exitCode !== undefined) st.exitCode = plan.exitCode;
      if (plan.stopMs > 0) {
        ctx.queue.after(plan.stopMs, () => this.terminatePod(st));
        return;
      }
    }
    // Volumes are mounted while the pod runs: a pod that ended before (its volumes unmounted then)
    // or never started has none to wait for.
    const mounted =
      STAGES[st.stage].terminatesOnDelete &&
      ((st.pod.spec.volumes ?? []).length > 0 || st.refs.length > 0 || st.claims !== undefined);
    if (STAGES[st.stage].terminatesOnDelete) this.setPodStatus(st, "terminated", rfc3339(now));
    // SyncTerminatedPod: TerminatePod once WaitForUnmount finds the volumes unmounted (pod-stage.ts's
    // unmountSeenAt); the status manager has long taken the terminal status by then.
    this.statuses ??= new StatusManager(this);
    const statuses = this.statuses;
    const terminated = async (): Promise<void> => {
      try {
        if (st.claims) await this.unmountVolumes(st);
      } catch (err) {
        this.node.log.warn(
          { pod: `${st.namespace}/${st.name}`, err: describeError(err) },
          "unmount failed; retrying",
        );
        ctx.queue.after(requeueDelayMs(ctx.random), terminated);
        return;
      }
      ctx.queue.schedule(unmountSeenAt(now, ctx.clock.now(), mounted), () => statuses.terminate(st));
    };
    ctx.queue.after(0, terminated);
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
        : {
            ...st.pod,
            status: renderPodStatus(
              st.pod,
              st.stage,
              runOf(st, this.node.id.ip),
              podStatusFeatures(this.node.id.kubeletVersion),
            ),
          },
    );
  }
}
