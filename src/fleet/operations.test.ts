import { test } from "node:test";
import assert from "node:assert/strict";
import { localWorkloadHealth, readyAfterStart } from "./operations.ts";

const spec = { nodes: 2500, nodesPerShard: 1000, namePrefix: "hollow-node" };
const shard = (i: number, pid: number) => ({
  shard: i,
  pid,
  startTicks: 1,
  nodes: 1000,
  nodesPerShard: 1000,
  argsHash: "h",
});

test("localWorkloadHealth: a crashed engine process is named, not an empty list", () => {
  const rec = { shards: [shard(0, 100), shard(1, 101), shard(2, 102)] };
  const h = localWorkloadHealth(spec, rec, (s) => s.pid !== 101, undefined);
  assert.equal(h.running, 2);
  assert.equal(h.desired, 3);
  assert.deepEqual(h.down, ["process 1 (pid 101, 1000 nodes) not running"]);
  const none = localWorkloadHealth({ ...spec, nodes: 10 }, undefined, () => true, undefined);
  assert.deepEqual(none.down, ["process 0 (pid -, 10 nodes) not running"]);
});

test("localWorkloadHealth: processes running for another cluster count as down, with how it changed", () => {
  const h = localWorkloadHealth(
    { ...spec, nodes: 10 },
    { shards: [shard(0, 100)] },
    () => true,
    "its kube-system namespace UID was a, now b",
  );
  assert.equal(h.running, 0);
  assert.deepEqual(h.down, [
    "process 0 (pid 100, 10 nodes) runs for another cluster (its kube-system namespace UID was a, now b)",
  ]);
});

test("readyAfterStart: only Ready Nodes whose Lease was renewed after their process started count", () => {
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const nodes = [
    { name: "hollow-node-0", ready: true }, // renewed by the new process of shard 0
    { name: "hollow-node-1", ready: true }, // Ready, but its Lease is from the crashed process
    { name: "hollow-node-2", ready: false }, // renewed, not Ready yet
    { name: "hollow-node-1000", ready: true }, // shard 1 kept running since long ago
    { name: "hollow-node-2000", ready: true }, // shard 2 has no running process
    { name: "hollow-node-2600", ready: true }, // past the desired count
    { name: "hollow-node-3", ready: true }, // no Lease at all
  ];
  const renewed = new Map([
    ["hollow-node-0", t0 + 2_000],
    ["hollow-node-1", t0 - 5_000],
    ["hollow-node-2", t0 + 3_000],
    ["hollow-node-1000", t0 - 1_000],
    ["hollow-node-2000", t0 + 1_000],
    ["hollow-node-2600", t0 + 1_000],
  ]);
  const starts = new Map([
    [0, t0],
    [1, t0 - 3_600_000],
  ]);
  assert.equal(readyAfterStart(spec, nodes, renewed, starts), 2);
});
