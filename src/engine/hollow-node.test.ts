// HollowNode: registration, the Node as the server has it (podCIDR, deletion), relists and stop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeLabels } from "./node-object.ts";
import type { NodeObject } from "./node-handle.ts";
import { KubeApiError } from "../client/api-error.ts";
import {
  NAME,
  NODE_UID,
  LEASES,
  LEASE,
  IDENTITY,
  ownerUid,
  condition,
  harness,
  registered,
  routes,
  makePod,
  bind,
  statusPatches,
  ipOf,
  withNodeCidr,
  metricValue,
  type Harness,
} from "./testdata/hollow-node-harness.ts";

// ---------------------------------------------------------------- registration

const CSINODE = `/apis/storage.k8s.io/v1/csinodes/${NAME}`;
/** The reads a registering kubelet makes after its writes: CSINode again, its Node three times. */
const REGISTRATION_READS = [`GET ${CSINODE}`, ...Array<string>(3).fill(`GET /api/v1/nodes/${NAME}`)];

test("register: POST Node, PATCH status, POST Lease, POST CSINode, owned by the new Node", async () => {
  const minimal = harness({ traffic: "minimal" });
  await minimal.node.register();
  assert.deepEqual(routes(minimal.api.requests), [
    "POST /api/v1/nodes",
    `PATCH /api/v1/nodes/${NAME}/status`,
    `POST ${LEASES}`,
    "POST /apis/storage.k8s.io/v1/csinodes",
  ]);
  const { node, api, clock } = harness();
  await node.register();
  assert.deepEqual(
    routes(api.requests),
    ["POST /api/v1/nodes", `PATCH /api/v1/nodes/${NAME}/status`, `GET ${LEASE}`, `POST ${LEASES}`],
    "with kubelet traffic, the Lease is read before it is created",
  );
  await clock.advance(20_000);
  assert.deepEqual(
    routes(api.requests.filter((r) => !r.path.startsWith(LEASES))).slice(2),
    [`GET ${CSINODE}`, "POST /apis/storage.k8s.io/v1/csinodes", ...REGISTRATION_READS],
    "then, within 20 s, the CSI manager's CSINode and the reads of the Node (REFERENCE 4b)",
  );
  const [postNode, patch, , lease] = api.requests;
  const csi = api.requests.find((r) => r.path === "/apis/storage.k8s.io/v1/csinodes");
  assert.equal(postNode!.body.metadata.name, NAME);
  assert.equal(condition(patch!.body, "Ready")?.status, "True", "reports Ready");
  assert.equal(lease!.body.spec.holderIdentity, NAME);
  assert.equal(lease!.body.spec.leaseDurationSeconds, 40);
  assert.equal(ownerUid(lease!.body), NODE_UID);
  assert.equal(ownerUid(csi!.body), NODE_UID);
  assert.equal(node.registered, true);
});

test("register with kubelet traffic opens a kubelet's watches; minimal traffic opens none", async () => {
  const kubelet = harness({ traffic: "kubelet" });
  await kubelet.node.register();
  assert.deepEqual(
    kubelet.watches.map((w) => [w.path, w.query]),
    [
      ["/api/v1/pods", { fieldSelector: `spec.nodeName=${NAME}` }],
      ["/api/v1/nodes", { fieldSelector: `metadata.name=${NAME}` }],
      ["/api/v1/services", { fieldSelector: "spec.clusterIP!=None" }],
      ["/apis/node.k8s.io/v1/runtimeclasses", {}],
      ["/apis/storage.k8s.io/v1/csidrivers", {}],
    ],
  );

  const minimal = harness({ traffic: "minimal" });
  await minimal.node.register();
  assert.deepEqual(minimal.watches, []);
  assert.equal(minimal.node.registered, true);
});

