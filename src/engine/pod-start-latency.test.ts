// The start-up latency model on the node (the sandbox, then the containers) and the status a
// deleted pod gets before its containers are killed, as upstream kubemark's kubelet writes them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SANDBOX_LATENCY_ANNOTATION } from "./container-run.ts";
import type { PodObject } from "./pod-object.ts";
import {
  LEASES,
  registered,
  routes,
  makePod,
  podPath,
  bind,
  writtenStatuses,
} from "./testdata/hollow-node-harness.ts";

const LATENCY = { sandbox: { minMs: 300, maxMs: 300 }, containersMs: 10 };

/** What these tests read of a written pod status. */
interface Status {
  phase: string;
  podIP?: string;
  observedGeneration?: number;
  conditions: { type: string; status: string; observedGeneration?: number }[];
  containerStatuses: { state: { running?: unknown; waiting?: { reason: string } } }[];
  initContainerStatuses?: { state: { waiting?: { reason: string } } }[];
}
const statuses = (h: Awaited<ReturnType<typeof registered>>, name: string): Status[] =>
  writtenStatuses(h.api, name);
const ready = (s: Status): string | undefined =>
  s.conditions.find((c) => c.type === "PodReadyToStartContainers")?.status;
const summary = (s: Status): string =>
  `${s.phase} sandbox=${ready(s)} ${s.containerStatuses[0]!.state.running ? "running" : s.containerStatuses[0]!.state.waiting?.reason} ip=${s.podIP ?? "-"}`;

test("start-up latency (kubelet traffic): Pending at once, the sandbox ready after its latency, Running 10 ms later", async () => {
  const h = await registered({ traffic: "kubelet", podStartLatency: LATENCY });
  bind(h, makePod("web-0"));
  await h.clock.advance(299);
  assert.deepEqual(statuses(h, "web-0").map(summary), ["Pending sandbox=False ContainerCreating ip=-"]);
  await h.clock.advance(1);
  assert.deepEqual(statuses(h, "web-0").map(summary), [
    "Pending sandbox=False ContainerCreating ip=-",
    "Pending sandbox=True ContainerCreating ip=-",
  ]);
  await h.clock.advance(9);
  assert.equal(statuses(h, "web-0").length, 2, "the containers take 10 ms to start");
  await h.clock.advance(1);
  const all = statuses(h, "web-0");
  assert.equal(all.length, 3);
  assert.match(summary(all[2]!), /^Running sandbox=True running ip=\d+\.\d+\.\d+\.\d+$/);
  // Each status write is the status manager's GET then PATCH.
  assert.deepEqual(
    routes(h.api.requests.filter((r) => !r.path.startsWith(LEASES) && r.method !== "POST")),
    Array.from({ length: 3 }, () => [`GET ${podPath("web-0")}`, `PATCH ${podPath("web-0")}/status`]).flat(),
  );
});

test("start-up latency: the pod's annotation overrides the fleet's (0: at once, as without the model)", async () => {
  const h = await registered({ traffic: "kubelet", podStartLatency: LATENCY });
  bind(h, makePod("fast", {}, { annotations: { [SANDBOX_LATENCY_ANNOTATION]: "0" } }));
  bind(h, makePod("slow", {}, { annotations: { [SANDBOX_LATENCY_ANNOTATION]: "2s" } }));
  await h.clock.advance(100);
  assert.deepEqual(
    statuses(h, "fast").map((s) => s.phase),
    ["Pending", "Running"],
  );
  await h.clock.advance(1_899);
  assert.deepEqual(
    statuses(h, "slow").map((s) => `${s.phase} ${ready(s)}`),
    ["Pending False"],
  );
  await h.clock.advance(11);
  assert.deepEqual(
    statuses(h, "slow").map((s) => `${s.phase} ${ready(s)}`),
    ["Pending False", "Pending True", "Running True"],
  );
});

test("start-up latency (minimal traffic): one Running status, once the sandbox and the containers have started", async () => {
  const h = await registered({ traffic: "minimal", podStartLatency: LATENCY });
  bind(h, makePod("web-0"));
  await h.clock.advance(309);
  assert.equal(statuses(h, "web-0").length, 0);
  await h.clock.advance(1);
  assert.deepEqual(
    statuses(h, "web-0").map((s) => s.phase),
    ["Running"],
  );
});

test("start-up latency: with init containers, the sandbox ready shows them waiting, then they run", async () => {
  const h = await registered({ traffic: "kubelet", podStartLatency: LATENCY });
  bind(h, makePod("init-0", { initContainers: [{ name: "setup", image: "busybox", command: ["true"] }] }));
  await h.clock.advance(1_000);
  const all = statuses(h, "init-0");
  assert.deepEqual(
    all.map(
      (s) =>
        `${s.phase} sandbox=${ready(s)} init=${s.initContainerStatuses![0]!.state.waiting?.reason ?? Object.keys(s.initContainerStatuses![0]!.state)[0]}`,
    ),
    [
      "Pending sandbox=False init=PodInitializing",
      "Pending sandbox=True init=PodInitializing",
      "Pending sandbox=True init=running",
      "Running sandbox=True init=terminated",
    ],
  );
  assert.equal(
    all[1]!.conditions.find((c) => c.type === "Initialized")?.status,
    "False",
    "not initialized before its init containers ran",
  );
});

test("deletion (kubelet traffic): a generation bumped by the graceful deletion is observed in a status before the kill", async () => {
  for (const bumped of [true, false]) {
    const h = await registered({ traffic: "kubelet" });
    const pod = makePod("web-0", {}, { generation: 1 });
    bind(h, pod);
    await h.clock.advance(1_000);
    h.api.requests.length = 0;
    const deleting: PodObject = {
      ...pod,
      metadata: { ...pod.metadata, deletionTimestamp: "2026-01-01T00:00:30Z", generation: bumped ? 2 : 1 },
    };
    h.api.pods.set(podPath("web-0"), deleting);
    h.node.onPod("MODIFIED", deleting);
    await h.clock.advance(1_000);
    const podRequests = h.api.requests.filter((r) => !r.path.startsWith(LEASES));
    const write = [`GET ${podPath("web-0")}`, `PATCH ${podPath("web-0")}/status`];
    assert.deepEqual(routes(podRequests), [
      ...(bumped ? write : []),
      ...write,
      `GET ${podPath("web-0")}`,
      `DELETE ${podPath("web-0")}`,
    ]);
    const written = podRequests
      .filter((r) => r.method === "PATCH")
      .map((r) => r.body.status as unknown as Status);
    if (bumped) {
      const first = written[0]!;
      assert.equal(first.phase, "Running", "the status as it is: the containers still run");
      assert.equal(first.observedGeneration, 2);
      assert.ok(first.conditions.every((c) => c.observedGeneration === 2));
    }
    assert.equal(written.at(-1)!.phase, "Succeeded");
  }
});
