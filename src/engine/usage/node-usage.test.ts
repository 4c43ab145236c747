import { test } from "node:test";
import assert from "node:assert/strict";
import { T0, container, fakeNode, pod } from "./testdata/usage-fixtures.ts";
import { NodeUsage } from "./node-usage.ts";
import { DEFAULT_USAGE, type UsageDefaults } from "./usage-defaults.ts";

const MI = 2 ** 20;
const QUIET: UsageDefaults = { ...DEFAULT_USAGE, noise: 0 };

test("default model: 10 % of the CPU request, 50 % of the memory request, floors without requests, node = overhead + pods", () => {
  const node = fakeNode([
    pod("web", [
      container("app"),
      container("bare", { cpuRequestMilli: undefined, memoryRequestBytes: undefined }),
    ]),
  ]);
  const s = new NodeUsage(QUIET, node.name).sample(node, T0 + 60_000);
  const app = s.containers.find((c) => c.name === "app")!;
  const bare = s.containers.find((c) => c.name === "bare")!;
  assert.equal(app.cpuNanoCores, 50e6);
  assert.equal(app.cpuNs, 50e-3 * 60 * 1e9);
  assert.equal(app.memoryBytes, 128 * MI);
  assert.equal(bare.cpuNanoCores, 1e6);
  assert.equal(bare.memoryBytes, 4 * MI);
  assert.equal(s.memoryBytes, 500 * MI + 132 * MI);
  assert.equal(s.cpuNanoCores, 100e6 + 51e6);
  // The node's counter: 100m since it started an hour before T0, plus the pod's.
  assert.ok(Math.abs(s.cpuNs - (0.1 * 3660 * 1e9 + 51e-3 * 60 * 1e9)) < 1);
});

test("annotations: a constant, a share of the request, a per-container override, and limits cap", () => {
  const node = fakeNode([
    pod("a", [container("app"), container("side")], {
      "kubemark-cluster.io/cpu-usage": "250m",
      "kubemark-cluster.io/memory-usage": "200Mi",
      "kubemark-cluster.io/cpu-usage.side": "20%",
    }),
    pod("b", [container("app", { cpuLimitMilli: 300, memoryLimitBytes: 100 * MI })], {
      "kubemark-cluster.io/cpu-usage": "2",
      "kubemark-cluster.io/memory-usage": "1Gi",
    }),
  ]);
  const s = new NodeUsage(DEFAULT_USAGE, node.name).sample(node, T0 + 10_000);
  const get = (p: string, c: string) => s.containers.find((x) => x.pod.name === p && x.name === c)!;
  assert.equal(get("a", "app").cpuNanoCores, 250e6, "annotation values carry no noise");
  assert.equal(get("a", "side").cpuNanoCores, 100e6);
  assert.equal(get("a", "side").memoryBytes, 200 * MI);
  assert.equal(get("b", "app").cpuNanoCores, 300e6);
  assert.equal(get("b", "app").memoryBytes, 100 * MI);
});

test("raising then lowering the annotation keeps the CPU counter monotonic and shows the new rate in the next window", () => {
  const node = fakeNode([pod("w", [container("app")], { "kubemark-cluster.io/cpu-usage": "100m" })]);
  const model = new NodeUsage(QUIET, node.name);
  const at = (ms: number) => model.sample(node, T0 + ms).containers[0]!.cpuNs;
  const c15 = at(15_000);
  const c30 = at(30_000);
  assert.equal(c30 - c15, 0.1 * 15 * 1e9);
  node.pods = [pod("w", [container("app")], { "kubemark-cluster.io/cpu-usage": "900m" })];
  const c45 = at(45_000);
  assert.equal(c45 - c30, 0.9 * 15 * 1e9, "the window after the change is at the new rate");
  node.pods = [pod("w", [container("app")], { "kubemark-cluster.io/cpu-usage": "50m" })];
  const c60 = at(60_000);
  const c75 = at(75_000);
  assert.ok(c60 > c45 && c75 > c60);
  assert.equal(c75 - c60, 0.05 * 15 * 1e9);
  // Two samples at one time agree.
  assert.equal(at(75_000), c75);
});

