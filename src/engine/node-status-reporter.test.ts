import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { FakeClock } from "../kernel/clock.ts";
import type { NodeHandle } from "./node-handle.ts";
import { healthyConditions } from "./node-object.ts";
import type { ObservedNodeStatus } from "./node-status.ts";
import { NodeStatusReporter } from "./node-status-reporter.ts";
import { IDENTITY, NAME, engineConfig } from "./testdata/hollow-node-harness.ts";
import { protoOf } from "../client/protobuf-types.ts";
import type { ProtoType } from "../client/protobuf-schema.ts";

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
      proto: (type: ProtoType) => protoOf(true, type),
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

test("status: a volume that leaves use while the write reporting it is in flight is cleared at the next check", async () => {
  const { r, clock, answer, bodies, volumes } = withVolumes();
  r.observe(healthy);
  volumes.list = ["kubernetes.io/csi/d^vol-1"];
  const written = r.patch();
  // The pod is deleted and its volume unmounted before the PATCH's answer arrives.
  volumes.list = [];
  answer();
  await written;
  // The watch shows the write's own result: the server lists the volume in use.
  r.observe({ ...healthy, volumesInUse: ["kubernetes.io/csi/d^vol-1"] });
  assert.equal(r.reportDue(clock.now() + 1_000), true, "the server's list must be cleared");
  const clearing = r.report(clock.now() + 1_000);
  answer();
  await clearing;
  assert.equal(bodies.at(-1)?.status.volumesInUse, null);
  assert.equal(r.reportDue(clock.now() + 2_000), false, "nothing left to clear");
});

test("status: a volume that leaves use mid-write is cleared even before the watch shows that write", async () => {
  const { r, clock, answer, bodies, volumes } = withVolumes();
  r.observe(healthy);
  volumes.list = ["kubernetes.io/csi/d^vol-1"];
  const written = r.patch();
  volumes.list = [];
  answer();
  await written;
  assert.equal(r.reportDue(clock.now() + 1_000), true);
  const clearing = r.report(clock.now() + 1_000);
  answer();
  await clearing;
  assert.equal(bodies.at(-1)?.status.volumesInUse, null);
});

/** {@link reporter} with a volume manager whose in-use list the test sets; the PATCH bodies recorded. */
function withVolumes(): ReturnType<typeof reporter> & {
  bodies: { status: { volumesInUse?: unknown } }[];
  volumes: { list: string[] };
} {
  const base = reporter();
  const bodies: { status: { volumesInUse?: unknown } }[] = [];
  const volumes = { list: [] as string[] };
  const handle = (base.r as unknown as { node: NodeHandle }).node as unknown as {
    volumes: unknown;
    ctx: { heartbeat: (req: { body: unknown }) => Promise<unknown> };
  };
  handle.volumes = { inUse: () => [...volumes.list], markReportedInUse: () => undefined };
  const heartbeat = handle.ctx.heartbeat;
  handle.ctx.heartbeat = (req) => {
    bodies.push(req.body as { status: { volumesInUse?: unknown } });
    return heartbeat(req);
  };
  return { ...base, bodies, volumes };
}

test("status: a volume the last write listed is cleared even when an older status shows up on the watch afterwards", async () => {
  const { r, clock, answer, bodies, volumes } = withVolumes();
  r.observe(healthy);
  volumes.list = ["kubernetes.io/csi/d^vol-1"];
  const written = r.patch();
  answer();
  await written;
  // The watch lags: a status from before the write (the attach/detach controller's) arrives after it.
  r.observe(healthy);
  volumes.list = [];
  assert.equal(r.reportDue(clock.now() + 1_000), true);
  const clearing = r.report(clock.now() + 1_000);
  answer();
  await clearing;
  assert.equal(bodies.at(-1)?.status.volumesInUse, null);
});
