import { test } from "node:test";
import assert from "node:assert/strict";
import { localWorkloadHealth } from "./local.ts";

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
