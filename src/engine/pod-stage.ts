/*
 * The life of a hollow pod as data: its stages, what each stage shows (phase, sandbox, whether the
 * containers run or have exited), and the transitions between them (what comes next on which
 * event, and when), as pure functions of the pod, its state and the time. The pod lifecycle
 * (pod-lifecycle.ts) runs these transitions; the status writer (pod-status.ts), the logs
 * (container-log.ts) and the kubelet endpoint (kubelet-server.ts) read the stages from here.
 * A new pod behaviour (a probe, a delay, a restart or failure rule) is a stage fact or a
 * transition in this file.
 */
import type { EngineConfig } from "./config.ts";
import { afterExit, containerOutcomes, podOutcome, resetsBackoff, restartDelayMs } from "./container-run.ts";
import { podStopSchedule } from "./container-stop.ts";
import type { PodObject } from "./pod-object.ts";
import { podGate, probeFailures } from "./probes.ts";

/**
 * Where a hollow pod is in its life: `creating` is the kubelet's first report while it sets up
 * the pod sandbox; `sandbox` has the sandbox ready while the containers are being created (with
 * a start-up latency only); `initializing` has the init containers running; `backoff` is between runs of
 * containers that exited and are restarted (CrashLoopBackOff); `succeeded` and `failed` are its
 * ends after the containers exit; `terminated` is the end of a deleted pod.
 */
export type PodStage =
  "creating" | "sandbox" | "initializing" | "running" | "backoff" | "succeeded" | "failed" | "terminated";

/** A pod's stage on its node: `new` until the node has written its first status. */
export type HostedStage = PodStage | "new";

/** What a stage shows, read by the status, the logs and the lifecycle alike. */
export interface StageFacts {
  /** The pod phase its status shows. */
  readonly phase: "Pending" | "Running" | "Succeeded" | "Failed";
  /** The node is still starting the pod: a start (or its retry) goes on from here. */
  readonly starting: boolean;
  /** The pod sandbox, and with it the pod IP, exists. */
  readonly sandbox: boolean;
  /** The init containers run (the main containers wait in PodInitializing). */
  readonly initRunning: boolean;
  /** The main containers run. */
  readonly containersRunning: boolean;
  /** The main containers wait to be restarted after they exited (CrashLoopBackOff). */
  readonly crashLoop: boolean;
  /** The containers' last run has exited: their log is complete until a restart. */
  readonly exited: boolean;
  /** The pod has ended: every container terminated, nothing more happens to it. */
  readonly ended: boolean;
  /** Deleting the pod writes a terminated status first (its containers run or are about to). */
  readonly terminatesOnDelete: boolean;
  /** Why a main container's log is not there yet, while the pod starts (as the kubelet answers). */
  readonly logWaitingReason: "ContainerCreating" | "PodInitializing" | undefined;
}

const starting = {
  starting: true,
  initRunning: false,
  containersRunning: false,
  crashLoop: false,
  exited: false,
  ended: false,
} as const;
const ended = {
  starting: false,
  sandbox: true,
  initRunning: false,
  containersRunning: false,
  crashLoop: false,
  exited: true,
  ended: true,
  terminatesOnDelete: false,
  logWaitingReason: undefined,
} as const;

/** Every stage and what it shows. */
export const STAGES: Readonly<Record<HostedStage, StageFacts>> = {
  new: {
    ...starting,
    phase: "Pending",
    sandbox: false,
    terminatesOnDelete: false,
    logWaitingReason: "ContainerCreating",
  },
  creating: {
    ...starting,
    phase: "Pending",
    sandbox: false,
    terminatesOnDelete: true,
    logWaitingReason: "ContainerCreating",
  },
  // The sandbox is ready (PodReadyToStartContainers), the containers not created yet: the
  // kubelet shows no pod IP until they run (as upstream kubemark's statuses do).
  sandbox: {
    ...starting,
    phase: "Pending",
    sandbox: true,
    terminatesOnDelete: true,
    logWaitingReason: "ContainerCreating",
  },
  initializing: {
    ...starting,
    phase: "Pending",
    sandbox: true,
    initRunning: true,
    terminatesOnDelete: true,
    logWaitingReason: "PodInitializing",
  },
  running: {
    phase: "Running",
    starting: false,
    sandbox: true,
    initRunning: false,
    containersRunning: true,
    crashLoop: false,
    exited: false,
    ended: false,
    terminatesOnDelete: true,
    logWaitingReason: undefined,
  },
  backoff: {
    phase: "Running",
    starting: false,
    sandbox: true,
    initRunning: false,
    containersRunning: false,
    crashLoop: true,
    exited: true,
    ended: false,
    terminatesOnDelete: true,
    logWaitingReason: undefined,
  },
  succeeded: { ...ended, phase: "Succeeded" },
  failed: { ...ended, phase: "Failed" },
  // A deleted pod's containers were stopped: Succeeded, as the kubelet reports it.
  terminated: { ...ended, phase: "Succeeded" },
};

