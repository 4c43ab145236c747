import { test } from "node:test";
import assert from "node:assert/strict";
import { quantile } from "./quantile.ts";
import { forEachLimit } from "./concurrency.ts";
import { leaseAgeSeconds, leaseIsStale, nodeLeasePath } from "./k8s.ts";
import { requeueDelayMs } from "./backoff.ts";

test("quantile is nearest rank: a measured sample with at least q of samples at or below it", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  const cases: Array<[number, number | undefined]> = [
    [0, 1],
    [0.5, 50],
    [0.99, 99],
    [1, 100],
  ];
  for (const [q, want] of cases) assert.equal(quantile(xs, q), want, `q=${q}`);
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.equal(quantile([7], 0.99), 7);
  assert.equal(quantile([], 0.5), undefined);
  assert.equal(quantile([1, 2], 1.5), undefined);
  // 10 samples: p99 is the largest (rank ceil(9.9) = 10), p90 the 9th.
  const ten = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
  assert.equal(quantile(ten, 0.99), 100);
  assert.equal(quantile(ten, 0.9), 90);
});

test("forEachLimit keeps at most limit calls in flight and visits every item once", async () => {
  let inFlight = 0;
  let peak = 0;
  const seen: number[] = [];
  await forEachLimit([1, 2, 3, 4, 5, 6, 7], 3, async (x) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setImmediate(r));
    seen.push(x);
    inFlight--;
  });
  assert.equal(peak, 3);
  assert.deepEqual(seen.sort(), [1, 2, 3, 4, 5, 6, 7]);
  await forEachLimit([], 3, () => Promise.reject(new Error("not called")));
  await assert.rejects(
    forEachLimit([1, 2], 2, (x) => (x === 2 ? Promise.reject(new Error("two")) : Promise.resolve())),
    /two/,
  );
});

test("a Lease is stale once older than its duration, and unrenewed Leases have no age", () => {
  const now = Date.UTC(2026, 0, 1, 0, 1, 0);
  const at = (s: number): string => new Date(now - s * 1000).toISOString();
  assert.equal(leaseAgeSeconds({ spec: { renewTime: at(5) } }, now), 5);
  assert.equal(leaseAgeSeconds({ spec: {} }, now), undefined);
  assert.equal(leaseAgeSeconds(undefined, now), undefined);
  assert.equal(leaseIsStale({ spec: { renewTime: at(40) } }, now), false);
  assert.equal(leaseIsStale({ spec: { renewTime: at(41) } }, now), true);
  assert.equal(leaseIsStale({ spec: { renewTime: at(41), leaseDurationSeconds: 60 } }, now), false);
  assert.equal(leaseIsStale({ spec: {} }, now), false);
  assert.equal(nodeLeasePath("n-1"), "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n-1");
});

test("requeue delays are spread over 2-5 s", () => {
  assert.equal(
    requeueDelayMs(() => 0),
    2_000,
  );
  assert.equal(requeueDelayMs(() => 0.999_999) < 5_000, true);
});
