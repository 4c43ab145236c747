// The pod status manager: its decisions as tables, and its syncs on a fake clock and a fake API
// server whose answers take time (coalescing, the DELETE after the terminal status, 404/409).
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { KubeApiError, codeForStatus } from "../client/api-error.ts";
import type { KubeRequest } from "../client/kube-client.ts";
import { FakeClock } from "../kernel/clock.ts";
import { DueQueue } from "./due-queue.ts";
import { EngineMetrics } from "./metrics.ts";
import type { NodeHandle } from "./node-handle.ts";
import { slimPod, type PodObject } from "./pod-object.ts";
import type { HostedStage } from "./pod-stage.ts";
import type { PodState } from "./pod-state.ts";
import { protoOf } from "../client/protobuf-types.ts";
import type { ProtoType } from "../client/protobuf-schema.ts";
import {
  StatusManager,
  needsSync,
  statusKey,
  statusUnchanged,
  syncPlan,
  type SyncFacts,
} from "./status-manager.ts";

// ---------------------------------------------------------------- decisions

test("statusUnchanged: the server's status already is the one to write", () => {
  const ready = { type: "Ready", status: "True", lastProbeTime: null, lastTransitionTime: "t1" };
  const desired = {
    phase: "Running",
    podIP: "10.0.0.2",
    podIPs: [{ ip: "10.0.0.2" }],
    conditions: [ready],
    containerStatuses: [{ name: "app", ready: true, state: { running: { startedAt: "t1" } }, resources: {} }],
  };
  const rows: [string, unknown, Record<string, unknown>, boolean][] = [
    ["the same", { ...desired }, desired, true],
    ["no status on the server", undefined, desired, false],
    ["another phase", { ...desired, phase: "Pending" }, desired, false],
    [
      "the server has more conditions (the scheduler's PodScheduled) and fields",
      {
        ...desired,
        qosClass: "BestEffort",
        conditions: [
          { type: "PodScheduled", status: "True" },
          { ...ready, lastProbeTime: null },
        ],
      },
      desired,
      true,
    ],
    [
      "a condition's status differs",
      { ...desired, conditions: [{ ...ready, status: "False" }] },
      desired,
      false,
    ],
    [
      "the server leaves out null and empty fields",
      {
        ...desired,
        conditions: [{ type: "Ready", status: "True", lastTransitionTime: "t1" }],
        containerStatuses: [{ name: "app", ready: true, state: { running: { startedAt: "t1" } } }],
      },
      desired,
      true,
    ],
    [
      "a container's state differs",
      { ...desired, containerStatuses: [{ name: "app", ready: true, state: { waiting: { reason: "X" } } }] },
      desired,
      false,
    ],
    [
      "a deleted condition is still there",
      { conditions: [{ type: "PodResizePending", status: "True" }] },
      { conditions: [{ type: "PodResizePending", $patch: "delete" }] },
      false,
    ],
    [
      "a deleted condition is gone already",
      { conditions: [{ type: "Ready", status: "True" }] },
      { conditions: [{ type: "PodResizePending", $patch: "delete" }] },
      true,
    ],
  ];
  for (const [name, server, want, unchanged] of rows)
    assert.equal(statusUnchanged(server, want), unchanged, name);
});

test("syncPlan: PATCH what is not on the server yet; DELETE only a terminated pod whose end is the status", () => {
  const base: SyncFacts = {
    stage: "running",
    hasStatus: true,
    key: 2,
    writtenKey: 1,
    deletes: false,
    serverHasIt: false,
    finished: false,
  };
  const rows: [string, Partial<SyncFacts>, boolean, boolean][] = [
    ["a new status", {}, true, false],
    ["the status last PATCHed", { writtenKey: 2 }, false, false],
    ["the last PATCHed, with conditions to delete", { writtenKey: 2, deletes: true }, true, false],
    ["the server has it", { serverHasIt: true }, false, false],
    ["terminated, still running (its end not set yet)", { finished: true }, true, false],
    ["terminated, its end to write", { stage: "terminated", finished: true }, true, true],
    [
      "terminated, its end written already",
      { stage: "succeeded", writtenKey: 2, finished: true },
      false,
      true,
    ],
    ["its end written, not terminated yet", { stage: "failed", writtenKey: 2 }, false, false],
    [
      "terminated, never started: nothing to write",
      { stage: "new", hasStatus: false, finished: true },
      false,
      true,
    ],
  ];
  for (const [name, over, patch, del] of rows)
    assert.deepEqual(syncPlan({ ...base, ...over }), { patch, delete: del }, name);
});

