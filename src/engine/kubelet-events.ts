/*
 * Which Events a kubelet records, and when, as pure functions of the pod, what the node has done
 * with it and what it already recorded (kubelet v1.36: pkg/kubelet/images/image_manager.go for
 * Pulled and Pulling, kuberuntime/kuberuntime_container.go for Created, Started and Killing,
 * kuberuntime/kuberuntime_manager.go for BackOff, prober/prober.go for Unhealthy, kubelet.go's
 * BirthCry and kubelet_node_status.go for the node's). The recorder (kubelet-event-recorder.ts)
 * correlates and writes them.
 */
import { initFailure } from "./container-run.ts";
import type { ContainerSpec, PodObject } from "./pod-object.ts";
import type { HostedStage } from "./pod-stage.ts";
import { PROBE_FAIL_AFTER_ANNOTATION, PROBE_FLAP_PERIOD_ANNOTATION } from "./probes.ts";

/** The parts of a container run's end the events read (a pod state's `PastRun`). */
export interface PastRun {
  readonly exitCode: number;
  readonly finishedAt: string;
}

/** One event about a pod's container: which container, and what. */
export interface ContainerEvent {
  readonly container: string;
  readonly init: boolean;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

/** One event about the node. */
export interface NodeEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
}

/** What has been recorded of a pod so far (kept on its state; a few fields). */
export interface PodEventMark {
  /** Init containers whose start was recorded, in order. */
  initStarted: number;
  /** Restarts of the failing init container recorded. */
  initRestarts: number;
  /** The run of the main containers whose start was recorded (its `runningAt`). */
  runningAt: string | undefined;
  /** The exit whose back-off (and liveness kill) was recorded (its `finishedAt`). */
  exitAt: string | undefined;
  /** Readiness lost to a failing probe was recorded. */
  unready: boolean;
  /** Main containers that run on their own: the run and the exit recorded of each. */
  runs?: (string | undefined)[];
  exits?: (string | undefined)[];
}

/** One main container's own run, when the pod's containers do not all run alike. */
export interface ContainerRunFacts {
  readonly runningAt: string;
  readonly lastRun?: PastRun | undefined;
  readonly backoffMs?: number | undefined;
  readonly finishedAt?: string | undefined;
}

/** What the events are derived from: the parts of a pod's state ({@link PodState}) they read. */
export interface PodEventFacts {
  readonly pod: PodObject;
  readonly stage: HostedStage;
  readonly runningAt: string;
  readonly initIndex?: number | undefined;
  readonly initRestarts?: number | undefined;
  readonly initLastRun?: PastRun | undefined;
  readonly initFailed?: boolean | undefined;
  readonly backoffMs?: number | undefined;
  readonly lastRun?: PastRun | undefined;
  readonly unready?: boolean | undefined;
  readonly readyAt?: string | undefined;
  /** Each main container's own run (absent while they all run together). */
  readonly containers?: readonly ContainerRunFacts[] | undefined;
}

/** Before anything was recorded. */
export const NO_MARK: Readonly<PodEventMark> = {
  initStarted: 0,
  initRestarts: 0,
  runningAt: undefined,
  exitAt: undefined,
  unready: false,
};

/** How the kubelet names a pod in messages (`format.Pod`: name_namespace(uid)). */
export function podDesc(pod: PodObject): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}

/**
 * The image manager's events before a container is created: every image is present on a hollow
 * node, so "already present" (v1.36, KubeletEnsureSecretPulledImages on by default: "and can be
 * accessed by the pod"), or with `imagePullPolicy: Always` a pull that takes no time.
 */
function imageEvents(c: ContainerSpec, init: boolean): ContainerEvent[] {
  const image = c.image ?? "";
  const ev = (reason: string, message: string): ContainerEvent => ({
    container: c.name,
    init,
    type: "Normal",
    reason,
    message,
  });
  if (c.imagePullPolicy === "Always") {
    return [
      ev("Pulling", `Pulling image "${image}"`),
      ev("Pulled", `Successfully pulled image "${image}" in 0s (0s including waiting). Image size: 0 bytes.`),
    ];
  }
  return [
    ev("Pulled", `Container image "${image}" already present on machine and can be accessed by the pod`),
  ];
}

/** A container's start: its image, then Created and Started (startContainer). */
export function containerStartEvents(c: ContainerSpec, init: boolean): ContainerEvent[] {
  return [
    ...imageEvents(c, init),
    { container: c.name, init, type: "Normal", reason: "Created", message: "Container created" },
    { container: c.name, init, type: "Normal", reason: "Started", message: "Container started" },
  ];
}

