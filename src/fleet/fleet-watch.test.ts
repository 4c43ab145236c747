import { test } from "node:test";
import assert from "node:assert/strict";
import { KubeApiError } from "../client/api-error.ts";
import { FakeClock } from "../kernel/clock.ts";
import { NODES_PATH, NODE_LEASES_PATH } from "../kernel/k8s.ts";
import { FleetWatch, WatchedMap } from "./fleet-watch.ts";
import type { FleetContext } from "./context.ts";
import type { FleetRuntime } from "./runtime/runtime.ts";
import type { FleetSpec } from "./spec.ts";
import { waitForFleet } from "./wait.ts";
import { PushWatchClient } from "./testdata/push-watch-client.ts";

const T0 = Date.UTC(2026, 0, 1);
const node = (name: string, ready: boolean, rv = "1", created = "2026-01-01T00:00:00Z"): object => ({
  metadata: { name, resourceVersion: rv, creationTimestamp: created, labels: { big: "x" } },
  status: {
    conditions: [
      { type: "MemoryPressure", status: "False" },
      { type: "Ready", status: ready ? "True" : "False" },
    ],
    nodeInfo: { kubeletVersion: "v1.36.3", machineID: "m" },
    images: [{ names: ["a"], sizeBytes: 1 }],
  },
});
const lease = (name: string, at: number, rv = "1"): object => ({
  metadata: { name, resourceVersion: rv },
  spec: { renewTime: new Date(at).toISOString().replace("Z", "000Z"), leaseDurationSeconds: 40 },
});
const spec = { nodes: 2, namePrefix: "hollow-node" };

test("WatchedMap: a relist drops what it did not announce again, once it has synced", () => {
  const m = new WatchedMap<number>();
  m.relistStart();
  m.set("a", 1);
  m.set("b", 2);
  m.relistEnd();
  assert.equal(m.synced, true);
  m.relistStart();
  m.set("a", 3);
  assert.equal(m.size, 2, "until the relist has synced, the old entries stay");
  m.relistEnd();
  assert.deepEqual([...m.map], [["a", 3]]);
});

test("FleetWatch: a census from the fleet's Node watch and renewals from its Leases, slim and filtered", () => {
  const client = new PushWatchClient();
  const readyCounts: number[] = [];
  const w = new FleetWatch(client, {
    clock: new FakeClock(T0),
    fleet: "f1",
    namePrefix: "hollow-node",
    random: () => 0.5,
    onReadyCount: (n) => readyCounts.push(n),
  });
  w.start();
  assert.deepEqual(
    client.opens.map((o) => [o.path, o.query["labelSelector"], o.query["sendInitialEvents"], o.proto]),
    [
      [NODES_PATH, "kubemark-cluster.io/fleet=f1,hollow-node=true", true, "v1 Node"],
      [NODE_LEASES_PATH, undefined, true, "coordination.k8s.io/v1 Lease"],
    ],
  );
  assert.equal(w.census(spec), undefined, "no census before the first list has arrived");
  client.push(NODES_PATH, "ADDED", node("hollow-node-0", true));
  client.push(NODES_PATH, "ADDED", node("hollow-node-1", false));
  client.push(NODES_PATH, "ADDED", node("hollow-node-7", true));
  client.synced(NODES_PATH);
  client.push(NODE_LEASES_PATH, "ADDED", lease("hollow-node-0", T0 + 1000));
  client.push(NODE_LEASES_PATH, "ADDED", lease("other-node", T0 + 1000));
  assert.equal(w.renewals(), undefined, "no renewals before the Lease list has arrived");
  client.synced(NODE_LEASES_PATH);
  const c = w.census(spec)!;
  assert.equal(c.registered, 2);
  assert.equal(c.ready, 1);
  assert.deepEqual(c.notReady, ["hollow-node-1"]);
  assert.deepEqual(c.extra, ["hollow-node-7"]);
  assert.deepEqual(c.nodes[0], {
    name: "hollow-node-0",
    ready: true,
    version: "v1.36.3",
    created: "2026-01-01T00:00:00Z",
  });
  assert.deepEqual([...w.renewals()!], [["hollow-node-0", T0 + 1000]]);
  client.push(NODES_PATH, "MODIFIED", node("hollow-node-1", true, "2"));
  client.push(NODES_PATH, "MODIFIED", node("hollow-node-1", true, "3"));
  client.push(NODES_PATH, "DELETED", node("hollow-node-7", true, "4"));
  assert.deepEqual(readyCounts, [2, 3, 2], "counted as events come, reported when it changes");
  assert.equal(w.census(spec)!.ready, 2);
  w.stop();
  assert.equal(client.openStreams, 0);
});

