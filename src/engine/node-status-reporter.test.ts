import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { FakeClock } from "../kernel/clock.ts";
import type { NodeHandle } from "./node-handle.ts";
import { healthyConditions } from "./node-object.ts";
import type { ObservedNodeStatus } from "./node-status.ts";
import { NodeStatusReporter } from "./node-status-reporter.ts";
import { IDENTITY, NAME, engineConfig } from "./testdata/hollow-node-harness.ts";

const healthy: ObservedNodeStatus = {
  conditions: healthyConditions("2026-11-30T10:00:10Z", "2026-11-30T10:00:00Z"),
};
const unknown: ObservedNodeStatus = {
  conditions: healthy.conditions!.map((c) => ({
    ...c,
    status: "Unknown",
    reason: "NodeStatusUnknown",
    message: "Kubelet stopped posting node status.",
  })),
};

/** A reporter whose status PATCHes wait for `answer()`, recording the node events it asks for. */
function reporter(): { r: NodeStatusReporter; clock: FakeClock; calls: string[]; answer: () => void } {
  const clock = new FakeClock();
  const calls: string[] = [];
  let answer = (): void => undefined;
  const handle = {
    ctx: {
      cfg: engineConfig(),
      clock,
      random: () => 0.5,
      metrics: { statusCorrected: () => undefined },
      events: {
        nodeStatusDrifted: (host: string) => calls.push(`drifted ${host}`),
        nodeStatusRestored: (host: string) => calls.push(`restored ${host}`),
      },
      heartbeat: () =>
        new Promise((resolve) => {
          answer = () => resolve({});
        }),
    },
    id: IDENTITY,
    index: 0,
    uid: "node-uid-1",
    registered: true,
    stopped: false,
    log: pino({ level: "silent" }),
    api: () => Promise.reject(new Error("not used")),
    reRegister: () => undefined,
  } as unknown as NodeHandle;
  return { r: new NodeStatusReporter(handle), clock, calls, answer: () => answer() };
}

test("status over the controller's Unknown: NodeReady's events even when the watch shows the write before it returns", async () => {
  const { r, clock, calls, answer } = reporter();
  r.observe(unknown);
  assert.equal(r.reportDue(clock.now()), true);
  const written = r.report(clock.now());
  // The node's watch delivers the PATCH's own result before the PATCH's answer arrives.
  r.observe(healthy);
  answer();
  await written;
  assert.deepEqual(calls, [`drifted ${NAME}`, `restored ${NAME}`]);
  assert.equal(r.reportDue(clock.now() + 1_000), false, "nothing left to correct");
});

test("status: a controller's Unknown that arrives while a write is in flight is corrected at the next check", async () => {
  const { r, clock, answer } = reporter();
  r.observe(healthy);
  const written = r.patch();
  // The controller writes Unknown after the node's write reached the server, before its answer.
  r.observe(unknown);
  answer();
  await written;
  assert.equal(r.reportDue(clock.now() + 1_000), true, "the later Unknown stands");
});