/** The pod worker finds a container in its restart back-off (doBackOff). */
export function backOffEvent(c: ContainerSpec, init: boolean, pod: PodObject): ContainerEvent {
  return {
    container: c.name,
    init,
    type: "Warning",
    reason: "BackOff",
    message: `Back-off restarting failed container ${c.name} in pod ${podDesc(pod)}`,
  };
}

/** A failed probe (prober.go; a hollow probe has no output). */
export function unhealthyEvent(c: ContainerSpec, probe: "Readiness" | "Liveness"): ContainerEvent {
  return {
    container: c.name,
    init: false,
    type: "Warning",
    reason: "Unhealthy",
    message: `${probe} probe failed: `,
  };
}

/** The probe's failure threshold (default 3): the failed probes before the kubelet acts. */
function threshold(p: { failureThreshold?: number } | undefined): number {
  const n = p?.failureThreshold;
  return n !== undefined && Number.isFinite(n) && n > 0 ? n : 3;
}

/** The probe's period in ms (default 10 s). */
export function probePeriodMs(p: { periodSeconds?: number } | undefined): number {
  const n = p?.periodSeconds;
  return (n !== undefined && Number.isFinite(n) && n > 0 ? n : 10) * 1000;
}

/** The pod's probes are made to fail (by annotation): only then does a hollow probe fail. */
function probesFail(pod: PodObject): boolean {
  const a = pod.metadata.annotations;
  return a?.[PROBE_FAIL_AFTER_ANNOTATION] !== undefined || a?.[PROBE_FLAP_PERIOD_ANNOTATION] !== undefined;
}

/** The container whose readiness probe the failure model fails, if any. */
export function failingReadiness(pod: PodObject): ContainerSpec | undefined {
  return probesFail(pod) ? pod.spec.containers.find((c) => c.readinessProbe) : undefined;
}

/** A failing liveness probe killed the containers' last run: its failed probes and the kill. */
function livenessKillEvents(pod: PodObject, run: PastRun): ContainerEvent[] {
  const c = pod.spec.containers.find((x) => x.livenessProbe);
  if (!c || run.exitCode !== 137 || !probesFail(pod)) return [];
  const failed = Array.from({ length: threshold(c.livenessProbe) }, () => unhealthyEvent(c, "Liveness"));
  return [
    ...failed,
    {
      container: c.name,
      init: false,
      type: "Normal",
      reason: "Killing",
      message: `Container ${c.name} failed liveness probe, will be restarted`,
    },
  ];
}

/**
 * The events a status write of the pod's stage stands for, given what was recorded (`mark`):
 * init containers starting in order (a failing one again at each restart, BackOff while it waits),
 * the main containers starting on each run, a liveness kill and BackOff after an exit, and
 * readiness lost to a failing probe (`failureThreshold` failed probes). Returns the events and
 * the new mark.
 */
export function podEvents(
  f: PodEventFacts,
  mark: Readonly<PodEventMark>,
): {
  events: ContainerEvent[];
  mark: PodEventMark;
} {
  const pod = f.pod;
  const inits = pod.spec.initContainers ?? [];
  const next: PodEventMark = {
    ...mark,
    ...(mark.runs ? { runs: [...mark.runs] } : {}),
    ...(mark.exits ? { exits: [...mark.exits] } : {}),
  };
  const events: ContainerEvent[] = [];
  const ended = f.stage === "succeeded" || f.stage === "failed" || f.stage === "terminated";
  if (f.stage === "new" || f.stage === "creating" || f.stage === "sandbox" || ended)
    return { events, mark: next };
  // Init containers run in order; a failing one stops the others until it passes.
  const failing = f.stage === "initializing" ? (f.initIndex ?? initFailure(pod)?.index) : undefined;
  const upTo = failing !== undefined ? failing + 1 : inits.length;
  for (let i = next.initStarted; i < upTo; i++) events.push(...containerStartEvents(inits[i]!, true));
  next.initStarted = Math.max(next.initStarted, upTo);
  const initRestarts = f.initRestarts ?? 0;
  if (initRestarts > next.initRestarts && f.initIndex !== undefined && f.stage === "initializing") {
    const c = inits[f.initIndex];
    if (c && f.backoffMs === undefined) events.push(...containerStartEvents(c, true));
    next.initRestarts = initRestarts;
  }
  if (f.stage === "initializing" && f.backoffMs !== undefined && f.initLastRun) {
    const c = f.initIndex !== undefined ? inits[f.initIndex] : undefined;
    if (c && f.initLastRun.finishedAt !== next.exitAt) events.push(backOffEvent(c, true, pod));
    next.exitAt = f.initLastRun.finishedAt;
  }
  // The main containers' last exit: a liveness kill, and the back-off before the restart.
  if (f.lastRun && f.lastRun.finishedAt !== next.exitAt && (f.stage === "backoff" || f.stage === "running")) {
    events.push(...livenessKillEvents(pod, f.lastRun));
    if (f.stage === "backoff") {
      for (const c of pod.spec.containers) events.push(backOffEvent(c, false, pod));
    }
    next.exitAt = f.lastRun.finishedAt;
  }
  if (f.stage === "running" && f.runningAt !== next.runningAt) {
    for (const c of pod.spec.containers) events.push(...containerStartEvents(c, false));
    next.runningAt = f.runningAt;
    next.unready = false;
  }
  if (f.containers && (f.stage === "running" || f.stage === "backoff")) {
    events.push(...ownRunEvents(pod, f.containers, next));
  }
  // Readiness lost to a failing probe (not the wait for a first pass: that has no readyAt).
  const lost = f.stage === "running" && f.unready === true && f.readyAt !== undefined;
  const probe = lost ? failingReadiness(pod) : undefined;
  if (probe && !next.unready) {
    for (let i = 0; i < threshold(probe.readinessProbe); i++) events.push(unhealthyEvent(probe, "Readiness"));
  }
  next.unready = probe !== undefined;
  return { events, mark: next };
}