test("FleetWatch: a watch error is kept for the waiter, and the watch resumes where it was", async () => {
  const client = new PushWatchClient();
  const clock = new FakeClock(T0);
  const w = new FleetWatch(client, { clock, fleet: "f1", namePrefix: "hollow-node", random: () => 0.5 });
  w.start();
  client.push(NODES_PATH, "ADDED", node("hollow-node-1", true, "9", "2026-01-01T00:00:05Z"));
  client.push(NODES_PATH, "ADDED", node("hollow-node-0", true));
  client.synced(NODES_PATH, "10");
  const denied = new KubeApiError({
    code: "FORBIDDEN",
    status: 403,
    method: "WATCH",
    path: NODES_PATH,
    message: "forbidden",
  });
  client.end(NODES_PATH, denied);
  assert.equal(w.lastError, denied);
  await clock.advance(2000);
  const reopen = client.opens.filter((o) => o.path === NODES_PATH).at(-1)!;
  assert.equal(reopen.query["resourceVersion"], "10", "resumed from the last resourceVersion, no relist");
  assert.equal(w.census(spec)!.ready, 2, "the store is kept across the error");
  assert.deepEqual(
    w.nodeWatch,
    { opens: 2, relists: 1, failures: 1 },
    "opened twice, listed once, failed once",
  );
  assert.deepEqual(
    w.creationTimes(),
    [Date.parse("2026-01-01T00:00:00Z"), Date.parse("2026-01-01T00:00:05Z")],
    "oldest first",
  );
  w.stop();
});

/** A runtime whose shard 0 started at T0 and that sees nothing wrong. */
const runtime = {
  diagnosisIsFinal: false,
  diagnose: () => Promise.resolve(undefined),
  startTimes: () => Promise.resolve(new Map([[0, T0]])),
} as unknown as FleetRuntime;

function context(client: PushWatchClient, clock: FakeClock): FleetContext {
  return {
    deps: { clock, onEvent: () => undefined, signal: new AbortController().signal, env: {}, stateDir: "" },
    target: { client },
    fleet: "f1",
    suggest: (v: string) => `kubemark-cluster ${v}`,
  } as unknown as FleetContext;
}

test("waitForFleet: watches instead of listing, and returns as soon as every Node is Ready with a fresh Lease", async () => {
  const client = new PushWatchClient();
  const clock = new FakeClock(T0);
  const fleetSpec = { nodes: 2, nodesPerShard: 1000, namePrefix: "hollow-node" } as FleetSpec;
  let done: number | undefined;
  const waiting = waitForFleet(context(client, clock), runtime, fleetSpec, 600_000, 120_000).then((n) => {
    done = n;
  });
  await clock.advance(0);
  client.push(NODES_PATH, "ADDED", node("hollow-node-0", false));
  client.synced(NODES_PATH);
  client.push(NODE_LEASES_PATH, "ADDED", lease("hollow-node-0", T0 + 500));
  client.push(NODE_LEASES_PATH, "ADDED", lease("hollow-node-1", T0 + 500));
  client.synced(NODE_LEASES_PATH);
  await clock.advance(1000);
  client.push(NODES_PATH, "ADDED", node("hollow-node-1", true));
  client.push(NODES_PATH, "MODIFIED", node("hollow-node-0", true));
  await clock.advance(10);
  assert.equal(done, 2, "woken by the watch at 1.01 s, not at the end of the interval (2 s)");
  await waiting;
  assert.deepEqual(client.gets, [], "no list of Nodes or Leases");
  assert.equal(client.opens.length, 2);
  assert.equal(client.openStreams, 0, "both watches closed at the end");
});

test("waitForFleet: a watch refused (403) ends the wait with that error", async () => {
  const client = new PushWatchClient();
  const clock = new FakeClock(T0);
  const fleetSpec = { nodes: 2, nodesPerShard: 1000, namePrefix: "hollow-node" } as FleetSpec;
  const waiting = waitForFleet(context(client, clock), runtime, fleetSpec, 600_000, 120_000);
  await clock.advance(0);
  const denied = new KubeApiError({
    code: "FORBIDDEN",
    status: 403,
    method: "WATCH",
    path: NODES_PATH,
    message: "nodes is forbidden",
  });
  client.end(NODES_PATH, denied);
  const outcome = assert.rejects(waiting, /nodes is forbidden/);
  await clock.advance(2000);
  await outcome;
});
