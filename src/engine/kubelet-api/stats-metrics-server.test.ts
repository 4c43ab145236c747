/*
 * /metrics/resource as metrics-server v0.8.0 reads it: a strict parser of the text format (what
 * prometheus' textparse accepts) and a port of pkg/scraper/client/resource/decode.go's checks
 * (a node without CPU time or memory, or a pod with a container reporting zero, is dropped), then
 * pkg/storage's rate over two scrapes, which is what `kubectl top` and the HPA see.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NodeUsage } from "../usage/node-usage.ts";
import { DEFAULT_USAGE } from "../usage/usage-defaults.ts";
import { T0, container, fakeNode, pod } from "../usage/testdata/usage-fixtures.ts";
import { renderResourceMetrics } from "./stats-endpoints.ts";

interface Point {
  startMs?: number;
  tsMs?: number;
  cpuNs: number;
  memory: number;
}

interface Batch {
  node: Point | undefined;
  pods: Map<string, Map<string, Point>>;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SERIES = new RegExp(`^(${NAME})(\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? (\\S+)(?: (-?\\d+))?$`);
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/;

/** decodeBatch: every line must parse (else the whole scrape fails), then the checks on what was read. */
function decode(text: string, scrapeMs: number): Batch {
  assert.ok(text.endsWith("\n"), "the last line must end with a newline");
  let node: Point | undefined = { cpuNs: 0, memory: 0 };
  const pods = new Map<string, Map<string, Point>>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("#")) {
      assert.match(
        line,
        new RegExp(`^# (?:HELP ${NAME} .*|TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped))$`),
        line,
      );
      continue;
    }
    const m = SERIES.exec(line);
    assert.ok(m, `not a series line: ${line}`);
    const [, name, labels = "", value, ts] = m;
    assert.match(value!, FLOAT, line);
    const v = Number(value);
    const at = ts === undefined ? scrapeMs : Number(ts);
    const label = (k: string) => new RegExp(`[{,]${k}="([^"]*)"`).exec(labels)?.[1] ?? "";
    const point = (): Point => {
      const key = `${label("namespace")}/${label("pod")}`;
      let p = pods.get(key);
      if (!p) pods.set(key, (p = new Map<string, Point>()));
      let c = p.get(label("container"));
      if (!c) p.set(label("container"), (c = { cpuNs: 0, memory: 0 }));
      return c;
    };
    if (name === "node_cpu_usage_seconds_total")
      Object.assign(node, { cpuNs: Math.floor(v * 1e9), tsMs: at });
    else if (name === "node_memory_working_set_bytes")
      Object.assign(node, { memory: Math.floor(v), tsMs: at });
    else if (name === "container_cpu_usage_seconds_total")
      Object.assign(point(), { cpuNs: Math.floor(v * 1e9), tsMs: at });
    else if (name === "container_memory_working_set_bytes")
      Object.assign(point(), { memory: Math.floor(v), tsMs: at });
    else if (name === "container_start_time_seconds") point().startMs = v * 1000;
  }
  if (node.tsMs === undefined || node.cpuNs === 0 || node.memory === 0) node = undefined;
  for (const [key, containers] of pods)
    for (const c of containers.values()) if (c.cpuNs === 0 || c.memory === 0) pods.delete(key);
  return { node, pods };
}

/** pkg/storage: the CPU rate (millicores) between two points of one series, as metrics-server reports it. */
function rateMilli(prev: Point, last: Point): number {
  assert.ok(last.cpuNs >= prev.cpuNs, "unexpected decrease in cumulative CPU usage value");
  return (last.cpuNs - prev.cpuNs) / (last.tsMs! - prev.tsMs!) / 1000;
}

test("metrics-server reads every node and pod figure; kubectl top shows the modelled usage", () => {
  const pods = Array.from({ length: 30 }, (_, i) =>
    pod(`web-${i}`, [
      container("app"),
      container("sidecar", { cpuRequestMilli: 100, memoryRequestBytes: 64 * 2 ** 20 }),
    ]),
  );
  const node = fakeNode(pods);
  const model = new NodeUsage(DEFAULT_USAGE, node.name);
  const a = decode(renderResourceMetrics(node, T0 + 60_000, model), T0 + 60_000);
  const b = decode(renderResourceMetrics(node, T0 + 75_000, model), T0 + 75_000);
  assert.ok(a.node && b.node);
  assert.equal(b.pods.size, 30);
  const nodeMilli = rateMilli(a.node, b.node);
  // 100m overhead + 30 x (50m + 10m), each within the ±10 % noise.
  assert.ok(nodeMilli > 0.9 * 1900 && nodeMilli < 1.1 * 1900, String(nodeMilli));
  for (const [key, containers] of b.pods) {
    const app = rateMilli(a.pods.get(key)!.get("app")!, containers.get("app")!);
    assert.ok(app >= 45 - 1e-6 && app <= 55 + 1e-6, `${key} app ${app}`);
    const mem = containers.get("app")!.memory;
    assert.ok(mem >= 0.9 * 128 * 2 ** 20 && mem <= 1.1 * 128 * 2 ** 20, String(mem));
    assert.ok(containers.get("app")!.startMs! <= b.node.tsMs!);
  }
});

