import assert from "node:assert/strict";
import { test } from "node:test";
import { nodeCacheLag } from "./cache-lag.ts";

test("the Node cache's lag is the revisions it lacks, and those over the freshest cache's rate", () => {
  const lag = nodeCacheLag([
    { at: 0, nodes: 100, freshest: 100 },
    { at: 1000, nodes: 100, freshest: 200 },
    { at: 3000, nodes: 150, freshest: 400 },
    { at: 4000, nodes: 400, freshest: 400 },
  ]);
  // 100 behind at 100 a second; 250 behind at 100 a second; none behind.
  assert.deepEqual(lag.samples, [
    [0, 0, 0],
    [1, 100, 1],
    [3, 250, 2.5],
    [4, 0, 0],
  ]);
  assert.equal(lag.maxSeconds, 2.5);
  assert.equal(lag.p50Seconds, 0);
});

test("a Node cache that holds the freshest revision has no lag", () => {
  const lag = nodeCacheLag([
    { at: 0, nodes: 5, freshest: 5 },
    { at: 1000, nodes: 9, freshest: 9 },
  ]);
  assert.equal(lag.maxSeconds, 0);
});