/** The stage of a pod whose node is gone or replaced (its containers were stopped). */
export const GONE_STAGE: PodStage = "terminated";

// ---------------------------------------------------------------- transitions

/**
 * The stage of a pod first seen with a status (an engine restart adopting it): a pod that ended
 * (Succeeded, Failed) stays ended; a Running one with an IP is adopted as it runs; else `new`.
 */
export function adoptedStage(phase: string | undefined, podIP: string | undefined): HostedStage {
  if (phase === "Succeeded") return "succeeded";
  if (phase === "Failed") return "failed";
  return podIP && phase === "Running" ? "running" : "new";
}

/**
 * The statuses a starting pod is reported with before its containers run: with kubelet traffic
 * the kubelet's first report (`creating`), the sandbox ready (`sandbox`, when the sandbox takes
 * time: `sandboxMs` > 0), then `initializing` when it has init containers; minimal traffic writes
 * none (the pod goes to `running` in one PATCH).
 */
export function setupStages(pod: PodObject, kubeletTraffic: boolean, sandboxMs = 0): PodStage[] {
  if (!kubeletTraffic) return [];
  const stages: PodStage[] = sandboxMs > 0 ? ["creating", "sandbox"] : ["creating"];
  if ((pod.spec.initContainers ?? []).length > 0) stages.push("initializing");
  return stages;
}

/**
 * When the pod's sandbox is ready (epoch ms): `sandboxMs` after the pod was seen, or, for a pod
 * that waited for its volumes (the kubelet creates the sandbox once they are mounted), after
 * `volumesAt`, when they were.
 */
export function sandboxReadyAt(seenAt: number, volumesAt: number | undefined, sandboxMs: number): number {
  return (volumesAt ?? seenAt) + sandboxMs;
}

/**
 * The earliest time (epoch ms) a starting pod reaches `step`: its first report at once, the
 * sandbox when it is ready, the containers (init containers, or the main ones: `running`)
 * `containersMs` later (at once when the sandbox takes no time: no start-up latency).
 */
export function startStepDue(
  step: PodStage,
  sandboxAt: number,
  sandboxMs: number,
  containersMs: number,
): number {
  if (step === "creating") return -Infinity;
  if (step === "sandbox") return sandboxAt;
  return sandboxAt + (sandboxMs > 0 ? containersMs : 0);
}

/** What follows a failing init container's exit. */
export type InitExitStep =
  /** restartPolicy Never: the pod fails in init. */
  | { readonly stage: "failed" }
  /** The init container restarts after `delayMs` (0: at once; else in CrashLoopBackOff meanwhile). */
  | { readonly stage: "initializing"; readonly delayMs: number };

/** The `fails`-th failed run (1-based) of an init container ended: the kubelet's next step. */
export function initExitStep(restartPolicy: string | undefined, fails: number): InitExitStep {
  if (restartPolicy === "Never") return { stage: "failed" };
  return { stage: "initializing", delayMs: restartDelayMs(fails) };
}

/** After a restart: whether the init container's run fails again (`fails` of `times` so far). */
export function initFailsAgain(fails: number, times: number): boolean {
  return fails < times;
}

