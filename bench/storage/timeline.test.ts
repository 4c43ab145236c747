import { test } from "node:test";
import assert from "node:assert/strict";
import { Timeline, progress, spread } from "./timeline.ts";

const pod = (name: string, phase: string) => ({ metadata: { name }, status: { phase } });

test("first sight is created, first sight Running is done; later events change neither", () => {
  const t = new Timeline();
  t.see("pods", pod("a", "Pending"), 100);
  t.see("pods", pod("a", "Pending"), 900);
  t.see("pods", pod("a", "Running"), 2100);
  t.see("pods", pod("a", "Running"), 5000);
  t.see("pods", pod("b", "Running"), 300); // first seen already Running
  assert.deepEqual(t.pods.get("a"), { created: 100, done: 2100 });
  assert.deepEqual(t.pods.get("b"), { created: 300, done: 300 });
  assert.deepEqual(t.counts("pods"), { seen: 2, done: 2 });
});

test("claims are done when Bound, attachments when attached", () => {
  const t = new Timeline();
  t.see("claims", { metadata: { name: "c" }, status: { phase: "Pending" } }, 0);
  t.see("claims", { metadata: { name: "c" }, status: { phase: "Bound" } }, 1500);
  t.see("attachments", { metadata: { name: "v" }, status: { attached: false } }, 1600);
  t.see("attachments", { metadata: { name: "v" } }, 1700);
  assert.deepEqual(t.claims.get("c"), { created: 0, done: 1500 });
  assert.deepEqual(t.counts("attachments"), { seen: 1, done: 0 });
  t.see("attachments", { metadata: { name: "v" }, status: { attached: true } }, 2500);
  assert.equal(t.attachments.get("v")!.done, 2500);
});

test("progress: all done is the last done when every expected one is; otherwise how far it got", () => {
  const times = new Map([
    ["a", { created: 0, done: 1000 }],
    ["b", { created: 0, done: 4000 }],
    ["c", { created: 500 }],
  ]);
  assert.deepEqual(progress(times, 3), { seen: 3, done: 2, allDoneSeconds: null, lastDoneSeconds: 4 });
  assert.deepEqual(progress(times, 2), { seen: 3, done: 2, allDoneSeconds: 4, lastDoneSeconds: 4 });
  assert.deepEqual(progress(new Map(), 0), { seen: 0, done: 0, allDoneSeconds: null, lastDoneSeconds: null });
});

test("spread: nearest-rank quantiles of created -> done over the ones done", () => {
  const times = new Map<string, { created: number; done?: number }>();
  for (let i = 1; i <= 100; i++) times.set(`p${i}`, { created: 1000, done: 1000 + i * 100 });
  times.set("late", { created: 0 });
  assert.deepEqual(spread(times), { samples: 100, p50: 5, p90: 9, p99: 9.9, max: 10 });
  assert.deepEqual(spread(new Map()), { samples: 0, p50: null, p90: null, p99: null, max: null });
});
