import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { KubeApiError, codeForStatus } from "../client/api-error.ts";
import type { KubeRequest } from "../client/kube-client.ts";
import { FakeClock } from "../kernel/clock.ts";
import { DueQueue } from "./due-queue.ts";
import { KubeletEventRecorder, type EventedPod } from "./kubelet-event-recorder.ts";
import { slimPod } from "./pod-object.ts";
import { pod } from "./testdata/pod-fixtures.ts";

/** A recorder over a fake API that keeps Events as the API server would (and can forget them). */
function harness(): {
  clock: FakeClock;
  rec: KubeletEventRecorder;
  sent: { method: string; path: string; at: number; host?: string }[];
  stored: Map<string, { reason: string; count: number; message: string }>;
} {
  const clock = new FakeClock();
  const queue = new DueQueue({ clock, concurrency: 100, onError: (err) => assert.fail(String(err)) });
  const sent: { method: string; path: string; at: number; host?: string }[] = [];
  const stored = new Map<string, { reason: string; count: number; message: string }>();
  const request = <T>(req: KubeRequest, host: string): Promise<T> => {
    sent.push({ method: req.method, path: req.path, at: clock.now(), host });
    if (req.method === "POST") {
      const body = req.body as { metadata: { name: string }; reason: string; count: number; message: string };
      stored.set(body.metadata.name, { reason: body.reason, count: body.count, message: body.message });
      return Promise.resolve(body as T);
    }
    const name = req.path.split("/").pop()!;
    const ev = stored.get(name);
    if (!ev) {
      const err = new KubeApiError({
        code: codeForStatus(404),
        status: 404,
        method: "PATCH",
        path: req.path,
        message: "not found",
      });
      return Promise.reject(err);
    }
    Object.assign(ev, req.body);
    return Promise.resolve(ev as T);
  };
  const rec = new KubeletEventRecorder({
    clock,
    queue,
    random: () => 0,
    request,
    log: pino({ level: "silent" }),
  });
  return { clock, rec, sent, stored };
}

function podState(over: Partial<EventedPod> = {}): EventedPod {
  return {
    pod: slimPod(pod({ containers: [{ name: "app", image: "busybox" }] })),
    stage: "running",
    runningAt: "2026-01-01T00:00:00Z",
    alive: true,
    deleting: false,
    ...over,
  };
}

test("each node's events are sent as that node (its own client under --identity node)", async () => {
  const h = harness();
  h.rec.nodeStarted("hollow-node-0");
  h.rec.nodeStarted("hollow-node-1");
  await h.clock.advance(0);
  assert.deepEqual(h.sent.map((r) => r.host).sort(), [
    ...Array<string>(5).fill("hollow-node-0"),
    ...Array<string>(5).fill("hollow-node-1"),
  ]);
});

test("a kubelet's start posts its node events in core/v1, in the default namespace", async () => {
  const h = harness();
  h.rec.nodeStarted("hollow-node-0");
  await h.clock.advance(0);
  assert.deepEqual(
    h.sent.map((r) => `${r.method} ${r.path}`),
    Array(5).fill("POST /api/v1/namespaces/default/events"),
  );
  assert.deepEqual(
    [...h.stored.values()].map((e) => e.reason),
    [
      "Starting",
      "NodeHasSufficientMemory",
      "NodeHasNoDiskPressure",
      "NodeHasSufficientPID",
      "NodeAllocatableEnforced",
    ],
  );
  assert.equal(h.rec.busyNodes, 0);
});