/**
 * When the probes let a running pod be started and ready, and when they take readiness away (ms
 * after the containers started running): the startup and readiness probes' first passes
 * ({@link podGate}), a readiness probe made to fail (`unreadyAtMs`) or flap, a liveness probe made
 * to fail (`killAtMs`: the kubelet kills the container).
 */
export interface RunningPlan {
  /** Running, but not started / not ready yet when it enters `running`. */
  readonly notStarted: boolean;
  readonly unready: boolean;
  /** The startup probe passes before readiness does: a status for that alone. */
  readonly startedAtMs: number | undefined;
  /** The readiness probe first passes. */
  readonly readyAtMs: number | undefined;
  /** The readiness probe has failed its threshold: no longer ready. */
  readonly unreadyAtMs: number | undefined;
  /** Readiness flapping: first lost at `firstMs`, then toggled every `periodMs`. */
  readonly flap: { readonly firstMs: number; readonly periodMs: number } | undefined;
  /** The liveness probe has failed its threshold: the container is killed. */
  readonly killAtMs: number | undefined;
}

/** The {@link RunningPlan} of a pod's run (the same for every run of its containers). */
export function runningPlan(pod: PodObject): RunningPlan {
  const gate = podGate(pod.spec.containers);
  const notStarted = gate.startedAfterMs > 0;
  const unready = gate.readyAfterMs > 0;
  const fail = probeFailures(pod);
  return {
    notStarted,
    unready,
    startedAtMs: notStarted && gate.startedAfterMs < gate.readyAfterMs ? gate.startedAfterMs : undefined,
    readyAtMs: unready ? gate.readyAfterMs : undefined,
    unreadyAtMs:
      fail.unreadyAfterMs !== undefined ? Math.max(gate.readyAfterMs, fail.unreadyAfterMs) : undefined,
    flap:
      fail.unreadyAfterMs === undefined && fail.flapPeriodMs !== undefined
        ? { firstMs: gate.readyAfterMs + fail.flapPeriodMs, periodMs: fail.flapPeriodMs }
        : undefined,
    killAtMs: fail.killAfterMs,
  };
}

/**
 * When (ms after they started running) the containers exit on their own and how
 * ({@link podOutcome}: annotation, image and command, fleet default), a failing liveness probe
 * killing them first with SIGKILL's exit code; undefined = they run until deleted.
 */
export function containerExit(
  pod: PodObject,
  cfg: Pick<EngineConfig, "jobRunMs">,
  killAtMs: number | undefined,
): { readonly afterMs: number; readonly exitCode: number } | undefined {
  const out = podOutcome(pod, cfg);
  if (killAtMs !== undefined && (out.afterMs === null || killAtMs < out.afterMs))
    return { afterMs: killAtMs, exitCode: 137 };
  return out.afterMs === null ? undefined : { afterMs: out.afterMs, exitCode: out.exitCode };
}

/**
 * Each main container's own exit (ms after it started running; undefined: it runs until deleted)
 * when the pod's containers do not all run alike ({@link containerOutcomes}): the kubelet then
 * restarts and reports each on its own, a failing liveness probe killing each first. Undefined
 * when they run together ({@link containerExit}).
 */
export function perContainerExits(
  pod: PodObject,
  cfg: Pick<EngineConfig, "jobRunMs">,
  killAtMs: number | undefined,
): ({ readonly afterMs: number; readonly exitCode: number } | undefined)[] | undefined {
  const outs = containerOutcomes(pod, cfg);
  if (outs === undefined) return undefined;
  return outs.map((out) => {
    if (killAtMs !== undefined && (out.afterMs === null || killAtMs < out.afterMs))
      return { afterMs: killAtMs, exitCode: 137 };
    return out.afterMs === null ? undefined : { afterMs: out.afterMs, exitCode: out.exitCode };
  });
}

/**
 * A pod whose containers run each on their own, after one ended for good (its restartPolicy
 * restarts it no more): `exitCodes` has each main container's exit code once it has ended. The
 * pod ends when every main container has, Failed when one failed (the kubelet's pod phase),
 * else Succeeded; undefined while one still runs or restarts.
 */
export function podEndStage(exitCodes: readonly (number | undefined)[]): "succeeded" | "failed" | undefined {
  if (exitCodes.some((c) => c === undefined)) return undefined;
  return exitCodes.some((c) => c !== 0) ? "failed" : "succeeded";
}

