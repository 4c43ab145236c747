import { test } from "node:test";
import assert from "node:assert/strict";
import { readyAfterStart } from "./wait.ts";

const spec = { nodes: 2500, nodesPerShard: 1000, namePrefix: "hollow-node" };

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