test("a crash loop: each restart PATCHes the counts of the same Events; BackOff repeats at the pod worker's resync", async () => {
  const h = harness();
  const st = podState();
  h.rec.podWritten("hollow-node-0", st);
  await h.clock.advance(0);
  assert.equal(h.stored.size, 3);
  const exit = { exitCode: 1, startedAt: st.runningAt, finishedAt: "2026-01-01T00:00:05Z" };
  // Restarted at once, then back-off for 5 min: 1 BackOff now and at each 60 s resync while it waits.
  Object.assign(st, { runningAt: "2026-01-01T00:00:05Z", lastRun: exit });
  h.rec.podWritten("hollow-node-0", st);
  const exit2 = { exitCode: 1, startedAt: st.runningAt, finishedAt: "2026-01-01T00:00:10Z" };
  Object.assign(st, { stage: "backoff", lastRun: exit2, backoffMs: 300_000 });
  h.rec.podWritten("hollow-node-0", st);
  await h.clock.advance(299_000);
  Object.assign(st, { stage: "running", runningAt: "2026-01-01T00:05:10Z", backoffMs: undefined });
  h.rec.podWritten("hollow-node-0", st);
  await h.clock.advance(600_000);
  const byReason = new Map([...h.stored.values()].map((e) => [e.reason, e.count]));
  assert.deepEqual(Object.fromEntries(byReason), { Pulled: 3, Created: 3, Started: 3, BackOff: 5 });
  assert.equal(h.stored.size, 4, "4 Event objects, however often they happened");
  assert.equal(h.sent.filter((r) => r.method === "POST").length, 4);
  assert.equal(h.sent.filter((r) => r.method === "PATCH").length, 6 + 4);
});

test("a repeat of an Event the API server no longer has is created again", async () => {
  const h = harness();
  const st = podState();
  h.rec.podWritten("hollow-node-0", st);
  await h.clock.advance(0);
  h.stored.clear();
  Object.assign(st, { runningAt: "r1", lastRun: { exitCode: 1, startedAt: "r0", finishedAt: "f0" } });
  h.rec.podWritten("hollow-node-0", st);
  await h.clock.advance(0);
  assert.deepEqual(
    h.sent.slice(3).map((r) => r.method),
    ["PATCH", "POST", "PATCH", "POST", "PATCH", "POST"],
  );
  assert.deepEqual(
    [...h.stored.values()].map((e) => e.count),
    [2, 2, 2],
  );
});

test("each node's event client is limited to burst 100 then 50 per second; an idle recorder holds nothing", async () => {
  const h = harness();
  for (let i = 0; i < 150; i++) {
    h.rec.record({
      involvedObject: { kind: "Pod", namespace: "ns", name: `p${i}`, uid: `u${i}` },
      type: "Normal",
      reason: "Started",
      message: "Container started",
      component: "kubelet",
      host: "hollow-node-0",
    });
  }
  h.rec.nodeStarted("hollow-node-1");
  await h.clock.advance(0);
  assert.equal(h.sent.filter((r) => r.at === h.clock.now()).length, 105, "100 of node 0, all 5 of node 1");
  await h.clock.advance(1000);
  assert.equal(h.sent.length, 155);
  assert.ok(Math.max(...h.sent.map((r) => r.at)) - h.sent[0]!.at >= 980, "the last 50 over one second");
  assert.equal(h.rec.busyNodes, 0);
});

test("a node's conditions restored over the controller's Unknown: the setters' events once, when the status is written", async () => {
  const h = harness();
  const unknown = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"].map((type) => ({
    type,
    status: "Unknown",
  }));
  h.rec.nodeStatusDrifted("hollow-node-0", unknown);
  h.rec.nodeStatusDrifted("hollow-node-0", unknown);
  await h.clock.advance(0);
  assert.equal(h.sent.length, 0, "nothing before the node writes its status");
  h.rec.nodeStatusRestored("hollow-node-0");
  h.rec.nodeStatusRestored("hollow-node-0");
  await h.clock.advance(0);
  assert.deepEqual(
    [...h.stored.values()].map((e) => `${e.reason} x${e.count}`),
    ["NodeHasSufficientMemory x1", "NodeHasNoDiskPressure x1", "NodeHasSufficientPID x1", "NodeReady x1"],
  );
});
