// The heartbeat loop: Lease renewals and node status reports, on a fake clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  NAME,
  NODE_UID,
  LEASES,
  LEASE,
  type Recorded,
  ownerUid,
  condition,
  harness,
  registered,
  metricValue,
  routes,
  makePod,
  podPath,
  bind,
  withNodeCidr,
} from "./testdata/hollow-node-harness.ts";

// ---------------------------------------------------------------- heartbeat

test("heartbeat: the Lease is renewed about every 10 s with a later renewTime and the last resourceVersion", async () => {
  const { node, api, clock } = harness();
  const t0 = clock.now();
  await node.register();
  await clock.advance(60_000);
  const puts = api.requests.filter((r) => r.method === "PUT" && r.path === LEASE);
  assert.ok(puts.length >= 5 && puts.length <= 7, `${puts.length} renewals in 60 s`);
  const renewTimes = [api.requests.find((r) => r.path === LEASES)!, ...puts].map((r) =>
    Date.parse(r.body.spec.renewTime),
  );
  for (let i = 1; i < renewTimes.length; i++) {
    assert.ok(renewTimes[i]! > renewTimes[i - 1]!, `renewal ${i} is later`);
    if (i > 1) {
      const gap = renewTimes[i]! - renewTimes[i - 1]!;
      assert.ok(gap >= 10_000 && gap <= 10_400, `gap ${gap} ms is a quarter of 40 s plus at most 4% jitter`);
    }
  }
  assert.ok(renewTimes.at(-1)! <= t0 + 60_000);
  // Each PUT carries the resourceVersion the previous write returned.
  assert.deepEqual(
    puts.map((r) => r.body.metadata.resourceVersion),
    puts.map((_, i) => String(i + 1)),
  );
  assert.ok(node.lastRenew > t0 + 50_000);
});

test("heartbeat: Lease requests are protobuf as a kubelet's (JSON with leaseContentType json), all else JSON", async () => {
  for (const leaseContentType of ["protobuf", "json"] as const) {
    const { node, api, clock } = harness({ leaseContentType });
    api.leaseRv = 1; // a Lease from an earlier run: GET, then PUT
    await node.register();
    await clock.advance(30_000);
    const leases = api.requests.filter((r) => r.path.startsWith(LEASES));
    assert.deepEqual(
      [...new Set(leases.map((r) => `${r.method} ${r.path === LEASE ? "lease" : "leases"}`))],
      ["GET lease", "PUT lease"],
    );
    for (const r of leases) {
      assert.equal(r.wire.accept, leaseContentType, `${r.method} asks for ${leaseContentType}`);
      if (r.method === "PUT") assert.equal(r.wire.body, leaseContentType);
    }
    const puts = leases.filter((r) => r.method === "PUT");
    assert.ok(puts.length >= 3, `${puts.length} renewals`);
    assert.deepEqual(
      puts.map((r) => r.body.metadata.resourceVersion),
      puts.map((_, i) => String(i + 1)),
      "each PUT carries the resourceVersion read from the previous answer",
    );
    const others = api.requests.filter((r) => !r.path.startsWith(LEASES));
    assert.ok(others.length > 0);
    for (const r of others) assert.deepEqual([r.method, r.path, r.wire.accept], [r.method, r.path, "json"]);
    for (const r of others) assert.notEqual(r.wire.body, "protobuf", `${r.method} ${r.path}`);
  }
});

test("heartbeat: a slow API server stretches the cadence (the kubelet's sliding period); renewals are not late", async () => {
  const { node, api, clock, metrics } = harness();
  await node.register();
  await clock.advance(20_000);
  api.heartbeatDelayMs = 3_000;
  const before = api.requests.length;
  await clock.advance(120_000);
  const puts = api.requests.slice(before).filter((r) => r.method === "PUT" && r.path === LEASE);
  assert.ok(puts.length >= 7 && puts.length <= 10, `${puts.length} renewals in 120 s`);
  const times = puts.map((r) => Date.parse(r.body.spec.renewTime));
  for (let i = 1; i < times.length; i++) {
    // 3 s answer + 10 s period with 2% jitter (random 0.5), counted from the answer.
    assert.equal(times[i]! - times[i - 1]!, 13_200, `gap ${i}`);
  }
  assert.equal(metrics.totals.lateRenewals, 0);
  assert.equal(metrics.totals.maxLatenessMs, 0, "each renewal starts when due");
});

test("heartbeat: a renewal waiting for the API server holds no queue worker (other work goes on)", async () => {
  // One queue worker: had the renewal held it for the 8 s answer, the pod could not start meanwhile.
  const h = await registered({ traffic: "minimal", maxInFlight: 1 });
  h.node.observeNode(withNodeCidr("10.128.3.0/24"));
  h.api.heartbeatDelayMs = 8_000;
  let put = -1;
  for (let i = 0; i < 120 && put < 0; i++) {
    await h.clock.advance(100);
    put = h.api.requests.findIndex((r) => r.method === "PUT" && r.path === LEASE);
  }
  assert.ok(put >= 0, "a renewal was sent");
  bind(h, makePod("web-0"));
  await h.clock.advance(1_000);
  const started = h.api.requests.slice(put + 1).map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(started, [`PATCH ${podPath("web-0")}/status`], "the pod started while the renewal waited");
  assert.equal(h.api.requests.filter((r) => r.method === "PUT" && r.path === LEASE).length, 1);
});

