/*
 * How a hollow container stops when the kubelet kills it (its preStop hook, SIGTERM, SIGKILL when
 * its window ends) and in which order a deleted pod's containers stop: pure functions of the pod
 * spec, its annotations and the grace period, as the kubelet's killContainer and termination
 * order (kuberuntime_container.go, kuberuntime_termination_order.go) do it.
 */
import { SHELLS, basename, commandOutcome } from "./container-run.ts";

/** Annotation: the pod's containers take that many seconds to stop after SIGTERM (capped by the grace period). */
export const STOP_SECONDS_ANNOTATION = "kubemark-cluster.io/stop-seconds";

/**
 * How a container stops when the kubelet kills it: its preStop hook's time (an exec `sleep N`
 * hook takes N s; other hooks return at once), then after SIGTERM at once, or never (`null`: it
 * ignores SIGTERM and is killed when the grace period ends). A `sleep` or a shell script as the
 * container's process is PID 1 without a signal handler, which ignores SIGTERM; the `pause`
 * image handles it; other images are taken to stop promptly, as most servers do.
 */
export interface StopModel {
  readonly preStopMs: number;
  readonly ignoresTerm: boolean;
}

/** Stops at once on SIGTERM, no hook. */
export const STOPS_PROMPTLY: StopModel = { preStopMs: 0, ignoresTerm: false };

/** The {@link StopModel} of a container from its command and preStop hook. */
export function stopModel(c: {
  command?: readonly string[] | undefined;
  args?: readonly string[] | undefined;
  lifecycle?: { preStop?: { exec?: { command?: readonly string[] } } } | undefined;
}): StopModel {
  const hook = c.lifecycle?.preStop?.exec?.command;
  const hookRun = hook ? commandOutcome({ command: hook }) : undefined;
  // A hook that never returns runs until the grace period ends.
  const preStopMs = hookRun === undefined ? 0 : (hookRun.afterMs ?? Infinity);
  const argv0 = [...(c.command ?? []), ...(c.args ?? [])][0];
  const name = argv0 === undefined ? "" : basename(argv0);
  const ignoresTerm = name === "sleep" || SHELLS.has(name);
  if (preStopMs === 0 && !ignoresTerm) return STOPS_PROMPTLY;
  return { preStopMs, ignoresTerm };
}

/** The kubelet's minimal shutdown window after SIGTERM (`minimumGracePeriodInSeconds`). */
export const MIN_STOP_WINDOW_MS = 2_000;

/** When one container of a deleted pod has stopped (ms after the kubelet began killing the pod). */
export interface ContainerStop {
  readonly name: string;
  readonly atMs: number;
  /** It ignored SIGTERM and was killed when its window ended (exit code 137). */
  readonly killed: boolean;
  readonly sidecar: boolean;
}

type Stoppable = { name: string; restartPolicy?: string | undefined; stop?: StopModel | undefined };

/**
 * How the kubelet kills a running pod's containers (killContainer, with the termination order of
 * kuberuntime_termination_order.go), within grace period `graceMs`. Every container runs its
 * preStop hook first, at most for the grace period, and the hook's time counts against it; the
 * main containers then get SIGTERM at once, the sidecars (restartable init containers) only once
 * every main container and every later sidecar has stopped (in reverse order), waiting at most
 * for what is left of the grace period. The time left after SIGTERM is at least 2 s (the kubelet's
 * minimal shutdown window); a container that ignores SIGTERM uses all of it and is killed, others
 * stop at once. The stop-seconds annotation sets how long the main containers take instead
 * (capped by the grace period). A grace period of 0 (a forced deletion) stops everything at once.
 */
export function podStopSchedule(
  pod: {
    metadata: { annotations?: Record<string, string> };
    spec: { containers: readonly Stoppable[]; initContainers?: readonly Stoppable[] | undefined };
  },
  graceMs: number,
): ContainerStop[] {
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
  if (graceMs <= 0)
    return [
      ...pod.spec.containers.map((c) => ({ name: c.name, atMs: 0, killed: false, sidecar: false })),
      ...sidecars.map((c) => ({ name: c.name, atMs: 0, killed: false, sidecar: true })),
    ];
  const annotated = Number(pod.metadata.annotations?.[STOP_SECONDS_ANNOTATION] ?? NaN);
  const override = Number.isFinite(annotated) && annotated >= 0 ? annotated * 1000 : undefined;
  /** One container's stop, once its turn comes at `turnAtMs` (0: no wait). */
  const stopOf = (c: Stoppable, turnAtMs: number, sidecar: boolean): ContainerStop => {
    const s = c.stop ?? STOPS_PROMPTLY;
    const hookMs = Math.min(s.preStopMs, graceMs);
    let leftMs = graceMs - hookMs;
    const waitMs = Math.min(leftMs, Math.max(0, turnAtMs - hookMs));
    leftMs -= waitMs;
    const windowMs = Math.max(leftMs, MIN_STOP_WINDOW_MS);
    const signalledAt = hookMs + waitMs;
    return {
      name: c.name,
      atMs: signalledAt + (s.ignoresTerm ? windowMs : 0),
      killed: s.ignoresTerm,
      sidecar,
    };
  };
  const stops = pod.spec.containers.map((c) =>
    override === undefined
      ? stopOf(c, 0, false)
      : { name: c.name, atMs: Math.min(graceMs, override), killed: override >= graceMs, sidecar: false },
  );
  let turnAtMs = Math.max(0, ...stops.map((s) => s.atMs));
  for (const c of [...sidecars].reverse()) {
    const stop = stopOf(c, turnAtMs, true);
    stops.push(stop);
    turnAtMs = Math.max(turnAtMs, stop.atMs);
  }
  return stops;
}
