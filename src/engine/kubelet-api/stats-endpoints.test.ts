import { test } from "node:test";
import assert from "node:assert/strict";
import { NodeUsage } from "../usage/node-usage.ts";
import { DEFAULT_USAGE } from "../usage/usage-defaults.ts";
import { T0, container, fakeNode, pod } from "../usage/testdata/usage-fixtures.ts";
import { promFloat, renderKubeletMetrics, renderResourceMetrics } from "./stats-endpoints.ts";
import { renderStatsSummary } from "./stats-summary.ts";

const QUIET = { ...DEFAULT_USAGE, noise: 0 };

test("promFloat writes numbers as Go's strconv 'g' with shortest digits (Prometheus' text encoder)", () => {
  const cases: Array<[number, string]> = [
    [0, "0"],
    [1, "1"],
    [2.387116, "2.387116"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [0.000012345, "1.2345e-05"],
    [123456.5, "123456.5"],
    [999999, "999999"],
    [1e6, "1e+06"],
    [13336576, "1.3336576e+07"],
    [1764504000.123, "1.764504000123e+09"],
    [1.5e21, "1.5e+21"],
    [1e100, "1e+100"],
    [-2.5, "-2.5"],
    [NaN, "NaN"],
    [Infinity, "+Inf"],
  ];
  for (const [v, s] of cases) assert.equal(promFloat(v), s, String(v));
});

test("/metrics/resource is the kubelet's text, byte for byte", () => {
  const node = fakeNode(
    [
      pod("web-1", [container("app", { startedAtMs: T0 - 60_000 })]),
      {
        ...pod("db-0", [container("db", { startedAtMs: T0 - 30_000, cpuRequestMilli: 1000 })]),
        namespace: "data",
      },
    ],
    T0 - 3_600_000,
  );
  const text = renderResourceMetrics(node, T0 + 500, new NodeUsage(QUIET, node.name));
  const ts = T0 + 500;
  assert.equal(
    text,
    `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web-1"} 3.025 ${ts}
container_cpu_usage_seconds_total{container="db",namespace="data",pod="db-0"} 3.05 ${ts}
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web-1"} 1.34217728e+08 ${ts}
container_memory_working_set_bytes{container="db",namespace="data",pod="db-0"} 1.34217728e+08 ${ts}
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web-1"} 1.79603994e+09
container_start_time_seconds{container="db",namespace="data",pod="db-0"} 1.79603997e+09
# HELP container_swap_usage_bytes [ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems
# TYPE container_swap_usage_bytes gauge
container_swap_usage_bytes{container="app",namespace="default",pod="web-1"} 0 ${ts}
container_swap_usage_bytes{container="db",namespace="data",pod="db-0"} 0 ${ts}
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 366.125 ${ts}
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 7.92723456e+08 ${ts}
# HELP node_swap_usage_bytes [ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems
# TYPE node_swap_usage_bytes gauge
node_swap_usage_bytes 0 ${ts}
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="data",pod="db-0"} 3.05 ${ts}
pod_cpu_usage_seconds_total{namespace="default",pod="web-1"} 3.025 ${ts}
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace="data",pod="db-0"} 1.34217728e+08 ${ts}
pod_memory_working_set_bytes{namespace="default",pod="web-1"} 1.34217728e+08 ${ts}
# HELP pod_swap_usage_bytes [ALPHA] Current amount of the pod swap usage in bytes. Reported only on non-windows systems
# TYPE pod_swap_usage_bytes gauge
pod_swap_usage_bytes{namespace="data",pod="db-0"} 0 ${ts}
pod_swap_usage_bytes{namespace="default",pod="web-1"} 0 ${ts}
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
`,
  );
});

test("/metrics/resource of a node without running containers has no container or pod families", () => {
  const node = fakeNode([pod("later", [container("app", { startedAtMs: T0 + 60_000 })])]);
  const text = renderResourceMetrics(node, T0, new NodeUsage(QUIET, node.name));
  assert.deepEqual(
    text.split("\n").filter((l) => l.startsWith("# TYPE")),
    [
      "# TYPE node_cpu_usage_seconds_total counter",
      "# TYPE node_memory_working_set_bytes gauge",
      "# TYPE node_swap_usage_bytes gauge",
      "# TYPE resource_scrape_error gauge",
    ],
  );
});

test("/metrics has the kubelet's node name, running pods and containers, and start time", () => {
  const node = fakeNode([
    pod("a", [container("x"), container("y")]),
    pod("b", [container("z", { startedAtMs: undefined })]),
  ]);
  const text = renderKubeletMetrics(node, T0 + 1000, new NodeUsage(QUIET, node.name));
  assert.match(text, /^kubelet_node_name\{node="hollow-node-0"\} 1$/m);
  assert.match(text, /^kubelet_running_pods 2$/m);
  assert.match(text, /^kubelet_running_containers\{container_state="running"\} 2$/m);
  assert.match(text, /^process_start_time_seconds 1\.7960364e\+09$/m);
  assert.match(
    text,
    /^# HELP kubelet_running_pods \[ALPHA\] Number of pods that have a running pod sandbox$/m,
  );
});

test("/stats/summary has the kubelet's shape and the model's figures", () => {
  const node = fakeNode(
    [pod("web-1", [container("app", { memoryLimitBytes: 512 * 2 ** 20 })])],
    T0 - 3_600_000,
  );
  const model = new NodeUsage(QUIET, node.name);
  const summary = JSON.parse(renderStatsSummary(node, T0 + 10_000, model)) as {
    node: Record<string, unknown> & { cpu: Record<string, unknown>; memory: Record<string, number> };
    pods: Array<Record<string, unknown> & { containers: Array<Record<string, unknown>> }>;
  };
  assert.equal(summary.node.nodeName, "hollow-node-0");
  assert.equal(summary.node.startTime, "2026-11-30T11:00:00Z");
  assert.deepEqual(summary.node.cpu, {
    time: "2026-11-30T12:00:10Z",
    usageNanoCores: 150_000_000,
    usageCoreNanoSeconds: 0.1 * 3610 * 1e9 + 0.05 * 10 * 1e9,
  });
  assert.equal(summary.node.memory.workingSetBytes, (500 + 128) * 2 ** 20);
  assert.equal(summary.node.memory.availableBytes, 16 * 2 ** 30 - (500 + 128) * 2 ** 20);
  assert.deepEqual(summary.pods[0]!.podRef, { name: "web-1", namespace: "default", uid: "uid-web-1" });
  assert.deepEqual(summary.pods[0]!.containers[0], {
    name: "app",
    startTime: "2026-11-30T12:00:00Z",
    cpu: { time: "2026-11-30T12:00:10Z", usageNanoCores: 50_000_000, usageCoreNanoSeconds: 500_000_000 },
    memory: {
      time: "2026-11-30T12:00:10Z",
      availableBytes: 384 * 2 ** 20,
      usageBytes: 160 * 2 ** 20,
      workingSetBytes: 128 * 2 ** 20,
      rssBytes: Math.round(128 * 2 ** 20 * 0.8),
      pageFaults: 500,
      majorPageFaults: 0,
    },
    swap: { time: "2026-11-30T12:00:10Z", swapUsageBytes: 0 },
  });
  assert.deepEqual(summary.pods[0]!.network, {
    time: "2026-11-30T12:00:10Z",
    name: "eth0",
    rxBytes: 11 * 1024,
    rxErrors: 0,
    txBytes: 11 * 512,
    txErrors: 0,
    interfaces: [{ name: "eth0", rxBytes: 11 * 1024, rxErrors: 0, txBytes: 11 * 512, txErrors: 0 }],
  });
  const only = JSON.parse(
    renderStatsSummary(node, T0 + 10_000, model, { onlyCpuAndMemory: true }),
  ) as typeof summary;
  assert.deepEqual(Object.keys(only.node).sort(), [
    "cpu",
    "memory",
    "nodeName",
    "startTime",
    "systemContainers",
  ]);
  assert.deepEqual(Object.keys(only.pods[0]!).sort(), ["containers", "cpu", "memory", "podRef", "startTime"]);
});

test("promFloat's fast path agrees with toExponential for a range of magnitudes", () => {
  let x = 1.2345e6;
  for (let i = 0; i < 2000; i++) {
    x = (x * 1.0137 + 7.3) % 1e20;
    if (x < 1e6) x += 1e6;
    for (const v of [x, Math.floor(x), -x]) {
      const e = v.toExponential().replace(/e\+(\d)$/, "e+0$1");
      assert.equal(promFloat(v), e, String(v));
    }
  }
});