test("a restart starts the container's counter from zero; the pod's and node's counters keep growing", () => {
  const node = fakeNode([pod("r", [container("app")])]);
  const model = new NodeUsage(QUIET, node.name);
  const s1 = model.sample(node, T0 + 100_000);
  const [pod1, node1] = [s1.pods[0]!.cpuNs, s1.cpuNs];
  node.pods = [pod("r", [container("app", { startedAtMs: T0 + 110_000 })])];
  const s2 = model.sample(node, T0 + 120_000);
  assert.equal(s2.containers[0]!.cpuNs, 0.05 * 10 * 1e9);
  assert.equal(s2.containers[0]!.startedAtMs, T0 + 110_000);
  assert.ok(s2.pods[0]!.cpuNs > pod1 && s2.cpuNs > node1);
  const node2 = s2.cpuNs;
  // The pod goes: the node's counter keeps its CPU time (the sample object is reused).
  node.pods = [];
  const s3 = model.sample(node, T0 + 130_000);
  assert.equal(s3.pods.length, 0);
  assert.equal(s3.cpuNs, node2 + 0.1 * 10 * 1e9);
  assert.equal(s3.memoryBytes, 500 * MI);
});

test("a container not started by the sample is left out; a pod with none running too", () => {
  const node = fakeNode([
    pod("later", [container("app", { startedAtMs: T0 + 5_000 })]),
    pod("half", [container("app"), container("init-next", { startedAtMs: undefined })]),
  ]);
  const s = new NodeUsage(QUIET, node.name).sample(node, T0 + 1_000);
  assert.deepEqual(
    s.containers.map((c) => `${c.pod.name}/${c.name}`),
    ["half/app"],
  );
  assert.equal(s.sandboxes, 2);
});

test("a bad annotation: the default model, and the problem reported once per value", () => {
  const node = fakeNode([
    pod("bad", [container("a"), container("b")], { "kubemark-cluster.io/cpu-usage": "lots" }),
  ]);
  const model = new NodeUsage(QUIET, node.name);
  const s = model.sample(node, T0 + 10_000);
  assert.equal(s.containers[0]!.cpuNanoCores, 50e6);
  const problems = model.takeProblems();
  assert.equal(problems.length, 1);
  assert.match(
    problems[0]!.message,
    /annotation kubemark-cluster.io\/cpu-usage "lots" is not a usage: give .*250m.*; using the default model/,
  );
  assert.equal(problems[0]!.pod, "bad");
  model.sample(node, T0 + 20_000);
  node.pods = [pod("bad", [container("a"), container("b")], { "kubemark-cluster.io/cpu-usage": "lots" })];
  model.sample(node, T0 + 30_000);
  assert.deepEqual(model.takeProblems(), []);
  node.pods = [
    pod("bad", [container("a", { cpuRequestMilli: undefined }), container("b")], {
      "kubemark-cluster.io/cpu-usage": "50%",
    }),
  ];
  model.sample(node, T0 + 40_000);
  const p2 = model.takeProblems();
  assert.equal(p2.length, 1);
  assert.match(p2[0]!.message, /share of the cpu request, which container a does not set/);
});

test("noise is bounded, deterministic per pod and container, and the node's counter is monotonic over an hour", () => {
  const pods = Array.from({ length: 30 }, (_, i) => pod(`p${i}`, [container("app")]));
  const a = new NodeUsage(DEFAULT_USAGE, "n");
  const b = new NodeUsage(DEFAULT_USAGE, "n");
  const node = fakeNode(pods);
  let last = 0;
  for (let t = T0 + 1; t < T0 + 3_600_000; t += 15_000) {
    const sa = a.sample(node, t);
    const rates = sa.containers.map((c) => c.cpuNanoCores);
    for (const r of rates) assert.ok(r >= 45e6 - 1 && r <= 55e6 + 1, String(r));
    assert.ok(sa.cpuNs > last);
    last = sa.cpuNs;
    assert.deepEqual(
      b.sample(node, t).containers.map((c) => c.cpuNanoCores),
      rates,
    );
  }
});

test("a pod update with the same usage annotations (a new object) keeps the model; other annotations do not matter", () => {
  const ann = { "kubemark-cluster.io/cpu-usage": "200m" };
  const node = fakeNode([pod("u", [container("app")], ann)]);
  const model = new NodeUsage(QUIET, node.name);
  const c1 = model.sample(node, T0 + 15_000).containers[0]!;
  const curve = c1.cpu;
  node.pods = [pod("u", [container("app")], { ...ann, "deployment.kubernetes.io/revision": "2" })];
  const c2 = model.sample(node, T0 + 30_000).containers[0]!;
  assert.equal(c2, c1, "the container's state is kept");
  assert.equal(c2.cpu, curve);
  assert.equal(c2.cpuNs, 0.2 * 30 * 1e9);
});