test("needsSync and statusKey", () => {
  assert.equal(needsSync(3, 2), true);
  assert.equal(needsSync(3, 3), false);
  assert.equal(statusKey({ a: 1, b: [1, 2] }), statusKey({ a: 1, b: [1, 2] }));
  assert.notEqual(statusKey({ phase: "Running" }), statusKey({ phase: "Pending" }));
  assert.ok(Number.isSafeInteger(statusKey({ phase: "Running" })));
});

// ---------------------------------------------------------------- the manager

interface Sent {
  route: string;
  at: number;
  phase?: string;
}

/** A status manager on a fake clock; each API answer takes `delayMs` (fake-clock ms). */
function setup(traffic: "kubelet" | "minimal" = "kubelet") {
  const clock = new FakeClock();
  const t0 = clock.now();
  const queue = new DueQueue({
    clock,
    concurrency: 100,
    onError: (err) => assert.fail(`queued task failed: ${String(err)}`),
  });
  const sent: Sent[] = [];
  const failures: { route: string; status: number }[] = [];
  const server = new Map<string, PodObject>();
  const fake = {
    delayMs: 0,
    async api<T>(req: KubeRequest): Promise<T> {
      const route = `${req.method} ${req.path}`;
      const body = req.body as { status?: { phase?: string } } | undefined;
      sent.push({
        route,
        at: clock.now() - t0,
        ...(body?.status?.phase ? { phase: body.status.phase } : {}),
      });
      if (fake.delayMs > 0) await clock.sleep(fake.delayMs);
      const f = failures.findIndex((x) => x.route === route);
      if (f >= 0) {
        const { status } = failures.splice(f, 1)[0]!;
        throw new KubeApiError({
          code: codeForStatus(status),
          status,
          method: req.method,
          path: req.path,
          message: `${status}`,
        });
      }
      const path = req.path.replace(/\/status$/, "");
      const pod = server.get(path);
      if (!pod)
        throw new KubeApiError({
          code: codeForStatus(404),
          status: 404,
          method: req.method,
          path,
          message: "404",
        });
      if (req.method === "DELETE") server.delete(path);
      if (req.method === "PATCH") server.set(path, { ...pod, status: body?.status });
      return (req.method === "GET" ? pod : {}) as T;
    },
  };
  const forgotten: string[] = [];
  const node = {
    ctx: {
      cfg: { traffic },
      proto: (type: ProtoType) => protoOf(true, type),
      clock,
      queue,
      random: () => 0.5,
      metrics: new EngineMetrics({ processMetrics: false }),
    },
    id: { name: "hollow-node-0", ip: "100.64.0.1" },
    log: pino({ level: "silent" }),
    api: <T>(req: KubeRequest) => fake.api<T>(req),
  } as unknown as NodeHandle;
  const sm = new StatusManager({ node, forget: (uid) => forgotten.push(uid) });
  const pod = (name: string): PodState => {
    const p: PodObject = {
      metadata: { name, namespace: "default", uid: `uid-${name}`, generation: 1 },
      spec: { nodeName: "hollow-node-0", containers: [{ name: "app", image: "nginx" }] },
    };
    server.set(`/api/v1/namespaces/default/pods/${name}`, p);
    const start = new Date(t0).toISOString().replace(/\.\d+Z$/, "Z");
    return {
      uid: p.metadata.uid,
      namespace: "default",
      name,
      pod: slimPod(p),
      stage: "new",
      ip: "10.0.0.2",
      startedAt: start,
      runningAt: start,
      restarts: 0,
      exits: 0,
      seenAt: t0,
      deleting: false,
      alive: true,
      refs: [],
    };
  };
  const set = (st: PodState, stage: HostedStage): boolean => {
    st.stage = stage;
    return sm.set(st);
  };
  return { clock, sm, sent, fake, failures, forgotten, pod, set, server };
}

const P = "/api/v1/namespaces/default/pods/web-0";

test("status manager: three stage changes during one slow write make one more write, with the newest status", async () => {
  const h = setup();
  h.fake.delayMs = 100;
  const st = h.pod("web-0");
  h.set(st, "creating");
  await h.clock.advance(10); // the GET is under way
  h.set(st, "sandbox");
  h.set(st, "initializing");
  await h.clock.advance(10);
  h.set(st, "running");
  await h.clock.advance(1_000);
  assert.deepEqual(
    h.sent.map((s) => [s.route, s.at, s.phase]),
    [
      [`GET ${P}`, 0, undefined],
      [`PATCH ${P}/status`, 100, "Pending"],
      // The stages set meanwhile are skipped: the next sync writes the newest.
      [`GET ${P}`, 200, undefined],
      [`PATCH ${P}/status`, 300, "Running"],
    ],
  );
  assert.equal(h.sm.busy, 0);
  // The same status again writes nothing; a change writes once more.
  assert.equal(h.set(st, "running"), false);
  st.unready = true;
  assert.equal(h.set(st, "running"), true);
  await h.clock.advance(1_000);
  assert.equal(h.sent.length, 6);
});

