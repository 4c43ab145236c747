import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultEngineConfig } from "./config.ts";
import { isDue, jittered, lateness, renewIntervalMs } from "./heartbeat-schedule.ts";

test("jittered: stretches a period by up to the jitter", () => {
  const rows: [number, number, number, number][] = [
    [10_000, 0.04, 0, 10_000],
    [10_000, 0.04, 0.5, 10_200],
    [10_000, 0.04, 0.999, 10_399.6],
    [10_000, 0, 0.7, 10_000],
  ];
  for (const [ms, jitter, r, want] of rows)
    assert.equal(jittered(ms, jitter, r), want, `${ms} ${jitter} ${r}`);
});

test("renewIntervalMs: a quarter of the lease duration, jittered", () => {
  const cfg = defaultEngineConfig(["n"], { leaseDurationSeconds: 40, jitter: 0.04 });
  assert.equal(renewIntervalMs(cfg, 0), 10_000);
  assert.equal(renewIntervalMs(cfg, 0.5), 10_200);
  assert.equal(renewIntervalMs({ leaseDurationSeconds: 100, jitter: 0 }, 0.9), 25_000);
});

test("isDue and lateness", () => {
  const rows: [number, number, boolean, number][] = [
    [1_000, 2_000, false, 0],
    [2_000, 2_000, true, 0],
    [2_350, 2_000, true, 350],
  ];
  for (const [now, dueAt, due, late] of rows) {
    assert.equal(isDue(now, dueAt), due, `${now} ${dueAt}`);
    assert.equal(lateness(now, dueAt), late, `${now} ${dueAt}`);
  }
});
