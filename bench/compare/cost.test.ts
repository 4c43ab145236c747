import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiserverSnapshot } from "../lib/apiserver-metrics.ts";
import { apiserverCost } from "./cost.ts";

const snap = (goroutines: number, heapMB: number | undefined, nodes: number): ApiserverSnapshot => ({
  goroutines,
  heapInuseBytes: heapMB === undefined ? undefined : heapMB * 1048576,
  dispatched: new Map([
    ["system-nodes/system", nodes],
    ["exempt/exempt", 50],
  ]),
});

test("the API server's cost per node is over the baseline taken before the system started", () => {
  const c = apiserverCost(
    100,
    { rss: 500 * 1048576, metrics: snap(1000, 200, 0), cores: 0.05 },
    { rss: 550 * 1048576, cores: 0.25 },
    [snap(1900, 240, 1000), snap(1900, 250, 1600)],
    60,
  );
  assert.equal(c.baselineRssMB, 500);
  assert.equal(c.rssPerNodeKB, 512); // 50 MB over 100 nodes
  assert.equal(c.heapPerNodeKB, 512);
  assert.equal(c.goroutinesPerNode, 9);
  assert.ok(Math.abs(c.mCpuPerNode - 2) < 1e-9); // 0.2 cores over 100 nodes
  assert.deepEqual(c.flows, [
    { flowSchema: "system-nodes", priorityLevel: "system", requests: 600, perSecond: 10 },
  ]);
});

test("without the heap metric the heap per node is unknown, not zero", () => {
  const c = apiserverCost(
    10,
    { rss: 0, metrics: snap(10, undefined, 0), cores: 0 },
    { rss: 0, cores: 0 },
    [snap(10, undefined, 0), snap(10, undefined, 0)],
    1,
  );
  assert.equal(c.heapPerNodeKB, null);
  assert.deepEqual(c.flows, []);
});
