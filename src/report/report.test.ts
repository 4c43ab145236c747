import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FakeClock } from "../kernel/clock.ts";
import { KubemarkError } from "../kernel/errors.ts";
import { apiLatencyRows, callClass, verdictFor, windowBuckets } from "./api-latency.ts";
import { leaseFreshness, notReadyTransitions, renewalGaps, type LeaseTimes } from "./fleet-health.ts";
import { podStartup, type PodTimes } from "./pod-startup.ts";
import { parsePrometheusText } from "./prometheus-text.ts";
import { renderReportHtml } from "./render-html.ts";
import { renderReportText } from "./render-text.ts";
import { sloFailure } from "./summary.ts";
import { gapsFrom, parseDuration, report, type ReportResult, type ReportSource } from "./report.ts";

const LE = ["0.05", "0.1", "0.2", "0.4", "1", "5", "30", "60", "+Inf"];

/** A /metrics text with one SLI histogram series per entry (cumulative counts per LE). */
function metricsText(
  series: Array<{ verb: string; resource: string; scope: string; counts: number[]; component?: string }>,
  start = 1_767_225_000,
): string {
  const lines = [`process_start_time_seconds ${start}`];
  for (const s of series) {
    const l = `component="${s.component ?? "apiserver"}",resource="${s.resource}",scope="${s.scope}",subresource="",verb="${s.verb}"`;
    LE.forEach((le, i) =>
      lines.push(`apiserver_request_sli_duration_seconds_bucket{${l},le="${le}"} ${s.counts[i]}`),
    );
    lines.push(`apiserver_request_sli_duration_seconds_count{${l}} ${s.counts[LE.length - 1]}`);
  }
  return lines.join("\n") + "\n";
}
const fill = (n: number, at: number, tail = n): number[] =>
  LE.map((_, i) => (i < at ? 0 : i === LE.length - 1 ? tail : n));

test("API latency rows: p99 per (verb, resource, scope) against 1 s / 30 s, summed over other labels", () => {
  const samples = parsePrometheusText(
    metricsText([
      { verb: "PUT", resource: "leases", scope: "resource", counts: fill(100, 0) },
      { verb: "PUT", resource: "leases", scope: "resource", counts: fill(100, 0), component: "x" },
      { verb: "LIST", resource: "pods", scope: "cluster", counts: [0, 0, 0, 0, 0, 50, 100, 100, 100] },
      { verb: "POST", resource: "pods", scope: "resource", counts: [0, 0, 0, 90, 95, 100, 100, 100, 100] },
      { verb: "WATCH", resource: "pods", scope: "cluster", counts: fill(5, 7) },
    ]),
  );
  const rows = apiLatencyRows(windowBuckets("apiserver_request_sli_duration_seconds", samples, undefined));
  const by = (v: string, r: string) => rows.find((x) => x.verb === v && x.resource === r)!;
  assert.equal(rows.length, 3, "WATCH is not an SLI call");
  assert.equal(by("PUT", "leases").count, 200);
  assert.deepEqual(by("PUT", "leases").p99, { upper: 0.05, lower: 0 });
  assert.equal(by("LIST", "pods").verdict, "PASS");
  assert.equal(by("LIST", "pods").limitSeconds, 30);
  assert.equal(by("POST", "pods").verdict, "FAIL", "p99 in (1, 5]");
  assert.equal(rows[0]!.verb, "POST", "failures first");
  assert.equal(verdictFor({ upper: 1.25, lower: 0.8 }, 1), "UNKNOWN");
  assert.equal(callClass("GET", "resource"), "read-only single");
  assert.equal(callClass("DELETECOLLECTION", "namespace"), "list");
  assert.equal(callClass("PATCH", "resource"), "mutating");
});

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();
function pod(
  name: string,
  node: string | undefined,
  created: number,
  started?: number,
  extra: Partial<PodTimes["status"]> = {},
): PodTimes {
  return {
    metadata: { name, creationTimestamp: iso(created) },
    spec: node ? { nodeName: node } : {},
    status:
      started === undefined
        ? { ...extra }
        : { containerStatuses: [{ state: { running: { startedAt: iso(started) } } }], ...extra },
  };
}

