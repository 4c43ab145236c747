import { test } from "node:test";
import assert from "node:assert/strict";
import { shardRange } from "./shard.ts";

test("shardRange", () => {
  assert.deepEqual(shardRange(0, 500, 1200), { first: 0, count: 500 });
  assert.deepEqual(shardRange(2, 500, 1200), { first: 1000, count: 200 });
  assert.deepEqual(shardRange(3, 500, 1200), { first: 1500, count: 0 });
});
