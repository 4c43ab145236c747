import { test } from "node:test";
import assert from "node:assert/strict";
import { NO_GATE, failsAtS, podGate, probeFailures, probeGate, type ProbeGate } from "./probes.ts";

test("probeGate: when the kubelet reports a container started and ready", () => {
  const cases: Array<[string, Parameters<typeof probeGate>[0], ProbeGate]> = [
    ["no probes", {}, NO_GATE],
    [
      "readiness, no delay: the first tick at start",
      { readinessProbe: {} },
      { startedAfterMs: 0, readyAfterMs: 0 },
    ],
    [
      "readiness initialDelay 5 s, period 1 s",
      { readinessProbe: { initialDelaySeconds: 5, periodSeconds: 1 } },
      { startedAfterMs: 0, readyAfterMs: 5_000 },
    ],
    [
      "readiness initialDelay 5 s, default period 10 s: the first tick past the delay",
      { readinessProbe: { initialDelaySeconds: 5 } },
      { startedAfterMs: 0, readyAfterMs: 10_000 },
    ],
    [
      "successThreshold 3, period 2 s",
      { readinessProbe: { initialDelaySeconds: 4, periodSeconds: 2, successThreshold: 3 } },
      { startedAfterMs: 0, readyAfterMs: 8_000 },
    ],
    [
      "startup probe only: ready once started",
      { startupProbe: { initialDelaySeconds: 3, periodSeconds: 2 } },
      { startedAfterMs: 4_000, readyAfterMs: 4_000 },
    ],
    [
      "readiness waits for the startup probe",
      { startupProbe: { initialDelaySeconds: 6, periodSeconds: 3 }, readinessProbe: { periodSeconds: 4 } },
      { startedAfterMs: 6_000, readyAfterMs: 8_000 },
    ],
    [
      "bad numbers fall back to the defaults",
      { readinessProbe: { initialDelaySeconds: -3, periodSeconds: 0, successThreshold: 0 } },
      { startedAfterMs: 0, readyAfterMs: 0 },
    ],
  ];
  for (const [name, c, want] of cases) assert.deepEqual(probeGate(c), want, name);
});

test("podGate: the slowest container decides", () => {
  assert.equal(podGate([{}, {}]), NO_GATE);
  assert.deepEqual(
    podGate([
      { gate: { startedAfterMs: 0, readyAfterMs: 5_000 } },
      { gate: { startedAfterMs: 2_000, readyAfterMs: 2_000 } },
    ]),
    { startedAfterMs: 2_000, readyAfterMs: 5_000 },
  );
});

test("probeFailures: probe-fail-after and probe-flap-period, at the probes' ticks and thresholds", () => {
  const pod = (annotations: Record<string, string>, c: Record<string, unknown>) => ({
    metadata: { annotations },
    spec: { containers: [c] },
  });
  const readiness = { readinessProbe: { periodSeconds: 5, failureThreshold: 3 } };
  const liveness = { livenessProbe: { periodSeconds: 10, initialDelaySeconds: 15 } };
  assert.deepEqual(probeFailures(pod({}, readiness)), {}, "no annotation: probes pass");
  assert.deepEqual(
    probeFailures(pod({ "kubemark-cluster.io/probe-fail-after": "12" }, readiness)),
    { unreadyAfterMs: 25_000 },
    "the first tick past 12 s is 15 s, then two more failures",
  );
  assert.deepEqual(
    probeFailures(pod({ "kubemark-cluster.io/probe-fail-after": "5" }, { ...readiness, ...liveness })),
    { unreadyAfterMs: 15_000, killAfterMs: 40_000 },
    "liveness: no tick before its delay (20 s), three failures",
  );
  assert.deepEqual(probeFailures(pod({ "kubemark-cluster.io/probe-flap-period": "20" }, readiness)), {
    flapPeriodMs: 20_000,
  });
  assert.deepEqual(
    probeFailures(pod({ "kubemark-cluster.io/probe-fail-after": "5" }, {})),
    {},
    "without probes nothing fails",
  );
  assert.equal(failsAtS({}, 0), 20, "defaults: period 10 s, failureThreshold 3");
});
