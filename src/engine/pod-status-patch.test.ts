import { test } from "node:test";
import assert from "node:assert/strict";
import { statusPatchBody } from "./pod-status-patch.ts";
import { statusUnchanged } from "./status-manager.ts";

/** The server's strategic merge of a status patch's conditions (by type; null deletes a field). */
function mergeConditions(server: Record<string, unknown>[], patch: Record<string, unknown>[]) {
  return patch.map((p) => {
    const merged: Record<string, unknown> = { ...server.find((s) => s["type"] === p["type"]), ...p };
    for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k];
    return merged;
  });
}

test("a condition that turned True loses the reason and message it had while False (real kubelet: none)", () => {
  const before = [
    {
      type: "Ready",
      status: "False",
      reason: "ContainersNotReady",
      message: "containers with unready status: [app]",
    },
  ];
  const now = { phase: "Running", conditions: [{ type: "Ready", status: "True", lastProbeTime: null }] };
  const body = statusPatchBody(now);
  assert.deepEqual(mergeConditions(before, body["conditions"] as Record<string, unknown>[]), [
    { type: "Ready", status: "True" },
  ]);
  // Without the clearing the server would keep them (what the end-to-end diff found).
  assert.deepEqual(mergeConditions(before, now.conditions), [
    {
      type: "Ready",
      status: "True",
      reason: "ContainersNotReady",
      message: "containers with unready status: [app]",
    },
  ]);
  // The status it writes is unchanged: the same on the server, and once written, nothing to write.
  assert.deepEqual(now, {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True", lastProbeTime: null }],
  });
  assert.ok(statusUnchanged({ phase: "Running", conditions: [{ type: "Ready", status: "True" }] }, body));
});

test("reasons and messages the status has are sent as they are; delete directives untouched", () => {
  const del = { type: "PodResizePending", $patch: "delete" };
  const body = statusPatchBody({
    conditions: [{ type: "Ready", status: "False", reason: "PodCompleted" }, del],
  });
  assert.deepEqual(body["conditions"], [
    { type: "Ready", status: "False", reason: "PodCompleted", message: null },
    del,
  ]);
  assert.deepEqual(statusPatchBody({ phase: "Pending" }), { phase: "Pending" });
});
