import { test } from "node:test";
import assert from "node:assert/strict";
import {
  pendingCondition,
  podRequests,
  quantityValue,
  resizeConditions,
  resizeDecision,
  resizeDeletes,
} from "./pod-resize.ts";

test("quantityValue: CPU in millicores and memory in bytes, rounded up as the kubelet reads them", () => {
  const rows: [string | undefined, number, number][] = [
    ["500m", 1000, 500],
    ["2", 1000, 2000],
    ["0.1", 1000, 100],
    ["1.5m", 1000, 2],
    ["16Gi", 1, 17179869184],
    ["4026531840", 1, 4026531840],
    ["1e3", 1, 1000],
    ["128M", 1, 128000000],
    [undefined, 1000, 0],
    ["lots", 1, 0],
  ];
  for (const [q, scale, want] of rows) assert.equal(quantityValue(q, scale), want, `${q}`);
  assert.deepEqual(
    podRequests([{ requests: { cpu: "250m", memory: "64Mi" } }, undefined, { limits: { cpu: "1" } }]),
    { cpuMilli: 250, memory: 67108864 },
  );
});

test("resizeDecision: Infeasible beyond allocatable (memory named first), Deferred beyond what is free (CPU first), else it fits", () => {
  const node = { cpuMilli: 4000, memory: 4294967296 };
  const none = { cpuMilli: 0, memory: 0 };
  const rows: [{ cpuMilli: number; memory: number }, { cpuMilli: number; memory: number }, string][] = [
    [{ cpuMilli: 1000, memory: 1 }, none, "fit"],
    [
      { cpuMilli: 5000, memory: 1 },
      none,
      "Infeasible Node didn't have enough capacity: cpu, requested: 5000, capacity: 4000",
    ],
    [
      { cpuMilli: 5000, memory: 4718592000 },
      none,
      "Infeasible Node didn't have enough capacity: memory, requested: 4718592000, capacity: 4294967296",
    ],
    [
      { cpuMilli: 3000, memory: 1 },
      { cpuMilli: 1500, memory: 0 },
      "Deferred Node didn't have enough resource: cpu, requested: 3000, used: 1500, capacity: 4000",
    ],
    [
      { cpuMilli: 100, memory: 3000000000 },
      { cpuMilli: 0, memory: 2000000000 },
      "Deferred Node didn't have enough resource: memory, requested: 3000000000, used: 2000000000, capacity: 4294967296",
    ],
  ];
  for (const [desired, used, want] of rows) {
    const d = resizeDecision(desired, node, used);
    assert.equal(d.fit ? "fit" : `${d.reason} ${d.message}`, want);
  }
});

test("resize conditions: True with reason and message, the transition kept while the reason is; deletes once cleared or ended", () => {
  const first = pendingCondition(undefined, { reason: "Deferred", message: "m1" }, "T1", 2);
  const again = pendingCondition(first, { reason: "Deferred", message: "m2" }, "T2", 3);
  const other = pendingCondition(again, { reason: "Infeasible", message: "m3" }, "T3", 4);
  assert.deepEqual([again.since, again.probedAt, other.since], ["T1", "T2", "T3"]);
  const rs = { allocated: [], actual: [], pending: again, inProgress: undefined };
  assert.deepEqual(resizeConditions(rs), [
    {
      type: "PodResizePending",
      status: "True",
      reason: "Deferred",
      message: "m2",
      lastProbeTime: "T2",
      lastTransitionTime: "T1",
      observedGeneration: 3,
    },
  ]);
  assert.deepEqual(resizeConditions(undefined), []);
  assert.deepEqual(resizeDeletes(rs, false), []);
  assert.deepEqual(resizeDeletes(rs, true), [{ type: "PodResizePending", $patch: "delete" }]);
  assert.deepEqual(resizeDeletes({ ...rs, pending: undefined, cleared: ["PodResizeInProgress"] }, false), [
    { type: "PodResizeInProgress", $patch: "delete" },
  ]);
});