test("pod startup: created -> first Running on the fleet's nodes, in the window", () => {
  const nodes = new Set(["n1"]);
  const pods = [
    pod("a", "n1", T0, T0 + 1000),
    pod("b", "n1", T0, T0 + 3000),
    pod("c", "n1", T0 + 1000, T0 + 9000),
    pod("pending", "n1", T0),
    pod("other-node", "n2", T0, T0 + 60_000),
    pod("before", "n1", T0 - 600_000, T0),
    {
      metadata: { name: "restarted", creationTimestamp: iso(T0) },
      spec: { nodeName: "n1" },
      status: {
        containerStatuses: [
          {
            restartCount: 2,
            state: { running: { startedAt: iso(T0 + 300_000) } },
            lastState: { terminated: { startedAt: iso(T0 + 2000) } },
          },
        ],
      },
    },
  ];
  const r = podStartup(pods, nodes, T0 - 60_000, T0 + 600_000);
  assert.deepEqual(r.latencies, [1, 2, 3, 8]);
  assert.equal(r.pods, 5);
  assert.equal(r.notStarted, 1);
  assert.equal(r.p50Seconds, 2);
  assert.equal(r.p99Seconds, 8);
  assert.equal(r.verdict, "FAIL");
  assert.equal(podStartup([], nodes, T0, T0).verdict, "NO DATA");
});

test("fleet health: lease freshness, renewal gaps, NotReady transitions", () => {
  const lease = (n: string, renewed: number): LeaseTimes => ({
    metadata: { name: n },
    spec: { renewTime: iso(renewed), leaseDurationSeconds: 40 },
  });
  const f = leaseFreshness(["n1", "n2", "n3"], [lease("n1", T0 - 5000), lease("n2", T0 - 50_000)], T0);
  assert.deepEqual([f.stale, f.missing, f.maxAgeSeconds, f.verdict], [["n2"], ["n3"], 50, "FAIL"]);
  assert.equal(leaseFreshness(["n1"], [lease("n1", T0 - 9000)], T0).verdict, "PASS");

  const gaps = gapsFrom(
    [lease("n1", T0), lease("n2", T0)],
    [
      lease("n1", T0 + 10_000),
      lease("n1", T0 + 10_000),
      lease("n2", T0 + 12_500),
      lease("x", T0 + 1),
      lease("n1", T0 + 21_000),
    ],
    new Set(["n1", "n2"]),
  );
  const g = renewalGaps(gaps, 25);
  assert.deepEqual(g.gaps, [10, 11, 12.5], "a repeated renewTime is no renewal; other Leases ignored");
  assert.equal(g.worstNode, "n2");
  assert.equal(g.verdict, "PASS");
  assert.equal(renewalGaps([{ node: "n1", previousMs: 0, renewedMs: 45_000 }], 60).verdict, "FAIL");
  assert.equal(renewalGaps([], 0).verdict, "NO DATA");

  const node = (n: string, ready: string) => ({
    metadata: { name: n },
    status: { conditions: [{ type: "Ready", status: ready }] },
  });
  const ev = (n: string, at: number, count = 1) => ({
    involvedObject: { kind: "Node", name: n },
    reason: "NodeNotReady",
    count,
    lastTimestamp: iso(at),
  });
  const nr = notReadyTransitions(
    [node("n1", "True"), node("n2", "Unknown")],
    [ev("n1", T0, 2), ev("n1", T0 - 3_600_000), ev("other", T0)],
    T0 - 60_000,
    T0 + 1000,
  );
  assert.deepEqual(
    [nr.transitions, nr.transitionedNodes, nr.notReadyNow, nr.verdict],
    [2, ["n1"], ["n2"], "FAIL"],
  );
});

