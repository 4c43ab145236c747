// HollowNode: registration, the Node as the server has it (podCIDR, deletion), relists and stop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeLabels } from "./node-object.ts";
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

test("a re-registered node does not hand out the IPs of pods it still runs", async () => {
  const h = await registered({ traffic: "kubelet" });
  bind(h, makePod("a"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "a"), "172.16.0.2");
  // The Node is deleted (its watch says so) and the kubelet registers it again; pod "a" lives on.
  h.node.nodeDeleted({ metadata: { name: NAME, uid: NODE_UID } });
  await h.clock.advance(1_000);
  assert.equal(h.api.requests.filter((r) => r.method === "POST" && r.path === "/api/v1/nodes").length, 1);
  assert.equal(h.node.registered, true);
  bind(h, makePod("b"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "b"), "172.16.0.3");
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
