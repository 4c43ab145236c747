import { test } from "node:test";
import assert from "node:assert/strict";
import { NO_GATE, podGate, probeGate, type ProbeGate } from "./probes.ts";

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