/**
 * Main containers restarted one by one (the kubelet syncs each on its own): a container's exit
 * (a liveness kill, BackOff while it waits) and its new start, against what `mark` recorded of it
 * (a container not recorded yet counts as started with the pod's run).
 */
function ownRunEvents(
  pod: PodObject,
  runs: readonly ContainerRunFacts[],
  mark: PodEventMark,
): ContainerEvent[] {
  const events: ContainerEvent[] = [];
  const started = (mark.runs ??= []);
  const exited = (mark.exits ??= []);
  runs.forEach((r, i) => {
    const c = pod.spec.containers[i];
    if (!c) return;
    if (r.lastRun && r.lastRun.finishedAt !== exited[i]) {
      if (c.livenessProbe) events.push(...livenessKillEvents(pod, r.lastRun));
      if (r.backoffMs !== undefined) events.push(backOffEvent(c, false, pod));
      exited[i] = r.lastRun.finishedAt;
    }
    const was = started[i] ?? mark.runningAt;
    if (r.runningAt !== was && r.backoffMs === undefined && r.finishedAt === undefined) {
      events.push(...containerStartEvents(c, false));
    }
    started[i] = r.runningAt;
  });
  return events;
}

/** The kubelet kills a deleted pod's running containers: one Killing each (killContainer). */
export function stopEvents(pod: PodObject): ContainerEvent[] {
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
  return [
    ...pod.spec.containers.map((c) => ({ c, init: false })),
    // Sidecars stop after the main containers, the last started first.
    ...sidecars.reverse().map((c) => ({ c, init: true })),
  ].map(({ c, init }) => ({
    container: c.name,
    init,
    type: "Normal" as const,
    reason: "Killing",
    message: `Stopping container ${c.name}`,
  }));
}

/** The healthy status of each condition a kubelet sets, and the event its setter records for it. */
const CONDITION_EVENTS: readonly (readonly [type: string, status: string, reason: string])[] = [
  ["MemoryPressure", "False", "NodeHasSufficientMemory"],
  ["DiskPressure", "False", "NodeHasNoDiskPressure"],
  ["PIDPressure", "False", "NodeHasSufficientPID"],
  ["Ready", "True", "NodeReady"],
];

/**
 * The node status setters' events when the kubelet writes its conditions over ones whose status
 * differs on the server (e.g. `Unknown`, set by the node lifecycle controller after missed
 * heartbeats): one per condition that turns healthy again, in the setters' order.
 */
export function restoredConditionEvents(
  nodeName: string,
  conditions: readonly { readonly type: string; readonly status: string }[],
): NodeEvent[] {
  return CONDITION_EVENTS.filter(
    ([type, status]) => conditions.find((c) => c.type === type)?.status !== status,
  ).map(([, , reason]) => ({ type: "Normal", reason, message: `Node ${nodeName} status is now: ${reason}` }));
}

/**
 * A starting kubelet's events about its node: BirthCry's "Starting kubelet.", the node status
 * setters' first pressure conditions, and the container manager's allocatable enforcement.
 */
export function nodeStartEvents(nodeName: string): NodeEvent[] {
  const status = (reason: string): NodeEvent => ({
    type: "Normal",
    reason,
    message: `Node ${nodeName} status is now: ${reason}`,
  });
  return [
    { type: "Normal", reason: "Starting", message: "Starting kubelet." },
    status("NodeHasSufficientMemory"),
    status("NodeHasNoDiskPressure"),
    status("NodeHasSufficientPID"),
    {
      type: "Normal",
      reason: "NodeAllocatableEnforced",
      message: "Updated Node Allocatable limit across pods",
    },
  ];
}
