import { test } from "node:test";
import assert from "node:assert/strict";
import {
  histogramMaxBound,
  histogramP99,
  latenessOver,
  leasePutBucketsFromText,
  leasePutFailures,
  parseEngineMetrics,
  serverProcessFromText,
} from "./metrics.ts";

test("the engine's series, with their labels; other series and comments are skipped", () => {
  const text = [
    "# HELP hollow_watch_opens_total Watches opened.",
    "hollow_watch_opens_total 90",
    'hollow_api_requests_total{verb="put",resource="leases",code="200"} 500',
    'hollow_api_requests_total{verb="put",resource="leases",code="409"} 2',
    'hollow_api_requests_total{verb="put",resource="leases",code="0"} 1',
    "nodejs_heap_size_used_bytes 1.5e+07",
    "process_cpu_seconds_total 3",
  ].join("\n");
  const m = parseEngineMetrics(text);
  assert.deepEqual(Object.keys(m).length, 5);
  assert.equal(m["hollow_watch_opens_total"], 90);
  assert.equal(m["nodejs_heap_size_used_bytes"], 15_000_000);
  assert.equal(leasePutFailures(m), 3);
});

test("the API server's Lease PUT histogram, summed over its other labels", () => {
  const name = "apiserver_request_duration_seconds";
  const text = [
    `${name}_bucket{component="apiserver",resource="leases",verb="PUT",le="0.05"} 90`,
    `${name}_bucket{component="apiserver",resource="leases",verb="PUT",le="+Inf"} 100`,
    `${name}_bucket{component="apiserver",resource="leases",dry_run="",verb="PUT",le="0.05"} 5`,
    `${name}_bucket{component="apiserver",resource="leases",verb="GET",le="0.05"} 70`,
    `${name}_bucket{component="apiserver",resource="pods",verb="PUT",le="0.05"} 70`,
    `${name}_count{component="apiserver",resource="leases",verb="PUT"} 100`,
  ].join("\n");
  assert.deepEqual(leasePutBucketsFromText(text), {
    [`${name}_bucket{le="0.05"}`]: 95,
    [`${name}_bucket{le="+Inf"}`]: 100,
    [`${name}_count`]: 100,
  });
});

test("histograms over a window: p99 and worst are the bounds of the buckets that reach them", () => {
  const h = "hollow_lease_renew_lateness_seconds";
  const m0 = {
    [`${h}_count`]: 100,
    [`${h}_bucket{le="1"}`]: 100,
    [`${h}_bucket{le="5"}`]: 100,
    [`${h}_bucket{le="+Inf"}`]: 100,
  };
  const m1 = {
    [`${h}_count`]: 300,
    [`${h}_bucket{le="1"}`]: 297,
    [`${h}_bucket{le="5"}`]: 299,
    [`${h}_bucket{le="+Inf"}`]: 300,
  };
  assert.equal(histogramP99(m0, m1, h), 5); // 198 of 200 by 5 s
  assert.equal(histogramMaxBound(m0, m1, h), Infinity);
  assert.deepEqual(latenessOver(m0, m1), {
    renewals: 200,
    over1s: 3,
    p99Seconds: 5,
    maxBoundSeconds: Infinity,
  });
  assert.equal(histogramP99(m0, m0, h), null);
  assert.deepEqual(latenessOver({}, {}), { renewals: 0, over1s: 0, p99Seconds: null, maxBoundSeconds: null });
});

test("the API server's goroutines, RSS and CPU seconds from its /metrics", () => {
  const text = [
    "# HELP go_goroutines Number of goroutines that currently exist.",
    "go_goroutines 5321",
    'go_goroutines_by_state{state="x"} 1',
    "process_resident_memory_bytes 1.234e+09",
    "process_cpu_seconds_total 812.5",
  ].join("\n");
  assert.deepEqual(serverProcessFromText(text), {
    goroutines: 5321,
    rssBytes: 1_234_000_000,
    cpuSeconds: 812.5,
  });
  assert.throws(() => serverProcessFromText("go_goroutines 1"), /no process_resident_memory_bytes/);
});