/** What follows the containers' exit. */
export type ExitStep =
  /** The pod ends (restartPolicy Never, or OnFailure with exit 0). */
  | { readonly stage: "succeeded" | "failed" }
  /**
   * The containers restart, `exits` being the exits in the current back-off streak: at once
   * (`delayMs` 0), else after `delayMs` in `backoff` (CrashLoopBackOff).
   */
  | { readonly stage: "backoff"; readonly exits: number; readonly delayMs: number };

/**
 * The containers exited with `exitCode` after running `ranMs`, the `exits`-th exit of the
 * current streak before this one: the kubelet's restartPolicy decides (the back-off: at once,
 * then 10 s doubling to 5 min; a run longer than 10 min starts a new streak).
 */
export function containerExitStep(
  restartPolicy: string | undefined,
  exitCode: number,
  ranMs: number,
  exits: number,
): ExitStep {
  const next = afterExit(restartPolicy, exitCode);
  if (next !== "restart") return { stage: next === "succeed" ? "succeeded" : "failed" };
  const streak = resetsBackoff(ranMs) ? 1 : exits + 1;
  return { stage: "backoff", exits: streak, delayMs: restartDelayMs(streak) };
}

/**
 * Whether a deleted pod gets a status of its own before its containers are killed: the kubelet's
 * SyncTerminatingPod sets the pod's status as it is first, and its status manager writes it when
 * it differs from the last written, which it does when the pod's generation moved on (the API
 * server bumps it on graceful deletion; `status.observedGeneration` and each condition's follow
 * it). Only pods whose containers are yet to be stopped (an ended pod is not synced again), and
 * only where statuses carry observedGeneration (the pod has a generation, as their rendering).
 */
export function generationUnobserved(
  stage: HostedStage,
  generation: number | undefined,
  observed: number | undefined,
): boolean {
  if (stage === "new" || !STAGES[stage].terminatesOnDelete) return false;
  return generation !== undefined && observed !== undefined && generation > observed;
}

/** How a deleted pod's containers stop: how long it takes, and their exit code when they ran. */
export interface StopPlan {
  readonly stopMs: number;
  readonly exitCode: number | undefined;
}

/**
 * The kubelet kills a deleted pod's containers ({@link podStopSchedule}: preStop hooks within
 * the grace period, SIGTERM, the main containers before the sidecars, SIGKILL when a container's
 * window ends), the grace period being the deletion's, else the spec's, else 30 s; only running
 * containers take time. A main container killed with SIGKILL exits 137; a prompt stop exits 0.
 */
export function stopPlan(stage: HostedStage, pod: PodObject): StopPlan {
  if (!STAGES[stage].containersRunning) return { stopMs: 0, exitCode: undefined };
  const graceMs =
    (pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
  const stops = podStopSchedule(pod, graceMs);
  return {
    stopMs: Math.max(0, ...stops.map((s) => s.atMs)),
    exitCode: stops.some((s) => s.killed && !s.sidecar) ? 137 : 0,
  };
}

/** How often the kubelet's WaitForUnmount checks a terminated pod's volumes (`podAttachAndMountRetryInterval`). */
export const UNMOUNT_POLL_MS = 300;

/**
 * When (epoch ms) the kubelet's SyncTerminatedPod finds a pod's volumes unmounted and calls
 * TerminatePod, which lets the status manager delete the pod: WaitForUnmount checks when the
 * containers have stopped (`stoppedAt`) and every {@link UNMOUNT_POLL_MS} after, and the volume
 * manager unmounts the volumes in its loops in the meantime, so a pod with volumes is seen
 * unmounted at the first check after `unmountedAt` (the first but one at the earliest), a pod
 * without at once.
 */
export function unmountSeenAt(stoppedAt: number, unmountedAt: number, hasVolumes: boolean): number {
  if (!hasVolumes) return stoppedAt;
  const polls = Math.max(1, Math.ceil((unmountedAt - stoppedAt) / UNMOUNT_POLL_MS));
  return stoppedAt + polls * UNMOUNT_POLL_MS;
}
