/*
 * What status a hollow kubelet gives a pod, as pure functions of the pod, its stage and the time.
 * Shapes follow what a kubelet writes (a kubelet's pod status manager).
 */
import { RUN_SECONDS_ANNOTATION, podOutcome } from "./container-run.ts";
import type { ContainerSpec, PodObject } from "./pod-object.ts";
import { resizeConditions, type ResizeState } from "./pod-resize.ts";
import { STAGES, type PodStage } from "./pod-stage.ts";
import { ALL_POD_STATUS_FEATURES, type PodStatusFeatures } from "./pod-status-features.ts";
import { containerId, goDuration, normalizeImage } from "./pod-status-ids.ts";
import { podLevelResources, qosClass } from "./pod-status-resources.ts";

export { RUN_SECONDS_ANNOTATION, containerId, normalizeImage };

/** Facts about the pod's run, fixed when it starts. */
export interface PodRun {
  readonly hostIP: string;
  readonly podIP: string;
  /** When the pod was first seen (startTime, init containers' start). */
  readonly startedAt: string;
  /** When the main containers started. */
  readonly runningAt: string;
  /** When containers finished (succeeded/failed/terminated stages). */
  readonly finishedAt?: string;
  /** The exit code of the finished containers (succeeded/failed; default 0). */
  readonly exitCode?: number;
  /** How often the containers were restarted. */
  readonly restarts?: number;
  /** The containers' previous run, once they were restarted or are waiting to be. */
  readonly lastRun?: { readonly exitCode: number; readonly startedAt: string; readonly finishedAt: string };
  /** While in `backoff`: how long the kubelet waits before it restarts them (ms). */
  readonly backoffMs?: number;
  /** An in-place resize: allocated and applied resources, pending and in-progress conditions. */
  readonly resize?: Readonly<ResizeState>;
  /** Each main container's own run, when they run each on their own (restarts, exits, back-off). */
  readonly containers?: readonly ContainerRun[];
  /** Running, but the startup probe has not passed yet (`started: false`). */
  readonly notStarted?: boolean;
  /** Running, but the readiness probe has not passed yet (`ready: false`). */
  readonly unready?: boolean;
  /** While initializing (or failed in init): the init container that runs or failed (default 0). */
  readonly initIndex?: number;
  /** That init container's restarts and previous run. */
  readonly initRestarts?: number;
  readonly initLastRun?: {
    readonly exitCode: number;
    readonly startedAt: string;
    readonly finishedAt: string;
  };
  /** When the current init container's latest run started (after a restart). */
  readonly initRunningAt?: string;
  /** The pod failed in its init containers (restartPolicy Never): they never completed. */
  readonly initFailed?: boolean;
  /** When the readiness probe last changed the containers' readiness (default: when they started running). */
  readonly readyAt?: string;
}

/** One main container's own run (a pod whose containers run each on their own). */
export interface ContainerRun {
  readonly runningAt: string;
  readonly restarts: number;
  readonly lastRun?: { readonly exitCode: number; readonly startedAt: string; readonly finishedAt: string };
  /** Waiting in CrashLoopBackOff that long before its restart. */
  readonly backoffMs?: number;
  /** Ended for good (its restartPolicy restarts it no more): its exit code and when. */
  readonly exitCode?: number;
  readonly finishedAt?: string;
}

/** Whether a container that runs on its own is not running now (waiting to restart, or ended). */
export function containerDown(c: ContainerRun | undefined): boolean {
  return c !== undefined && (c.backoffMs !== undefined || c.finishedAt !== undefined);
}

/**
 * How long the pod runs before its containers exit on their own, in ms ({@link podOutcome}: the
 * annotation, then what the image and command tell, then Job pods for `jobRunMs`); undefined =
 * runs until deleted.
 */
export function runDurationMs(pod: PodObject, jobRunMs: number): number | undefined {
  return podOutcome(pod, { jobRunMs }).afterMs ?? undefined;
}