test("a kubelet's watches open before its registration, once: register opens none again", async () => {
  const h = harness({ traffic: "kubelet" });
  assert.equal(h.node.openKubeletWatches(), 5);
  assert.deepEqual(h.api.requests, [], "no request of the registration yet");
  assert.equal(h.node.openKubeletWatches(), 0, "already open");
  // An existing Node (a restarted engine) is followed from its watch's first event on.
  const nodeWatch = h.watches.find((w) => w.path === "/api/v1/nodes")!;
  const existing: NodeObject = {
    metadata: { name: NAME, uid: "uid-before", resourceVersion: "7" },
    spec: { podCIDR: "10.244.7.0/24" },
  };
  nodeWatch.handler.onEvent("ADDED", existing);
  assert.equal(h.node.uid, "uid-before");
  await h.node.register();
  assert.equal(h.node.uid, NODE_UID, "the Node its registration created");
  assert.equal(h.watches.length, 5, "the same five watches");
  assert.ok(h.watches.every((w) => !w.stopped));
  assert.equal(h.node.registered, true);

  const minimal = harness({ traffic: "minimal" });
  assert.equal(minimal.node.openKubeletWatches(), 0);
  const stopped = harness({ traffic: "kubelet" });
  stopped.node.stop();
  assert.equal(stopped.node.openKubeletWatches(), 0, "a stopped node opens nothing");
  assert.deepEqual(stopped.watches, []);
});

test("register adopts a Node that already exists: GET, no second POST, its uid, missing labels patched", async () => {
  const full = nodeLabels(IDENTITY);
  const { "kubernetes.io/hostname": _h, ...withoutHostname } = full;
  const cases: Array<{ labels: Record<string, string>; patched: Record<string, string> | undefined }> = [
    { labels: full, patched: undefined },
    { labels: withoutHostname, patched: { "kubernetes.io/hostname": NAME } },
  ];
  for (const { labels, patched } of cases) {
    const { node, api } = harness();
    api.failNext("POST", "/api/v1/nodes", 409, "AlreadyExists");
    api.existingNode = { metadata: { name: NAME, uid: "old-uid", labels } };
    await node.register();
    assert.deepEqual(routes(api.requests), [
      "POST /api/v1/nodes",
      `GET /api/v1/nodes/${NAME}`,
      ...(patched ? [`PATCH /api/v1/nodes/${NAME}`] : []),
      `PATCH /api/v1/nodes/${NAME}/status`,
      `GET ${LEASE}`,
      `POST ${LEASES}`,
    ]);
    if (patched) assert.deepEqual(api.requests[2]!.body, { metadata: { labels: patched } });
    const lease = api.requests.find((r) => r.path === LEASES)!;
    assert.equal(ownerUid(lease.body), "old-uid");
    assert.equal(node.registered, true);
  }
});

test("register fails on other errors from POST Node", async () => {
  const { node, api } = harness();
  api.failNext("POST", "/api/v1/nodes", 403);
  await assert.rejects(node.register(), (err: unknown) => err instanceof KubeApiError && err.status === 403);
  assert.equal(node.registered, false);
});

test("observeNode with a changed podCIDR: new pods get IPs from the new CIDR, running ones keep theirs", async () => {
  const h = await registered({ traffic: "minimal" });
  h.node.observeNode(withNodeCidr("10.128.3.0/24"));
  bind(h, makePod("before"));
  await h.clock.advance(1_000);
  h.node.observeNode(withNodeCidr("10.128.7.0/24"));
  bind(h, makePod("after"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "before"), "10.128.3.2");
  assert.equal(ipOf(h.api, "after"), "10.128.7.2");
  assert.equal(statusPatches(h.api, "before").length, 1, "the running pod is not rewritten");
});

test("observeNode: pods adopted with an IP inside the new podCIDR keep it to themselves", async () => {
  const h = await registered({ traffic: "minimal" });
  const running = makePod("running");
  running.status = { phase: "Running", podIP: "10.128.3.2", startTime: "2026-01-01T00:00:00Z" };
  bind(h, running);
  h.node.observeNode(withNodeCidr("10.128.3.0/24"));
  bind(h, makePod("new"));
  await h.clock.advance(1_000);
  assert.deepEqual(statusPatches(h.api, "running"), [], "a pod already Running is adopted as it is");
  assert.equal(ipOf(h.api, "new"), "10.128.3.3");
});

/** The Node deleted on the "server" (its Lease with it) and the node's watch telling it. */
function deleteNode(h: Harness): void {
  h.api.deleteNode();
  h.node.nodeDeleted({ metadata: { name: NAME, uid: NODE_UID } });
}