test("--since durations", () => {
  for (const [v, s] of [
    ["10m", 600],
    ["90s", 90],
    ["1h30m", 5400],
    ["45", 45],
    ["500ms", 0.5],
  ] as const)
    assert.equal(parseDuration(v, "--since"), s);
  for (const v of ["", "abc", "-5m", "0", "10x", "m10"])
    assert.throws(() => parseDuration(v, "--since"), /--since must be a positive duration.*got/);
});

const ok = <T>(v: T): Promise<T> => Promise.resolve(v);

/** A fake cluster: metrics text that changes per scrape, fixed objects. */
function fakeSource(
  scrapes: string[],
  opts: { forbidden?: boolean } = {},
): ReportSource & { scraped: number } {
  const nodeNames = ["hollow-node-0", "hollow-node-1"];
  const src = {
    server: "https://fake:6443",
    scraped: 0,
    clusterKey: () => ok("uid-1"),
    metrics: () =>
      opts.forbidden
        ? Promise.reject(new KubemarkError("FORBIDDEN", "may not read /metrics"))
        : ok(scrapes[Math.min(src.scraped++, scrapes.length - 1)]!),
    nodes: (sel: string) =>
      ok(
        sel.includes("fleet=kubemark")
          ? nodeNames.map((n) => ({
              metadata: { name: n },
              status: { conditions: [{ type: "Ready", status: "True" }] },
            }))
          : [],
      ),
    leases: () =>
      ok({
        items: nodeNames.map((n) => ({
          metadata: { name: n },
          spec: { renewTime: iso(T0 - 2000), leaseDurationSeconds: 40 },
        })),
        resourceVersion: "7",
      }),
    pods: () =>
      ok([
        pod("p1", "hollow-node-0", T0 - 30_000, T0 - 28_000),
        pod("p2", "hollow-node-1", T0 - 30_000, T0 - 27_000),
      ]),
    nodeNotReadyEvents: () => ok([]),
    watchLeases: () => ({
      stop: () =>
        nodeNames.map((n) => ({
          metadata: { name: n },
          spec: { renewTime: iso(T0 + 8000), leaseDurationSeconds: 40 },
        })),
    }),
  };
  return src;
}

async function withState<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "report-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const scrape = (puts: number, slowPosts = 0) =>
  metricsText([
    { verb: "PUT", resource: "leases", scope: "resource", counts: fill(puts, 0) },
    {
      verb: "POST",
      resource: "pods",
      scope: "resource",
      counts: [0, 0, 0, 0, 10, 10 + slowPosts, 10 + slowPosts, 10 + slowPosts, 10 + slowPosts],
    },
  ]);

test("report --since: every SLI gets a verdict; API counts say they are cumulative", async () => {
  await withState(async (stateDir) => {
    const clock = new FakeClock(T0);
    const source = fakeSource([scrape(100), scrape(150), scrape(200)]);
    const p = report(
      { source, clock, stateDir },
      { window: { since: 300 }, mark: false, observeSeconds: 10, sampleSeconds: 5, fleet: "kubemark" },
    );
    await clock.advance(10_000);
    const r = (await p) as ReportResult;
    assert.equal(source.scraped, 3, "one scrape, then one per sample interval");
    assert.deepEqual(
      r.summary.map((l) => [l.sli, l.verdict]),
      [
        ["API latency: mutating calls", "PASS"],
        ["API latency: read-only, single object", "NO DATA"],
        ["API latency: read-only, lists", "NO DATA"],
        ["pod startup latency", "PASS"],
        ["fleet: lease freshness", "PASS"],
        ["fleet: lease renewal gaps", "PASS"],
        ["fleet: NotReady transitions", "PASS"],
      ],
    );
    assert.equal(r.verdict, "PASS");
    assert.match(r.window.apiCounts, /cumulative/);
    assert.deepEqual(r.fleet.renewalGaps.gaps, [10, 10]);
    assert.equal(r.overTime.length, 2);
    assert.equal(r.overTime[0]!.byClass.mutating!.count, 50);
    const text = renderReportText(r);
    assert.match(text, /API latency: mutating calls\s+p99 <= 1 s \(POST pods\)\s+p99 <= 1 s\s+PASS/);
    assert.match(text, /histogram bucket bounds/);
    const html = renderReportHtml(r);
    for (const id of [
      "plot-api-p99",
      "plot-latency-over-time",
      "plot-pod-startup-cdf",
      "plot-heartbeat-gaps",
    ])
      assert.match(html, new RegExp(`<svg id="${id}" class="plot"`), id);
    assert.doesNotMatch(html, /<script|\ssrc=|\shref=/, "self-contained: no script, no external resource");
  });
});

