import assert from "node:assert/strict";
import { test } from "node:test";
import { countLag } from "./count-lag.ts";

test("the k-th lag is from the k-th oldest creation to the count's first reaching k", () => {
  // Created at 0, 1 and 2 s; counted at 0.5 s, 1.2 s and 12 s (the last seen 10 s late).
  const lag = countLag([0, 1000, 2000], [500, 1200, 12_000])!;
  assert.equal(lag.last, 10);
  assert.equal(lag.max, 10);
  assert.equal(lag.p50, 0.5);
});

test("a count stamped before the creation's second ended is no lag, not a negative one", () => {
  assert.deepEqual(countLag([1000], [900]), { p50: 0, p99: 0, max: 0, last: 0 });
});

test("no Node counted, no lag", () => {
  assert.equal(countLag([], []), undefined);
  assert.equal(countLag([0], []), undefined);
});
