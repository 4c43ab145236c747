import { test } from "node:test";
import assert from "node:assert/strict";
import {
  apiserverSnapshot,
  dispatchedBetween,
  watchCacheHealth,
  watchCacheHealthBetween,
  watchCacheRevisions,
} from "./apiserver-metrics.ts";

const text = (nodes: number, exempt: number, goroutines: number): string =>
  [
    "# HELP go_goroutines Number of goroutines that currently exist.",
    "# TYPE go_goroutines gauge",
    `go_goroutines ${goroutines}`,
    "go_memstats_heap_inuse_bytes 1.2e+08",
    "# TYPE apiserver_flowcontrol_dispatched_requests_total counter",
    `apiserver_flowcontrol_dispatched_requests_total{flow_schema="system-nodes",priority_level="system"} ${nodes}`,
    `apiserver_flowcontrol_dispatched_requests_total{flow_schema="exempt",priority_level="exempt"} ${exempt}`,
    `apiserver_flowcontrol_dispatched_requests_total{flow_schema="global-default",priority_level="global-default"} 7`,
  ].join("\n");

test("a snapshot reads goroutines, the heap in use and APF's dispatched requests by flow schema/priority level", () => {
  const s = apiserverSnapshot(text(10, 5, 400));
  assert.equal(s.goroutines, 400);
  assert.equal(s.heapInuseBytes, 1.2e8);
  assert.deepEqual(
    [...s.dispatched],
    [
      ["system-nodes/system", 10],
      ["exempt/exempt", 5],
      ["global-default/global-default", 7],
    ],
  );
});

test("the requests dispatched between two snapshots, most first, idle flows left out", () => {
  const rates = dispatchedBetween(
    apiserverSnapshot(text(10, 5, 400)),
    apiserverSnapshot(text(210, 25, 900)),
    20,
  );
  assert.deepEqual(rates, [
    { flowSchema: "system-nodes", priorityLevel: "system", requests: 200, perSecond: 10 },
    { flowSchema: "exempt", priorityLevel: "exempt", requests: 20, perSecond: 1 },
  ]);
});

test("an answer without go_goroutines is not an API server's /metrics", () => {
  assert.throws(() => apiserverSnapshot("up 1\n"), /no go_goroutines/);
});

const cacheText = (terminated: number, waits: number, le3: number, sum: number): string =>
  [
    "# TYPE apiserver_terminated_watchers_total counter",
    `apiserver_terminated_watchers_total{group="",resource="nodes"} ${terminated}`,
    "# TYPE apiserver_watch_cache_read_wait_seconds histogram",
    `apiserver_watch_cache_read_wait_seconds_bucket{group="",resource="nodes",le="2"} ${le3 - 1}`,
    `apiserver_watch_cache_read_wait_seconds_bucket{group="",resource="nodes",le="3"} ${le3}`,
    `apiserver_watch_cache_read_wait_seconds_bucket{group="",resource="nodes",le="+Inf"} ${waits}`,
    `apiserver_watch_cache_read_wait_seconds_sum{group="",resource="nodes"} ${sum}`,
    `apiserver_watch_cache_read_wait_seconds_count{group="",resource="nodes"} ${waits}`,
    `apiserver_watch_cache_read_wait_seconds_count{group="coordination.k8s.io",resource="leases"} 4`,
  ].join("\n");

test("watch-cache health: watchers closed, freshness waits and those past the 3 s block timeout, by resource", () => {
  const a = watchCacheHealth(cacheText(1, 10, 8, 2.5));
  assert.deepEqual(a.get("/nodes"), {
    terminated: 1,
    freshnessWaits: 10,
    freshnessTimeouts: 2,
    freshnessWaitSeconds: 2.5,
  });
  const b = watchCacheHealth(cacheText(4, 30, 20, 40.04));
  // leases did not change: left out.
  assert.deepEqual(watchCacheHealthBetween(a, b), {
    "/nodes": { terminated: 3, freshnessWaits: 20, freshnessTimeouts: 8, freshnessWaitSeconds: 37.5 },
  });
});

test("each watch cache's resourceVersion, by group and resource", () => {
  const revs = watchCacheRevisions(
    [
      `apiserver_watch_cache_resource_version{group="",resource="nodes"} 42`,
      `apiserver_watch_cache_resource_version{group="coordination.k8s.io",resource="leases"} 50`,
      "go_goroutines 7",
    ].join("\n"),
  );
  assert.deepEqual(
    [...revs],
    [
      ["/nodes", 42],
      ["coordination.k8s.io/leases", 50],
    ],
  );
});
