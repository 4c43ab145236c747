// The keyed work queue: one wait per key, one worker per key, back-off per key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../kernel/clock.ts";
import { DueQueue } from "../due-queue.ts";
import { WorkQueue } from "./work-queue.ts";

function setup(process: (key: string) => Promise<void>, workers = 2, paused = false) {
  const clock = new FakeClock();
  const due = new DueQueue({ clock, concurrency: Infinity, onError: (e) => assert.fail(String(e)) });
  const q = new WorkQueue({ workers, process, paused, schedule: (ms, fn) => due.after(ms, fn) });
  return { clock, q };
}

test("WorkQueue: a key added many times waits once; added while processing, it runs again after", async () => {
  const runs: string[] = [];
  let release: (() => void) | undefined;
  const { clock, q } = setup((key) => {
    runs.push(key);
    return key === "a" && runs.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  });
  q.add("a");
  await clock.advance(1);
  q.add("a");
  q.add("a");
  await clock.advance(1);
  assert.deepEqual(runs, ["a"], "not twice at once");
  release!();
  await clock.advance(1);
  assert.deepEqual(runs, ["a", "a"], "once more after, for the adds made meanwhile");
  assert.equal(q.size, 0);
});

test("WorkQueue: failures come back after 1 s, 2 s, 4 s; success resets the back-off; paused until started", async () => {
  const at: number[] = [];
  let fail = 3;
  const { clock, q } = setup(
    () => {
      at.push(clock.now() - t0);
      return fail-- > 0 ? Promise.reject(new Error("no")) : Promise.resolve();
    },
    1,
    true,
  );
  const t0 = clock.now();
  q.add("k");
  await clock.advance(5_000);
  assert.deepEqual(at, [], "paused");
  q.start();
  await clock.advance(10_000);
  assert.deepEqual(at, [5_000, 6_000, 8_000, 12_000]);
});