test("a deleted Node stays deleted, as with a kubelet (registrationCompleted): read back, no Lease made", async () => {
  const h = await registered({ traffic: "kubelet" });
  bind(h, makePod("a"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "a"), "172.16.0.2");
  h.api.requests.length = 0;
  deleteNode(h);
  assert.equal(h.node.gone, true);
  assert.equal(await metricValue(h, "hollow_nodes_registered"), 0);
  await h.clock.advance(60_000);
  const sent = routes(h.api.requests);
  assert.deepEqual(
    sent.filter((r) => r.startsWith("POST") || r.startsWith("PATCH")),
    [],
    "no Node, Lease or status written",
  );
  // Each status period: 4 GETs of the Node (the kubelet's tries after its informer's); each lease
  // period: a GET of the Lease and of the Node (for the owner reference the new Lease needs).
  const nodeGets = sent.filter((r) => r === `GET /api/v1/nodes/${NAME}`).length;
  assert.ok(nodeGets >= 5 * 4, `the Node read back each period (${nodeGets} GETs)`);
  assert.ok(sent.includes(`GET ${LEASE}`), "the Lease looked for");
  assert.notEqual(h.node.podInfo("default", "a"), undefined, "its pods run on");
  assert.equal(h.node.gone, true);
});

test("a status PATCH that finds the Node gone (before its watch says so) reads it back at once", async () => {
  const h = await registered({ traffic: "kubelet" });
  h.api.deleteNode();
  // The next status report (nodeStatusReportFrequency), and one status period for its tries.
  await h.clock.advance(h.node.ctx.cfg.statusReportMs + 12_000);
  assert.equal(h.node.gone, true);
  const sent = routes(h.api.requests);
  const patch = sent.indexOf(`PATCH /api/v1/nodes/${NAME}/status`);
  assert.ok(patch >= 0, "the status PATCH found it gone");
  assert.deepEqual(
    sent.slice(patch + 1, patch + 5),
    Array<string>(4).fill(`GET /api/v1/nodes/${NAME}`),
    "then the kubelet's four tries read it",
  );
  assert.equal(sent.filter((r) => r === "POST /api/v1/nodes").length, 0);
});

test("a Node created again under a gone node gets its status and a Lease it owns; pods keep their IPs", async () => {
  const h = await registered({ traffic: "kubelet" });
  bind(h, makePod("a"));
  await h.clock.advance(1_000);
  deleteNode(h);
  await h.clock.advance(30_000);
  h.api.requests.length = 0;
  // Somebody creates a Node of this name (the same pod CIDR, a new uid).
  h.api.existingNode = { metadata: { name: NAME, uid: "node-uid-2" }, spec: { podCIDR: "172.16.0.0/24" } };
  await h.clock.advance(30_000);
  assert.equal(h.node.gone, false);
  assert.equal(h.node.uid, "node-uid-2");
  assert.equal(await metricValue(h, "hollow_nodes_registered"), 1);
  const sent = routes(h.api.requests);
  assert.ok(sent.includes(`PATCH /api/v1/nodes/${NAME}/status`), "its status written to the new Node");
  const lease = h.api.requests.find((r) => r.method === "POST" && r.path === LEASES);
  assert.equal(lease && ownerUid(lease.body), "node-uid-2", "a new Lease, owned by the new Node");
  assert.equal(sent.filter((r) => r === "POST /api/v1/nodes").length, 0, "never registered by the node");
  bind(h, makePod("b"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "b"), "172.16.0.3", "pod a keeps its address");
});

test("a relist forgets pods that were deleted while the watch was down", async () => {
  const h = await registered({ traffic: "minimal" });
  const handler = h.node.podHandler();
  bind(h, makePod("kept"));
  bind(h, makePod("gone"));
  await h.clock.advance(1_000);
  assert.equal(h.node.podCount, 2);
  handler.onRelistStart();
  handler.onEvent("ADDED", makePod("kept"));
  handler.onSynced();
  assert.equal(h.node.podCount, 1);
  bind(h, makePod("next"));
  await h.clock.advance(1_000);
  // "gone" had .3; next-fit gives .4 now, but .3 is free again for later.
  assert.equal(ipOf(h.api, "next"), "172.16.0.4");
});

test("stop ends the heartbeat and the watches", async () => {
  const h = await registered({ traffic: "kubelet" });
  h.node.stop();
  await h.clock.advance(60_000);
  assert.deepEqual(h.api.requests, []);
  assert.ok(h.watches.every((w) => w.stopped));
});
