// The pod lifecycle: start, statuses, IPs, graceful deletion.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PodObject } from "./pod-object.ts";
import {
  NODE_IP,
  LEASES,
  type Recorded,
  registered,
  routes,
  makePod,
  podPath,
  bind,
  statusPatches,
  ipOf,
  withNodeCidr,
} from "./testdata/hollow-node-harness.ts";

// ---------------------------------------------------------------- pods

test("pods (kubelet traffic): token, ContainerCreating, then Running with an IP from the node's podCIDR", async () => {
  const h = await registered({ traffic: "kubelet" });
  h.node.observeNode(withNodeCidr("10.128.3.0/24"));
  bind(h, makePod("web-0"));
  await h.clock.advance(1_000);
  assert.deepEqual(routes(h.api.requests), [
    "POST /api/v1/namespaces/default/serviceaccounts/default/token",
    `GET ${podPath("web-0")}`,
    `PATCH ${podPath("web-0")}/status`,
    `GET ${podPath("web-0")}`,
    `PATCH ${podPath("web-0")}/status`,
  ]);
  const creating = h.api.requests[2]!.body;
  assert.equal(creating.status.phase, "Pending", "first the kubelet reports the sandbox being made");
  assert.equal(creating.status.containerStatuses[0]?.state.waiting?.reason, "ContainerCreating");
  assert.equal(creating.status.podIP, undefined, "no pod IP before the sandbox exists");
  h.api.requests.splice(1, 2);
  const token = h.api.requests[0]!.body;
  assert.equal(token.kind, "TokenRequest");
  assert.equal(
    h.api.requests[0]!.wire.proto,
    "TokenRequest",
    "in protobuf, as the kubelet's token manager sends it",
  );
  assert.equal(token.spec.expirationSeconds, 3607);
  assert.deepEqual(token.spec.boundObjectRef, {
    apiVersion: "v1",
    kind: "Pod",
    name: "web-0",
    uid: "uid-web-0",
  });
  const patch = h.api.requests[2]!.body;
  assert.equal(patch.metadata.uid, "uid-web-0");
  assert.equal(patch.status.phase, "Running");
  assert.equal(patch.status.hostIP, NODE_IP);
  assert.match(patch.status.podIP, /^10\.128\.3\.\d+$/);
  assert.notEqual(patch.status.podIP, "10.128.3.0");
  assert.notEqual(patch.status.podIP, "10.128.3.1");
  assert.notEqual(patch.status.podIP, "10.128.3.255");
  // The kubelet watches what the pod references.
  assert.ok(
    h.watches.some(
      (w) =>
        w.path === "/api/v1/namespaces/default/configmaps" &&
        w.query?.["fieldSelector"] === "metadata.name=kube-root-ca.crt",
    ),
  );
  assert.equal(h.node.podCount, 1);
});

test("pods (minimal traffic): a single status PATCH", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(h, makePod("web-0"));
  await h.clock.advance(1_000);
  assert.deepEqual(routes(h.api.requests), [`PATCH ${podPath("web-0")}/status`]);
  assert.deepEqual(statusPatches(h.api, "web-0"), [{ phase: "Running", podIP: "172.16.0.2" }]);
  assert.deepEqual(h.watches, [], "no watches for referenced objects either");
});

test("pods: init containers are reported initializing first, then Running", async () => {
  const h = await registered({ traffic: "kubelet" });
  bind(h, makePod("web-0", { initContainers: [{ name: "migrate", image: "migrate" }] }));
  await h.clock.advance(1_000);
  // Without a start-up latency the init container runs and completes while the first status is
  // written: the status manager writes the newest next, not each stage.
  assert.deepEqual(
    statusPatches(h.api, "web-0").map((p) => p.phase),
    ["Pending", "Running"],
    "ContainerCreating, then Running",
  );
  const [creating, running] = h.api.requests
    .filter((r) => r.method === "PATCH" && r.path === `${podPath("web-0")}/status`)
    .map((r) => r.body.status);
  assert.equal(creating?.initContainerStatuses?.[0]?.state.waiting?.reason, "PodInitializing");
  assert.equal(running?.initContainerStatuses?.[0]?.state.terminated?.exitCode, 0);
  // A slower init container (one that fails after a while) is reported running on its own.
  bind(
    h,
    makePod("slow-init", {
      restartPolicy: "Never",
      initContainers: [{ name: "m", image: "busybox", command: ["sh", "-c", "sleep 2; exit 1"] }],
    }),
  );
  await h.clock.advance(3_000);
  const slow = h.api.requests
    .filter((r) => r.method === "PATCH" && r.path === `${podPath("slow-init")}/status`)
    .map((r) => r.body.status);
  assert.deepEqual(
    slow.map((s) => [s.phase, Object.keys(s.initContainerStatuses?.[0]?.state ?? {})[0]]),
    [
      ["Pending", "waiting"],
      ["Pending", "running"],
      ["Failed", "terminated"],
    ],
  );
});