test("heartbeat: renewals stay on time while pod work holds every queue worker (a pod burst)", async () => {
  const h = await registered({ maxInFlight: 2 });
  // A burst: more pod work than workers, each task waiting on a slow API server for a minute.
  for (let i = 0; i < 10; i++) h.queue.after(0, () => h.clock.sleep(60_000));
  const puts = (): number => h.api.requests.filter((r) => r.method === "PUT" && r.path === LEASE).length;
  await h.clock.advance(30_000);
  assert.ok(puts() >= 2, `renewals went on during the burst (${puts()} in 30 s)`);
  assert.equal(h.metrics.totals.lateRenewals, 0, "none started late");
});

test("heartbeat: an unchanged node status is PATCHed again only after the report interval (5 min)", async () => {
  const { node, api, clock } = harness();
  await node.register();
  const statusPatchCount = (): number =>
    api.requests.filter((r) => r.method === "PATCH" && r.path === `/api/v1/nodes/${NAME}/status`).length;
  assert.equal(statusPatchCount(), 1, "once at registration");
  await clock.advance(290_000);
  assert.equal(statusPatchCount(), 1, "not with every lease renewal");
  await clock.advance(21_000);
  assert.equal(statusPatchCount(), 2, "again once 5 minutes have passed");
  const last = api.requests.filter((r) => r.path === `/api/v1/nodes/${NAME}/status`).at(-1)!;
  const ready = condition(last.body, "Ready");
  assert.ok(Date.parse(ready?.lastHeartbeatTime ?? "") >= clock.now() - 11_000, "fresh heartbeat time");
});

test("heartbeat: a controller's Ready=Unknown on the server is corrected within one status period", async () => {
  const h = await registered();
  const statusPatches = (): Recorded[] =>
    h.api.requests.filter((r) => r.method === "PATCH" && r.path === `/api/v1/nodes/${NAME}/status`);
  // The node lifecycle controller marks the node Unknown (e.g. after an etcd stall): the node's
  // watch delivers it; the node's own last report is recent.
  const unknownAt = h.clock.now();
  h.node.observeNode({
    metadata: { name: NAME, uid: NODE_UID },
    status: {
      conditions: ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"].map((type) => ({
        type,
        status: "Unknown",
        reason: "NodeStatusUnknown",
        message: "Kubelet stopped posting node status.",
      })),
    },
  });
  await h.clock.advance(10_500);
  const sent = statusPatches();
  assert.equal(sent.length, 1, "one status report within nodeStatusUpdateFrequency (10 s + jitter)");
  const ready = sent[0]!.body.status.conditions.find((c) => c.type === "Ready") as
    { status: string; lastTransitionTime: string } | undefined;
  assert.equal(ready?.status, "True");
  assert.ok(
    Date.parse(ready.lastTransitionTime) >= unknownAt - 1_000,
    "Ready again since now, not since registration",
  );
  // The watch then shows the node's own report: nothing more until the report interval.
  h.node.observeNode({
    metadata: { name: NAME, uid: NODE_UID },
    status: {
      conditions: sent[0]!.body.status.conditions,
    },
  });
  await h.clock.advance(60_000);
  assert.equal(statusPatches().length, 1, "no further report while the server has the node's status");
  assert.equal(await metricValue(h, "hollow_node_status_corrections_total"), 1);
});

test("heartbeat: Lease and node-status requests go through the heartbeat client, nothing else does", async () => {
  const { node, api, clock } = harness({ traffic: "kubelet" });
  await node.register();
  await clock.advance(310_000);
  const isHeartbeat = (route: string): boolean =>
    route.includes("/leases") || route === `PATCH /api/v1/nodes/${NAME}/status`;
  const all = routes(api.requests);
  assert.ok(all.filter((r) => r === `PUT ${LEASE}`).length >= 30, "renewals happened");
  assert.deepEqual(api.heartbeats, all.filter(isHeartbeat), "every Lease and status request, in order");
  assert.ok(
    all.some((r) => r === "POST /api/v1/nodes"),
    "registration is an ordinary request",
  );
  assert.ok(!api.heartbeats.includes("POST /api/v1/nodes"));
});

test("heartbeat: a Lease that was deleted (PUT 404) is created again", async () => {
  const { node, api, clock } = await registered();
  api.failNext("PUT", LEASE, 404);
  api.failNext("GET", LEASE, 404);
  await clock.advance(6_000);
  assert.deepEqual(routes(api.requests), [`PUT ${LEASE}`, `GET ${LEASE}`, `POST ${LEASES}`]);
  const post = api.requests[2]!;
  assert.equal(post.body.metadata.resourceVersion, undefined);
  assert.equal(ownerUid(post.body), NODE_UID);
  const created = String(api.leaseRv);
  await clock.advance(10_200);
  assert.deepEqual(routes(api.requests.slice(3)), [`PUT ${LEASE}`]);
  assert.equal(api.requests[3]!.body.metadata.resourceVersion, created, "renews the new Lease");
  assert.ok(node.lastRenew > clock.now() - 10_400, "renewed within the last interval");
});

test("heartbeat: a conflicting Lease update (409) re-reads the Lease and PUTs again", async () => {
  const { api, clock } = await registered();
  api.failNext("PUT", LEASE, 409, "Conflict");
  const ours = String(api.leaseRv);
  api.leaseRv = 70; // somebody else wrote the Lease
  await clock.advance(6_000);
  assert.deepEqual(routes(api.requests), [`PUT ${LEASE}`, `GET ${LEASE}`, `PUT ${LEASE}`]);
  assert.equal(api.requests[0]!.body.metadata.resourceVersion, ours);
  assert.equal(api.requests[2]!.body.metadata.resourceVersion, "70");
  await clock.advance(10_200);
  assert.equal(api.requests.at(-1)!.body.metadata.resourceVersion, "71", "continues from the new version");
});