interface Condition {
  type: string;
  status: "True" | "False";
  reason?: string;
  message?: string;
  lastProbeTime: null;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** A condition; `reason` and `message` are for when it is False, unless `always` (a terminal pod's). */
function condition(
  type: string,
  ok: boolean,
  at: string,
  generation: number | undefined,
  reason?: string,
  message?: string,
  always = false,
): Condition {
  return {
    type,
    status: ok ? "True" : "False",
    ...(reason && (!ok || always) ? { reason } : {}),
    ...(message && !ok ? { message } : {}),
    lastProbeTime: null,
    lastTransitionTime: at,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

/** Pod-level `allocatedResources` and `resources` (pod-status-resources.ts), as the status shows them. */
function podResources(pod: PodObject): Record<string, unknown> {
  const r = podLevelResources(pod);
  return {
    ...(r.allocatedResources ? { allocatedResources: r.allocatedResources } : {}),
    resources: r.resources,
  };
}

/** Init containers that run to completion (sidecars, restartPolicy Always, keep running). */
function isSidecar(c: ContainerSpec): boolean {
  return c.restartPolicy === "Always";
}

/**
 * The pod status for a stage. `creating` is the kubelet's first report while it sets up the pod
 * sandbox (Pending, containers waiting in ContainerCreating or PodInitializing, no pod IP yet);
 * `sandbox` is the same with the sandbox ready (PodReadyToStartContainers True);
 * `initializing` shows the first init container running; `running`
 * has every init container Completed and every container running and ready; `backoff` has the
 * containers waiting in CrashLoopBackOff after their last run; `succeeded`, `failed` and
 * `terminated` have every container terminated (phase Succeeded, or Failed with the exit code).
 * Restarted containers carry their restart count and their previous run as `lastState`.
 * `features` are those of the simulated kubelet's version (pod-status-features.ts): fields a
 * kubelet of that version does not write are left out.
 */
export function renderPodStatus(
  pod: PodObject,
  stage: PodStage,
  run: PodRun,
  features: PodStatusFeatures = ALL_POD_STATUS_FEATURES,
): Record<string, unknown> {
  const gen = features.observedGeneration ? pod.metadata.generation : undefined;
  const inits = pod.spec.initContainers ?? [];
  // What the stage shows is pod-stage.ts's; the shapes are this file's.
  const facts = STAGES[stage];
  const done = facts.ended;
  const backoff = facts.crashLoop;
  const creating = !facts.sandbox;
  const initializing = facts.initRunning;
  // No container created yet (the first report, or the sandbox ready): they all wait.
  const waiting = facts.starting && !initializing;
  const initialized = !initializing && !run.initFailed && !(waiting && inits.length > 0);
  // Containers that run each on their own: one waiting to restart or ended is not ready.
  const down = pod.spec.containers.map((_, i) => containerDown(run.containers?.[i]));
  const running = facts.containersRunning && !run.unready;
  const ready = running && !down.includes(true);
  const finishedAt = run.finishedAt ?? run.runningAt;
  const notInit = inits.filter((c) => !isSidecar(c)).map((c) => c.name);
  const notReady = pod.spec.containers.filter((_, i) => !running || down[i]).map((c) => c.name);
  // When the containers stopped being ready: the end of their run (done, or waiting to restart),
  // or their start while the probes have not passed.
  const unreadySince = done
    ? finishedAt
    : backoff && run.lastRun
      ? run.lastRun.finishedAt
      : facts.containersRunning
        ? (run.readyAt ?? run.runningAt)
        : run.startedAt;
  // A terminal pod's conditions say why in one word (the kubelet's status/generate.go): Succeeded
  // is PodCompleted (Initialized too), Failed is PodFailed (readiness only).
  const succeeded = done && facts.phase === "Succeeded";
  const terminalReason = facts.phase === "Failed" ? "PodFailed" : "PodCompleted";
  const conditions: (Condition | Record<string, unknown>)[] = [
    // A resize's conditions come first, as the kubelet's generateAPIPodStatus adds them.
    ...(facts.ended || !features.containerResources ? [] : resizeConditions(run.resize)),
    ...(features.readyToStartContainers
      ? [condition("PodReadyToStartContainers", !done && !creating, done ? finishedAt : run.startedAt, gen)]
      : []),
    succeeded
      ? condition("Initialized", true, run.runningAt, gen, "PodCompleted", undefined, true)
      : condition(
          "Initialized",
          initialized,
          initialized ? run.runningAt : run.startedAt,
          gen,
          "ContainersNotInitialized",
          `containers with incomplete status: [${notInit.join(" ")}]`,
        ),
    condition(
      "Ready",
      ready,
      ready ? (run.readyAt ?? run.runningAt) : unreadySince,
      gen,
      done ? terminalReason : "ContainersNotReady",
      done ? undefined : `containers with unready status: [${notReady.join(" ")}]`,
    ),
    condition(
      "ContainersReady",
      ready,
      ready ? (run.readyAt ?? run.runningAt) : unreadySince,
      gen,
      done ? terminalReason : "ContainersNotReady",
      done ? undefined : `containers with unready status: [${notReady.join(" ")}]`,
    ),
    condition("PodScheduled", true, run.startedAt, gen),
  ];
  /** The id of a container's run: its first run's id, then one per restart. */
  const runId = (c: ContainerSpec, restarts: number): string =>
    containerId(pod.metadata.uid, restarts > 0 ? `${c.name}/${restarts}` : c.name);
  // A terminated state names its container, as the kubelet's convertContainerStatus does.
  const terminated = (code: number, from: string, to: string, id?: string): Record<string, unknown> => ({
    terminated: {
      ...(id ? { containerID: id } : {}),
      exitCode: code,
      reason: code === 0 ? "Completed" : "Error",
      startedAt: from,
      finishedAt: to,
    },
  });
  const last = run.lastRun;
  /** Restarts of a container: the main ones', or the current init container's. */
  type Restarts = { count: number; last: PodRun["lastRun"] };
  const mainRestarts: Restarts = { count: run.restarts ?? 0, last };
  const initRestarts: Restarts = { count: run.initRestarts ?? 0, last: run.initLastRun };
  const containerResources = (c: ContainerSpec): Record<string, unknown> => {
    const i = run.resize ? pod.spec.containers.indexOf(c) : -1;
    const actual = i < 0 ? c.resources : run.resize!.actual[i];
    const allocated = i < 0 ? c.resources : run.resize!.allocated[i];
    return {
      resources: actual ?? {},
      ...(allocated?.requests ? { allocatedResources: allocated.requests } : {}),
    };
  };
  const status = (
    c: ContainerSpec,
    state: Record<string, unknown>,
    isReady: boolean,
    started: boolean,
    main: boolean | Restarts = false,
  ) => {
    const r = main === true ? mainRestarts : main === false ? undefined : main;
    const count = r?.count ?? 0;
    // A container not created yet is reported from its spec alone: no id, the image as written.
    const created = !("waiting" in state) || r?.last !== undefined;
    const last = r?.last;
    const shown =
      "terminated" in state
        ? { terminated: { containerID: runId(c, count), ...(state["terminated"] as object) } }
        : state;
    return {
      name: c.name,
      state: shown,
      lastState: last
        ? terminated(last.exitCode, last.startedAt, last.finishedAt, runId(c, Math.max(0, count - 1)))
        : {},
      ready: isReady,
      started,
      restartCount: count,
      image: created ? normalizeImage(c.image) : (c.image ?? ""),
      imageID: created ? normalizeImage(c.image) : "",
      ...(created ? { containerID: runId(c, count) } : {}),
      // A created container reports the resources it runs with and what the node allocated to
      // it: the spec's, unless an in-place resize is pending or being applied (pod-resize.ts).
      ...(features.containerResources && ("running" in state || "terminated" in state)
        ? containerResources(c)
        : {}),
      // Read-only mounts say whether they are recursively so (RecursiveReadOnlyMounts).
      ...(c.volumeMounts && features.volumeMountStatus
        ? {
            volumeMounts: c.volumeMounts.map((m) => ({
              name: m.name,
              mountPath: m.mountPath,
              ...(m.readOnly ? { readOnly: true, recursiveReadOnly: "Disabled" } : {}),
            })),
          }
        : {}),
    };
  };
  /** A container that runs on its own: its own restarts, back-off, exit. */
  const ownStatus = (c: ContainerSpec, own: ContainerRun) => {
    const r: Restarts = { count: own.restarts, last: own.lastRun };
    if (own.finishedAt !== undefined)
      return status(c, terminated(own.exitCode ?? 0, own.runningAt, own.finishedAt), false, false, r);
    if (own.backoffMs !== undefined) {
      if (!done) return status(c, crashLoop(c, own.backoffMs), false, false, r);
      const l = own.lastRun;
      if (l) return status(c, terminated(l.exitCode, l.startedAt, l.finishedAt), false, false, r);
    }
    if (done) return status(c, terminated(run.exitCode ?? 0, own.runningAt, finishedAt), false, false, r);
    return status(c, { running: { startedAt: own.runningAt } }, running, !run.notStarted, r);
  };
  const completed = (from: string, to: string): Record<string, unknown> => terminated(0, from, to);
  const current = run.initIndex ?? 0;
  const initContainerStatuses = inits.map((c, i) => {
    if (waiting) return status(c, { waiting: { reason: "PodInitializing" } }, false, false);
    if (initializing || run.initFailed) {
      if (i < current) return status(c, completed(run.startedAt, run.startedAt), false, false);
      if (i > current) return status(c, { waiting: { reason: "PodInitializing" } }, false, false);
      if (run.initFailed) {
        const to = finishedAt;
        return status(
          c,
          terminated(run.exitCode ?? 1, run.initLastRun?.finishedAt ?? run.startedAt, to),
          false,
          false,
          initRestarts,
        );
      }
      if (run.backoffMs !== undefined) {
        const message = `back-off ${goDuration(run.backoffMs)} restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
        return status(c, { waiting: { reason: "CrashLoopBackOff", message } }, false, false, initRestarts);
      }
      const since =
        run.initLastRun && (run.initRestarts ?? 0) > 0 ? (run.initRunningAt ?? run.startedAt) : run.startedAt;
      return status(c, { running: { startedAt: since } }, false, true, initRestarts);
    }
    if (isSidecar(c)) {
      return done
        ? status(c, completed(run.startedAt, finishedAt), false, false)
        : status(c, { running: { startedAt: run.startedAt } }, true, true);
    }
    return status(c, completed(run.startedAt, run.runningAt), false, false);
  });
  // An init container that exited 0 is ready (the prober manager's UpdatePodStatus).
  for (const s of initContainerStatuses) {
    const t = (s.state as { terminated?: { exitCode: number } }).terminated;
    if (t?.exitCode === 0) s.ready = true;
  }
  const crashLoop = (c: ContainerSpec, backoffMs: number): Record<string, unknown> => ({
    waiting: {
      reason: "CrashLoopBackOff",
      message: `back-off ${goDuration(backoffMs)} restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
    },
  });
  const containerStatuses = pod.spec.containers.map((c, i) => {
    if (waiting) {
      const reason = inits.length > 0 ? "PodInitializing" : "ContainerCreating";
      return status(c, { waiting: { reason } }, false, false);
    }
    if (initializing || run.initFailed)
      return status(c, { waiting: { reason: "PodInitializing" } }, false, false);
    const own = run.containers?.[i];
    if (own) return ownStatus(c, own);
    if (backoff) return status(c, crashLoop(c, run.backoffMs ?? 0), false, false, true);
    const code = run.exitCode ?? 0;
    if (done) return status(c, terminated(code, run.runningAt, finishedAt), false, false, true);
    return status(c, { running: { startedAt: run.runningAt } }, ready, !run.notStarted, true);
  });
  return {
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    phase: facts.phase,
    conditions,
    hostIP: run.hostIP,
    hostIPs: [{ ip: run.hostIP }],
    // The pod IP shows once containers are created (upstream kubemark's sandbox-ready status has none).
    ...(waiting ? {} : { podIP: run.podIP, podIPs: [{ ip: run.podIP }] }),
    startTime: run.startedAt,
    qosClass: qosClass(pod),
    // The pod's own resources (v1.36 on): its requests as allocated, and its pod cgroup's limits.
    ...(features.podResources ? podResources(pod) : {}),
    ...(inits.length > 0 ? { initContainerStatuses } : {}),
    containerStatuses,
  };
}
