import { test } from "node:test";
import assert from "node:assert/strict";
import { healthyConditions } from "./node-object.ts";
import { statusDrift, statusReportDue, type ObservedNodeStatus, type StatusDrift } from "./node-status.ts";

const healthy = healthyConditions("2026-11-30T10:00:10Z", "2026-11-30T10:00:00Z");
/** The healthy conditions with `type`'s fields replaced. */
const edit = (type: string, over: Record<string, string>): ObservedNodeStatus => ({
  conditions: healthy.map((c) => (c.type === type ? { ...c, ...over } : c)),
});
/** What the node lifecycle controller writes when a node's heartbeats stop. */
const unknown: ObservedNodeStatus = {
  conditions: healthy.map((c) => ({
    ...c,
    status: "Unknown",
    reason: "NodeStatusUnknown",
    message: "Kubelet stopped posting node status.",
  })),
};

test("statusDrift: the server's conditions compared with a healthy kubelet's", () => {
  const cases: Array<[string, ObservedNodeStatus | undefined, StatusDrift]> = [
    ["as reported", { conditions: healthy }, "none"],
    [
      "only heartbeat and transition times differ",
      edit("Ready", { lastHeartbeatTime: "x", lastTransitionTime: "y" }),
      "none",
    ],
    ["conditions in another order", { conditions: [...healthy].reverse() }, "none"],
    [
      "another owner's condition besides",
      { conditions: [...healthy, { type: "KernelDeadlock", status: "True" }] },
      "none",
    ],
    ["no status known", undefined, "none"],
    ["a status without conditions field", {}, "none"],
    ["the node lifecycle controller's Unknown", unknown, "transition"],
    ["Ready=False", edit("Ready", { status: "False" }), "transition"],
    ["MemoryPressure=True", edit("MemoryPressure", { status: "True" }), "transition"],
    ["a condition missing", { conditions: healthy.filter((c) => c.type !== "PIDPressure") }, "transition"],
    ["no conditions at all", { conditions: [] }, "transition"],
    ["a reason edited", edit("Ready", { reason: "Other" }), "changed"],
    ["a message edited", edit("DiskPressure", { message: "?" }), "changed"],
  ];
  for (const [name, observed, want] of cases) assert.equal(statusDrift(observed), want, name);
});

test("statusReportDue: on drift, on the node's own change, or after the report interval", () => {
  const base = {
    now: 100_000,
    lastReportAt: 0,
    reportEveryMs: 300_000,
    drift: "none" as StatusDrift,
    ownChange: false,
  };
  assert.equal(statusReportDue(base), false, "unchanged and reported recently");
  assert.equal(statusReportDue({ ...base, drift: "changed" }), true);
  assert.equal(statusReportDue({ ...base, drift: "transition" }), true);
  assert.equal(statusReportDue({ ...base, ownChange: true }), true);
  assert.equal(statusReportDue({ ...base, now: 300_000 }), true, "nodeStatusReportFrequency passed");
  assert.equal(statusReportDue({ ...base, now: 299_999 }), false);
});