test("status manager: minimal traffic writes the newest status without reading the pod first", async () => {
  const h = setup("minimal");
  h.fake.delayMs = 50;
  const st = h.pod("web-0");
  h.set(st, "creating");
  h.set(st, "running"); // the first sync took its status when it was set: this one is written next
  await h.clock.advance(1_000);
  assert.deepEqual(
    h.sent.map((s) => [s.route, s.phase]),
    [
      [`PATCH ${P}/status`, "Pending"],
      [`PATCH ${P}/status`, "Running"],
    ],
  );
});

test("status manager: the DELETE comes only after the terminal status is on the server", async () => {
  for (const traffic of ["kubelet", "minimal"] as const) {
    const h = setup(traffic);
    h.fake.delayMs = 100;
    const st = h.pod("web-0");
    h.set(st, "running");
    await h.clock.advance(1_000);
    h.sent.length = 0;
    // The graceful deletion: its generation observed first, then the containers stop, then
    // TerminatePod, all while the first write is in flight.
    st.pod = { ...st.pod, metadata: { ...st.pod.metadata, generation: 2 } };
    st.deleting = true;
    h.set(st, "running");
    await h.clock.advance(5);
    st.finishedAt = st.runningAt;
    h.set(st, "terminated");
    h.sm.terminate(st);
    st.unready = true;
    assert.equal(h.sm.set(st), false, "nothing is taken after TerminatePod");
    await h.clock.advance(1_000);
    const routes = h.sent.map((s) => `${s.route.split(" ")[0]} ${s.phase ?? ""}`.trim());
    assert.deepEqual(
      routes,
      traffic === "kubelet"
        ? ["GET", "PATCH Running", "GET", "PATCH Succeeded", "DELETE"]
        : ["PATCH Running", "PATCH Succeeded", "DELETE"],
      traffic,
    );
    const patchAt = h.sent.findLast((s) => s.phase === "Succeeded")!.at;
    const deleteAt = h.sent.find((s) => s.route.startsWith("DELETE"))!.at;
    assert.ok(deleteAt >= patchAt + 100, `${traffic}: the DELETE after the terminal PATCH was answered`);
    assert.equal(h.server.size, 0);
  }
});

test("status manager: a terminated pod whose end is on the server already: GET, then DELETE only", async () => {
  const h = setup();
  const st = h.pod("job-1");
  h.set(st, "running");
  st.finishedAt = st.runningAt;
  await h.clock.advance(100);
  h.set(st, "succeeded");
  await h.clock.advance(100);
  h.sent.length = 0;
  st.deleting = true;
  h.sm.terminate(st);
  await h.clock.advance(100);
  assert.deepEqual(
    h.sent.map((s) => s.route),
    ["GET /api/v1/namespaces/default/pods/job-1", "DELETE /api/v1/namespaces/default/pods/job-1"],
  );
});

test("status manager: a failed write is retried after the back-off with the newest status; 404 and 409 forget the pod", async () => {
  const h = setup();
  const st = h.pod("web-0");
  h.failures.push({ route: `PATCH ${P}/status`, status: 500 });
  h.set(st, "creating");
  await h.clock.advance(10);
  h.set(st, "running");
  await h.clock.advance(1_000);
  assert.deepEqual(
    h.sent.map((s) => `${s.route.split(" ")[0]} ${s.phase ?? ""}`.trim()),
    ["GET", "PATCH Pending"],
    "no second sync while the first waits for its retry",
  );
  await h.clock.advance(3_500); // requeueDelayMs at random 0.5
  assert.deepEqual(
    h.sent.map((s) => `${s.route.split(" ")[0]} ${s.phase ?? ""}`.trim()),
    ["GET", "PATCH Pending", "GET", "PATCH Running"],
  );
  // The pod replaced by one of the same name (the uid precondition fails): forgotten.
  h.failures.push({ route: `PATCH ${P}/status`, status: 409 });
  st.unready = true;
  h.set(st, "running");
  await h.clock.advance(100);
  assert.deepEqual(h.forgotten, ["uid-web-0"]);
  // A pod the server no longer has: forgotten too, its status not written.
  const gone = h.pod("gone-0");
  h.server.clear();
  h.set(gone, "creating");
  await h.clock.advance(100);
  assert.deepEqual(h.forgotten, ["uid-web-0", "uid-gone-0"]);
  assert.equal(h.sent.at(-1)!.route, "GET /api/v1/namespaces/default/pods/gone-0");
});
