import { test } from "node:test";
import assert from "node:assert/strict";
import { keepsUp, metricsServerFigures, parseMetricsServer, pollOf, reviewsMade } from "./figures.ts";

// As metrics-server v0.8 writes them (one histogram per node, a counter by success).
const text = (
  ticks: number,
  tickSum: number,
  reqA: number,
  ok: number,
  failed: number,
  lastB: number,
): string =>
  [
    "# HELP metrics_server_manager_tick_duration_seconds [ALPHA] The total time spent collecting and storing metrics in seconds.",
    "# TYPE metrics_server_manager_tick_duration_seconds histogram",
    `metrics_server_manager_tick_duration_seconds_bucket{le="1.5"} ${Math.ceil(ticks / 2)}`,
    `metrics_server_manager_tick_duration_seconds_bucket{le="3"} ${ticks}`,
    `metrics_server_manager_tick_duration_seconds_bucket{le="+Inf"} ${ticks}`,
    `metrics_server_manager_tick_duration_seconds_sum ${tickSum}`,
    `metrics_server_manager_tick_duration_seconds_count ${ticks}`,
    `metrics_server_kubelet_request_duration_seconds_bucket{node="n-0",le="0.005"} ${reqA}`,
    `metrics_server_kubelet_request_duration_seconds_bucket{node="n-0",le="+Inf"} ${reqA}`,
    `metrics_server_kubelet_request_duration_seconds_sum{node="n-0"} ${reqA * 0.002}`,
    `metrics_server_kubelet_request_duration_seconds_count{node="n-0"} ${reqA}`,
    `metrics_server_kubelet_request_duration_seconds_bucket{node="n-1",le="0.005"} ${reqA - 1}`,
    `metrics_server_kubelet_request_duration_seconds_bucket{node="n-1",le="+Inf"} ${reqA}`,
    `metrics_server_kubelet_request_duration_seconds_sum{node="n-1"} ${reqA * 0.004}`,
    `metrics_server_kubelet_request_duration_seconds_count{node="n-1"} ${reqA}`,
    `metrics_server_kubelet_request_total{success="true"} ${ok}`,
    `metrics_server_kubelet_request_total{success="false"} ${failed}`,
    `metrics_server_kubelet_last_request_time_seconds{node="n-0"} 1000`,
    `metrics_server_kubelet_last_request_time_seconds{node="n-1"} ${lastB}`,
    `metrics_server_storage_points{type="node"} 2`,
    `metrics_server_storage_points{type="container"} 0`,
    "go_goroutines 40",
  ].join("\n");

test("metrics-server's figures over a window: ticks, requests summed over nodes, the stalest node", () => {
  const s0 = parseMetricsServer(text(2, 1, 2, 4, 0, 990));
  const s1 = parseMetricsServer(text(10, 9, 10, 19, 1, 1010));
  assert.deepEqual(s1.lastRequest, { "n-0": 1000, "n-1": 1010 });
  assert.equal(s1.series["go_goroutines"], undefined);
  const f = metricsServerFigures(s0, s1, 1012);
  assert.deepEqual(f.ticks, { count: 8, meanSeconds: 1, p99BoundSeconds: 3, maxBoundSeconds: 3 });
  assert.equal(f.kubeletRequests.count, 16);
  assert.ok(Math.abs(f.kubeletRequests.meanSeconds! - 0.003) < 1e-9);
  // All 16 of the window within 5 ms (n-1's slow request was before it).
  assert.equal(f.kubeletRequests.p99BoundSeconds, 0.005);
  assert.equal(f.kubeletRequestsOk, 15);
  assert.equal(f.kubeletRequestsFailed, 1);
  assert.equal(f.nodesReached, 2);
  assert.equal(f.stalestNodeAgeSeconds, 12);
  assert.deepEqual(f.storedPoints, { node: 2, container: 0 });
});

test("reviews the engine made, from its request counter", () => {
  assert.deepEqual(
    reviewsMade({
      'hollow_api_requests_total{verb="post",resource="subjectaccessreviews",code="201"}': 5,
      'hollow_api_requests_total{verb="post",resource="subjectaccessreviews",code="0"}': 1,
      'hollow_api_requests_total{verb="post",resource="tokenreviews",code="201"}': 2,
      'hollow_api_requests_total{verb="put",resource="leases",code="200"}': 9,
    }),
    { tokenReviews: 2, subjectAccessReviews: 6 },
  );
});

test("a poll counts the fleet's nodes and their oldest and newest samples", () => {
  const items = [
    { metadata: { name: "b-1" }, timestamp: "2026-01-01T00:00:10Z" },
    { metadata: { name: "b-2" }, timestamp: "2026-01-01T00:00:20Z" },
    { metadata: { name: "other-1" }, timestamp: "2026-01-01T00:00:00Z" },
  ];
  const t = Date.parse("2026-01-01T00:00:00Z") / 1000;
  assert.deepEqual(pollOf(items, "b", 5, t + 25, t + 22), {
    atSeconds: 5,
    atUnixSeconds: t + 25,
    sentUnixSeconds: t + 22,
    listed: 2,
    oldestSample: t + 10,
    newestSample: t + 20,
  });
});

test("keeps up: every round within the resolution, no failure, every node listed with a fresh sample", () => {
  const ms = metricsServerFigures(
    parseMetricsServer(text(2, 1, 2, 4, 0, 990)),
    parseMetricsServer(text(10, 9, 10, 19, 0, 1010)),
    1012,
  );
  const poll = {
    atSeconds: 15,
    atUnixSeconds: 1000,
    sentUnixSeconds: 1000,
    listed: 2,
    oldestSample: 990,
    newestSample: 999,
  };
  assert.deepEqual(keepsUp(ms, [poll], 2, 15), { keepsUp: true, reasons: [] });
  // A list that took 20 s (the aggregated API slow on a loaded machine) does not age the samples
  // metrics-server held when asked: 15 s old then, 35 s when the answer arrived.
  const slowList = { ...poll, atUnixSeconds: 1020, oldestSample: 985, newestSample: 990 };
  assert.deepEqual(keepsUp(ms, [slowList], 2, 15), { keepsUp: true, reasons: [] });
  const cases: [Parameters<typeof keepsUp>, RegExp][] = [
    [[ms, [{ ...poll, listed: 1 }], 2, 15], /poll at 15 s listed 1 of 2 nodes/],
    [[ms, [{ ...poll, oldestSample: 960 }], 2, 15], /oldest sample was 40 s old when the list was asked for/],
    [[ms, [{ ...poll, oldestSample: 999 }], 2, 2], /a round took up to 3 s \(resolution 2 s\)/],
    [[{ ...ms, kubeletRequestsFailed: 3 }, [poll], 2, 15], /3 requests to kubelets failed/],
    [[ms, [], 2, 15], /not polled/],
  ];
  for (const [args, want] of cases) {
    const r = keepsUp(...args);
    assert.equal(r.keepsUp, false);
    assert.match(r.reasons.join("; "), want);
  }
});
