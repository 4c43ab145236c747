/*
 * What a hollow node remembers of one pod it runs, and the read-only views of it: the facts its
 * status is rendered from, and what the kubelet endpoint knows of it.
 */
import type { HostedContainer, HostedPod } from "./container-log.ts";
import type { PodClaim } from "./csi/volume-decisions.ts";
import type { PodEventMark } from "./kubelet-events.ts";
import type { PodObject } from "./pod-object.ts";
import type { ResizeState } from "./pod-resize.ts";
import type { HostedStage } from "./pod-stage.ts";
import type { PodRun } from "./pod-status.ts";

/** A previous run of containers (lastState). */
export interface PastRun {
  exitCode: number;
  startedAt: string;
  finishedAt: string;
}

/**
 * One main container's own run, kept only for a pod whose containers do not all run alike (the
 * kubelet restarts and reports each on its own): its latest start, restarts, exits in its
 * back-off streak, previous run, back-off wait, and its exit once it ended for good.
 */
export interface ContainerState {
  runningAt: string;
  restarts: number;
  exits: number;
  lastRun?: PastRun;
  backoffMs?: number;
  exitCode?: number;
  finishedAt?: string;
}

/** What the engine remembers of one pod (kept small: thousands per process). */
export interface PodState {
  uid: string;
  namespace: string;
  name: string;
  /** The latest pod seen, slimmed to what the engine reads (`slimPod`). */
  pod: PodObject;
  stage: HostedStage;
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
  lastRun?: PastRun;
  /** In `backoff`: the wait before the restart (ms). */
  backoffMs?: number;
  /** Each main container's own run, when they do not all run alike (else absent: they run together). */
  containers?: ContainerState[];
  /** An in-place resize's allocation and conditions (absent until the pod is resized). */
  resize?: ResizeState;
  /** A failing init container: which, its failed runs, restarts, previous run, latest start; the pod failed in init. */
  initIndex?: number;
  initFails?: number;
  initRestarts?: number;
  initLastRun?: PastRun;
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
  /** While it starts with a start-up latency: the sandbox's (ms), and when it is ready (epoch ms). */
  sandboxMs?: number;
  sandboxAt?: number;
  /** The pod generation its last written status observed (`status.observedGeneration`). */
  observedGeneration?: number;
  deleting: boolean;
  /** Bumped when the pod is forgotten, so queued work for it is dropped. */
  alive: boolean;
  refs: string[];
  /** Its volumes backed by claims of a CSI driver (only with `csi` on; absent for most pods). */
  claims?: PodClaim[];
  /** What the node's Events have recorded of it (kubelet-events.ts). */
  events?: PodEventMark;
}

/** The facts of a pod's run that its status is rendered from. */
export function runOf(st: PodState, hostIP: string): PodRun {
  return {
    hostIP,
    podIP: st.ip,
    startedAt: st.startedAt,
    runningAt: st.runningAt,
    ...(st.finishedAt ? { finishedAt: st.finishedAt } : {}),
    ...(st.exitCode !== undefined ? { exitCode: st.exitCode } : {}),
    ...(st.restarts > 0 ? { restarts: st.restarts } : {}),
    ...(st.lastRun ? { lastRun: st.lastRun } : {}),
    ...(st.backoffMs !== undefined ? { backoffMs: st.backoffMs } : {}),
    ...(st.containers ? { containers: st.containers } : {}),
    ...(st.resize ? { resize: st.resize } : {}),
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

const hostedContainer = (c: { name: string; image?: string; restartPolicy?: string }): HostedContainer => ({
  name: c.name,
  image: c.image ?? "",
  sidecar: c.restartPolicy === "Always",
});

/** What the kubelet endpoint knows of a pod that node `node` runs. */
export function hostedPod(st: PodState, node: string): HostedPod {
  return {
    node,
    namespace: st.namespace,
    name: st.name,
    uid: st.uid,
    containers: st.pod.spec.containers.map(hostedContainer),
    initContainers: (st.pod.spec.initContainers ?? []).map(hostedContainer),
    stage: st.stage,
    startedAt: st.startedAt,
    runningAt: st.runningAt,
    finishedAt: st.finishedAt,
    exitCode: st.exitCode,
  };
}
