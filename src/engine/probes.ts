/*
 * When the kubelet reports a hollow container started and ready, from its startup and readiness
 * probes: pure functions of the probe specs. Probes pass on hollow nodes (there is no process to
 * fail them); what they change is when, as on a kubelet.
 */

/** The fields of a probe that decide its timing (seconds, as in the pod spec). */
export interface ProbeTiming {
  initialDelaySeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
}

/** When, after the container starts, the kubelet reports it `started` and `ready` (ms). */
export interface ProbeGate {
  readonly startedAfterMs: number;
  readonly readyAfterMs: number;
}

/** A container without probes: started and ready as soon as it runs. */
export const NO_GATE: ProbeGate = { startedAfterMs: 0, readyAfterMs: 0 };

const positive = (n: number | undefined, fallback: number): number =>
  n !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;

/**
 * The first probe tick (ticks at 0, P, 2P ... seconds after the container starts, as the
 * kubelet's probe worker runs) at or after `notBeforeS`, then `successThreshold - 1` more ticks.
 */
function passesAtS(p: ProbeTiming, notBeforeS: number): number {
  const period = positive(p.periodSeconds, 10);
  const first = Math.ceil(Math.max(notBeforeS, Math.max(0, p.initialDelaySeconds ?? 0)) / period) * period;
  return first + (positive(p.successThreshold, 1) - 1) * period;
}

/**
 * The kubelet's probe timing for one container: the startup probe passes at its first tick past
 * its initial delay (the container is `started` then); the readiness probe runs only once the
 * container has started, and passes after `successThreshold` ticks past its initial delay (the
 * container is `ready` then). Without a readiness probe a container is ready once started.
 */
export function probeGate(c: { startupProbe?: ProbeTiming; readinessProbe?: ProbeTiming }): ProbeGate {
  if (!c.startupProbe && !c.readinessProbe) return NO_GATE;
  const startedS = c.startupProbe ? passesAtS(c.startupProbe, 0) : 0;
  const readyS = c.readinessProbe ? passesAtS(c.readinessProbe, startedS) : startedS;
  return { startedAfterMs: startedS * 1000, readyAfterMs: readyS * 1000 };
}

/** The pod's gate: it is started when all its containers are, ready when all are. */
export function podGate(containers: readonly { gate?: ProbeGate | undefined }[]): ProbeGate {
  let startedAfterMs = 0;
  let readyAfterMs = 0;
  for (const c of containers) {
    const g = c.gate ?? NO_GATE;
    startedAfterMs = Math.max(startedAfterMs, g.startedAfterMs);
    readyAfterMs = Math.max(readyAfterMs, g.readyAfterMs);
  }
  return startedAfterMs === 0 && readyAfterMs === 0 ? NO_GATE : { startedAfterMs, readyAfterMs };
}

/** Annotation: the pod's probes start failing after that many seconds of running. */
export const PROBE_FAIL_AFTER_ANNOTATION = "kubemark-cluster.io/probe-fail-after";
/** Annotation: the readiness probe alternates, passing and failing for that many seconds each. */
export const PROBE_FLAP_PERIOD_ANNOTATION = "kubemark-cluster.io/probe-flap-period";

/** The probe fields that decide when failures take effect. */
export interface FailingProbeTiming extends ProbeTiming {
  failureThreshold?: number;
}

/**
 * The first probe tick at or after `fromS` (ticks at 0, P, 2P ... from the container's start)
 * plus `failureThreshold - 1` more: when the kubelet acts on a probe that fails from `fromS` on.
 */
export function failsAtS(p: FailingProbeTiming, fromS: number): number {
  const period = positive(p.periodSeconds, 10);
  const first = Math.ceil(Math.max(fromS, Math.max(0, p.initialDelaySeconds ?? 0)) / period) * period;
  return first + (positive(p.failureThreshold, 3) - 1) * period;
}

/** What the failure annotations make of a pod's probes (ms after the containers start). */
export interface ProbeFailures {
  /** When the readiness probe has failed failureThreshold times: the pod is no longer ready. */
  readonly unreadyAfterMs?: number;
  /** When the liveness probe has failed failureThreshold times: the kubelet kills the container. */
  readonly killAfterMs?: number;
  /** Readiness flapping: ready and unready in turn for this long each. */
  readonly flapPeriodMs?: number;
}

const seconds = (v: string | undefined): number | undefined => {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
};

/**
 * The failure model of the pod's probes, from its annotations: `probe-fail-after: S` makes its
 * readiness and liveness probes fail from S seconds after the start (the pod leaves its Services'
 * endpoints; a liveness probe kills the container, which restarts per restartPolicy);
 * `probe-flap-period: S` makes readiness alternate every S seconds (endpoint churn on purpose).
 * Probes are taken from the first main container that has one.
 */
export function probeFailures(pod: {
  metadata: { annotations?: Record<string, string> };
  spec: {
    containers: readonly { readinessProbe?: FailingProbeTiming; livenessProbe?: FailingProbeTiming }[];
  };
}): ProbeFailures {
  const a = pod.metadata.annotations;
  const failAfter = seconds(a?.[PROBE_FAIL_AFTER_ANNOTATION]);
  const flap = seconds(a?.[PROBE_FLAP_PERIOD_ANNOTATION]);
  if (failAfter === undefined && flap === undefined) return {};
  const readiness = pod.spec.containers.find((c) => c.readinessProbe)?.readinessProbe;
  const liveness = pod.spec.containers.find((c) => c.livenessProbe)?.livenessProbe;
  return {
    ...(failAfter !== undefined && readiness
      ? { unreadyAfterMs: failsAtS(readiness, failAfter) * 1000 }
      : {}),
    ...(failAfter !== undefined && liveness ? { killAfterMs: failsAtS(liveness, failAfter) * 1000 } : {}),
    ...(flap !== undefined && readiness ? { flapPeriodMs: flap * 1000 } : {}),
  };
}