test("an HPA test's annotation is what metrics-server computes for the pod, in the first window after it changes", () => {
  const node = fakeNode([pod("hpa-0", [container("app")], { "kubemark-cluster.io/cpu-usage": "100m" })]);
  const model = new NodeUsage(DEFAULT_USAGE, node.name);
  const scrape = (ms: number) => decode(renderResourceMetrics(node, T0 + ms, model), T0 + ms);
  const cpu = (x: Batch) => x.pods.get("default/hpa-0")!.get("app")!;
  const s0 = scrape(15_000);
  const s1 = scrape(30_000);
  assert.equal(Math.round(rateMilli(cpu(s0), cpu(s1))), 100);
  node.pods = [pod("hpa-0", [container("app")], { "kubemark-cluster.io/cpu-usage": "400%" })];
  const s2 = scrape(45_000);
  assert.equal(Math.round(rateMilli(cpu(s1), cpu(s2))), 2000);
  node.pods = [pod("hpa-0", [container("app")], { "kubemark-cluster.io/cpu-usage": "10m" })];
  const s3 = scrape(60_000);
  assert.equal(Math.round(rateMilli(cpu(s2), cpu(s3))), 10);
});

test("a fresh container: metrics-server's first point is its start with zero CPU, which the counter agrees with", () => {
  // pkg/storage: a container 10-15 s old gets a previous point at its start time with no CPU time.
  const node = fakeNode([
    pod("fresh", [container("app", { startedAtMs: T0 })], { "kubemark-cluster.io/cpu-usage": "300m" }),
  ]);
  const b = decode(
    renderResourceMetrics(node, T0 + 12_000, new NodeUsage(DEFAULT_USAGE, node.name)),
    T0 + 12_000,
  );
  const c = b.pods.get("default/fresh")!.get("app")!;
  assert.equal(Math.round(rateMilli({ cpuNs: 0, memory: 0, tsMs: c.startMs! }, c)), 300);
});

test("a container that starts after the scrape is not served (metrics-server would take it for a restart and drop the pod)", () => {
  const node = fakeNode([
    pod("soon", [container("app", { startedAtMs: T0 + 5_000 })]),
    pod("now", [container("app")]),
  ]);
  const b = decode(
    renderResourceMetrics(node, T0 + 1_000, new NodeUsage(DEFAULT_USAGE, node.name)),
    T0 + 1_000,
  );
  assert.deepEqual([...b.pods.keys()], ["default/now"]);
});

test("periodic patterns: metrics-server's 15 s windows follow the wave, and a whole period averages to its mean", () => {
  const node = fakeNode([
    pod("sine", [container("app")], { "kubemark-cluster.io/cpu-usage": "sine min=100m max=900m period=1m" }),
    pod("square", [container("app")], {
      "kubemark-cluster.io/cpu-usage": "square low=100m high=900m period=1m duty=25%",
    }),
  ]);
  const model = new NodeUsage(DEFAULT_USAGE, node.name);
  const start = Math.ceil((T0 + 1000) / 60_000) * 60_000 - T0; // a period boundary after the containers start
  const scrapes = [0, 15_000, 30_000, 45_000, 60_000].map((d) =>
    decode(renderResourceMetrics(node, T0 + start + d, model), T0 + start + d),
  );
  const app = (b: Batch, p: string) => b.pods.get(`default/${p}`)!.get("app")!;
  const windows = (p: string) =>
    scrapes.slice(1).map((b, i) => Math.round(rateMilli(app(scrapes[i]!, p), app(b, p))));
  // Sine from its minimum: the mean of each quarter, 500 -/+ 800/(2*pi)*... rising then falling.
  const sine = windows("sine");
  assert.ok(sine[0]! < 500 && sine[1]! > 500 && sine[2]! > 500 && sine[3]! < 500, sine.join(","));
  assert.deepEqual(windows("square"), [900, 100, 100, 100]);
  assert.equal(Math.round(rateMilli(app(scrapes[0]!, "sine"), app(scrapes[4]!, "sine"))), 500);
  assert.equal(Math.round(rateMilli(app(scrapes[0]!, "square"), app(scrapes[4]!, "square"))), 300);
});