test("pods: two pods get distinct IPs; a hostNetwork pod gets the node's IP", async () => {
  for (const traffic of ["kubelet", "minimal"] as const) {
    const h = await registered({ traffic });
    h.node.observeNode(withNodeCidr("10.128.3.0/24"));
    bind(h, makePod("a"));
    bind(h, makePod("b"));
    bind(h, makePod("host", { hostNetwork: true }));
    bind(h, makePod("c"));
    await h.clock.advance(1_000);
    const ips = ["a", "b", "c"].map((n) => ipOf(h.api, n));
    assert.ok(
      ips.every((ip) => ip?.startsWith("10.128.3.")),
      `${traffic}: ${ips.join(",")}`,
    );
    assert.equal(new Set(ips).size, 3, `${traffic}: distinct`);
    assert.equal(ipOf(h.api, "host"), NODE_IP, traffic);
  }
});

test("pods: without a podCIDR the node's fallback /24 is used", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(h, makePod("a"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "a"), "172.16.0.2");
});

test("pods: a pod bound to another node is never touched", async () => {
  for (const traffic of ["kubelet", "minimal"] as const) {
    const h = await registered({ traffic });
    const other = makePod("elsewhere", { nodeName: "hollow-node-9" });
    bind(h, other);
    h.node.onPod("MODIFIED", {
      ...other,
      metadata: { ...other.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" },
    });
    h.node.onPod("DELETED", other);
    await h.clock.advance(30_000);
    assert.deepEqual(
      h.api.requests.filter((r) => !r.path.startsWith(LEASES)),
      [],
      traffic,
    );
    assert.equal(h.node.podCount, 0);
  }
});

test("pods: a Job pod succeeds after jobRunMs", async () => {
  const h = await registered({ traffic: "kubelet", jobRunMs: 5_000 });
  // A Job's pod template must say Never or OnFailure (the API server refuses Always for Jobs).
  bind(
    h,
    makePod(
      "pi-x7k2",
      { restartPolicy: "Never" },
      { ownerReferences: [{ kind: "Job", name: "pi", controller: true }] },
    ),
  );
  await h.clock.advance(0);
  assert.deepEqual(
    statusPatches(h.api, "pi-x7k2").map((p) => p.phase),
    ["Pending", "Running"],
  );
  await h.clock.advance(4_999);
  assert.deepEqual(
    statusPatches(h.api, "pi-x7k2").map((p) => p.phase),
    ["Pending", "Running"],
    "still running before jobRunMs",
  );
  await h.clock.advance(1);
  assert.deepEqual(
    statusPatches(h.api, "pi-x7k2").map((p) => p.phase),
    ["Pending", "Running", "Succeeded"],
  );
  const done = h.api.requests.filter((r) => r.path === `${podPath("pi-x7k2")}/status`).at(-1)!.body.status;
  assert.deepEqual(
    done.containerStatuses.map((c) => c.state.terminated?.exitCode),
    [0],
  );
  // A pod run until deleted does not complete on its own.
  bind(h, makePod("web-0"));
  await h.clock.advance(60_000);
  assert.deepEqual(
    statusPatches(h.api, "web-0").map((p) => p.phase),
    ["Pending", "Running"],
  );
});

test("pods: graceful deletion writes terminated status, then DELETEs with grace 0 and a uid precondition", async () => {
  for (const traffic of ["kubelet", "minimal"] as const) {
    const h = await registered({ traffic });
    const pod = makePod("web-0");
    bind(h, pod);
    await h.clock.advance(1_000);
    h.api.requests.length = 0;
    const deleting: PodObject = {
      ...pod,
      metadata: { ...pod.metadata, deletionTimestamp: "2026-01-01T00:00:30Z" },
    };
    h.api.pods.set(podPath("web-0"), deleting);
    h.node.onPod("MODIFIED", deleting);
    h.node.onPod("MODIFIED", deleting);
    await h.clock.advance(1_000);
    const podRequests = h.api.requests.filter((r) => !r.path.startsWith(LEASES));
    assert.deepEqual(routes(podRequests), [
      ...(traffic === "kubelet" ? [`GET ${podPath("web-0")}`] : []),
      `PATCH ${podPath("web-0")}/status`,
      // The status manager reads the pod once more before deleting it.
      ...(traffic === "kubelet" ? [`GET ${podPath("web-0")}`] : []),
      `DELETE ${podPath("web-0")}`,
    ]);
    const patch = podRequests.find((r) => r.method === "PATCH")!.body.status;
    assert.equal(patch.phase, "Succeeded", traffic);
    assert.ok(patch.containerStatuses.every((c) => c.state.terminated));
    assert.deepEqual(podRequests.at(-1)!.body, {
      apiVersion: "v1",
      kind: "DeleteOptions",
      gracePeriodSeconds: 0,
      preconditions: { uid: "uid-web-0" },
    });
  }
});

test("pods: deletion waits for the volumes of a running pod to unmount (WaitForUnmount's 300 ms poll), not for those of a pod that ended", async () => {
  const h = await registered({ traffic: "kubelet", jobRunMs: 5_000 });
  const job = { ownerReferences: [{ kind: "Job", name: "j", controller: true }] };
  const done = makePod("done-0", { restartPolicy: "Never" }, job);
  const web = makePod("web-0");
  bind(h, done);
  bind(h, web);
  await h.clock.advance(6_000);
  h.api.requests.length = 0;
  for (const p of [done, web]) {
    const deleting: PodObject = {
      ...p,
      metadata: { ...p.metadata, deletionTimestamp: "2026-01-01T00:00:30Z" },
    };
    h.api.pods.set(podPath(p.metadata.name), deleting);
    h.node.onPod("MODIFIED", deleting);
  }
  await h.clock.advance(100);
  const deleted = (): string[] => h.api.requests.filter((r) => r.method === "DELETE").map((r) => r.path);
  assert.deepEqual(deleted(), [podPath("done-0")], "the Job's pod that succeeded: at once");
  await h.clock.advance(300);
  assert.deepEqual(deleted(), [podPath("done-0"), podPath("web-0")], "the running pod: after its volumes");
});

test("pods: a container that ignores SIGTERM (sleep as PID 1) keeps the pod Terminating for its grace period, then exits 137", async () => {
  const h = await registered({ traffic: "minimal" });
  const pod = makePod("sleeper", {
    terminationGracePeriodSeconds: 30,
    containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"] }],
  });
  bind(h, pod);
  await h.clock.advance(1_000);
  h.api.requests.length = 0;
  const deleting: PodObject = {
    ...pod,
    metadata: { ...pod.metadata, deletionTimestamp: "2026-01-01T00:00:30Z", deletionGracePeriodSeconds: 30 },
  };
  h.api.pods.set(podPath("sleeper"), deleting);
  h.node.onPod("MODIFIED", deleting);
  const podRequests = (): Recorded[] => h.api.requests.filter((r) => !r.path.startsWith(LEASES));
  await h.clock.advance(29_000);
  assert.deepEqual(routes(podRequests()), [], "still running within the grace period");
  await h.clock.advance(1_500);
  assert.deepEqual(routes(podRequests()), [
    `PATCH ${podPath("sleeper")}/status`,
    `DELETE ${podPath("sleeper")}`,
  ]);
  const term = podRequests()[0]!.body.status.containerStatuses[0]!.state.terminated;
  assert.equal(term?.exitCode, 137, "killed when the grace period ended");
});

test("pods: a pod already being deleted when first seen is deleted without being started", async () => {
  const h = await registered({ traffic: "minimal" });
  const pod = makePod("web-0", {}, { deletionTimestamp: "2026-01-01T00:00:00Z" });
  bind(h, pod);
  await h.clock.advance(1_000);
  assert.deepEqual(routes(h.api.requests.filter((r) => !r.path.startsWith(LEASES))), [
    `DELETE ${podPath("web-0")}`,
  ]);
});

test("pods: a DELETED event releases the IP, and a later pod reuses it", async () => {
  const h = await registered({ traffic: "minimal" });
  // A /29 has five pod addresses: .2 to .6.
  h.node.observeNode(withNodeCidr("10.128.3.0/29"));
  for (const n of ["p1", "p2", "p3", "p4", "p5"]) bind(h, makePod(n));
  await h.clock.advance(1_000);
  assert.deepEqual(
    ["p1", "p2", "p3", "p4", "p5"].map((n) => ipOf(h.api, n)),
    ["10.128.3.2", "10.128.3.3", "10.128.3.4", "10.128.3.5", "10.128.3.6"],
  );
  h.node.onPod("DELETED", makePod("p2"));
  assert.equal(h.node.podCount, 4);
  bind(h, makePod("p6"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "p6"), "10.128.3.3");
});

test("pods: a pod that finds the pod CIDR full starts once an address is freed", async () => {
  const h = await registered({ traffic: "minimal" });
  h.node.observeNode(withNodeCidr("10.128.3.0/30")); // one pod address
  bind(h, makePod("first"));
  bind(h, makePod("waiting"));
  await h.clock.advance(10_000);
  assert.equal(ipOf(h.api, "first"), "10.128.3.2");
  assert.deepEqual(statusPatches(h.api, "waiting"), [], "no address, so not Running");
  h.node.onPod("DELETED", makePod("first"));
  await h.clock.advance(10_000);
  assert.deepEqual(statusPatches(h.api, "waiting"), [{ phase: "Running", podIP: "10.128.3.2" }]);
});