test("report --mark: records, then reports exactly the counts since, atomically", async () => {
  await withState(async (stateDir) => {
    const clock = new FakeClock(T0);
    const opts = { mark: true, observeSeconds: 0, sampleSeconds: 5, fleet: "kubemark" } as const;
    await assert.rejects(
      report(
        { source: fakeSource([scrape(100)]), clock, stateDir },
        { ...opts, window: { sinceMark: true }, mark: false },
      ),
      /no report mark for the cluster at https:\/\/fake:6443/,
    );
    const first = await report(
      { source: fakeSource([scrape(100)]), clock, stateDir },
      { ...opts, window: { sinceMark: true } },
    );
    assert.ok(!("summary" in first), "the first --mark only records");
    await clock.advance(60_000);
    // 20 slow POSTs after the mark: p99 of the window is in (1, 5].
    const r = (await report(
      { source: fakeSource([scrape(300, 20)]), clock, stateDir },
      { ...opts, window: { sinceMark: true } },
    )) as ReportResult;
    assert.match(r.window.apiCounts, /^exact/);
    assert.equal(r.window.seconds, 60);
    const post = r.api.find((a) => a.verb === "POST")!;
    assert.deepEqual([post.count, post.verdict], [20, "FAIL"]);
    assert.equal(r.api.find((a) => a.verb === "PUT")!.count, 200);
    assert.equal(r.verdict, "FAIL");
    assert.ok(r.markRecorded);
    const files = await readdir(join(stateDir, "report-marks"));
    assert.equal(files.length, 1, "one mark file, no temporary left");
  });
});

test("report: an API server restart since the mark is said, and /metrics denied names the cause", async () => {
  await withState(async (stateDir) => {
    const clock = new FakeClock(T0);
    const o = { observeSeconds: 0, sampleSeconds: 5, fleet: "kubemark" };
    await report(
      { source: fakeSource([scrape(100)]), clock, stateDir },
      { ...o, window: { sinceMark: true }, mark: true },
    );
    const restarted = metricsText(
      [{ verb: "PUT", resource: "leases", scope: "resource", counts: fill(5, 0) }],
      1_767_229_999,
    );
    const r = (await report(
      { source: fakeSource([restarted]), clock, stateDir },
      { ...o, window: { sinceMark: true }, mark: false },
    )) as ReportResult;
    assert.match(r.window.apiCounts, /restarted after the mark/);
    assert.equal(r.api[0]!.count, 5);
    await assert.rejects(
      report(
        { source: fakeSource([], { forbidden: true }), clock, stateDir },
        { ...o, window: { since: 60 }, mark: false },
      ),
      /may not read \/metrics/,
    );
  });
});

test("sloFailure: a report with a failed SLI is an error (exit 1) naming it; NO DATA and UNKNOWN are not", () => {
  const line = (sli: string, verdict: "PASS" | "FAIL" | "NO DATA" | "UNKNOWN") => ({
    sli,
    value: "p99 <= 5 s",
    limit: "p99 <= 1 s",
    verdict,
    detail: "",
  });
  assert.equal(
    sloFailure({ summary: [line("a", "PASS"), line("b", "NO DATA"), line("c", "UNKNOWN")] }),
    undefined,
  );
  const err = sloFailure({ summary: [line("a", "PASS"), line("pod startup latency", "FAIL")] });
  assert.ok(err instanceof KubemarkError);
  assert.equal(err.exitCode, 1);
  assert.equal(err.code, "SLO_FAILED");
  assert.equal(err.message, "1 of 2 SLIs FAIL: pod startup latency (p99 <= 5 s; limit p99 <= 1 s)");
});
