import { test } from "node:test";
import assert from "node:assert/strict";
import { DueQueue } from "./due-queue.ts";
import { FakeClock } from "../kernel/clock.ts";

/** A queue on a fake clock that records errors and lateness. */
function queueOn(
  clock: FakeClock,
  concurrency = 10,
): { queue: DueQueue; errors: unknown[]; lateness: number[] } {
  const errors: unknown[] = [];
  const lateness: number[] = [];
  const queue = new DueQueue({
    clock,
    concurrency,
    onError: (err) => errors.push(err),
    onLateness: (ms) => lateness.push(ms),
  });
  return { queue, errors, lateness };
}

test("DueQueue runs tasks in due order, whatever order they were scheduled in", async () => {
  const clock = new FakeClock();
  const t0 = clock.now();
  const { queue } = queueOn(clock);
  const ran: Array<[string, number]> = [];
  const schedule: Array<[string, number]> = [
    ["c", 3_000],
    ["a", 1_000],
    ["e", 5_000],
    ["b", 2_000],
    ["d", 4_000],
    ["b2", 2_000],
  ];
  for (const [name, at] of schedule) queue.schedule(t0 + at, () => void ran.push([name, clock.now() - t0]));
  await clock.advance(10_000);
  assert.deepEqual(ran, [
    ["a", 1_000],
    ["b", 2_000],
    ["b2", 2_000],
    ["c", 3_000],
    ["d", 4_000],
    ["e", 5_000],
  ]);
  assert.equal(queue.stats().pending, 0);
});

test("DueQueue never runs a task before it is due", async () => {
  const clock = new FakeClock();
  const { queue, lateness } = queueOn(clock);
  let ran = 0;
  queue.after(1_000, () => {
    ran++;
  });
  await clock.advance(999);
  assert.equal(ran, 0);
  assert.equal(queue.stats().pending, 1);
  await clock.advance(1);
  assert.equal(ran, 1);
  assert.deepEqual(lateness, [0], "started on time");
});

test("DueQueue runs a task already due at once", async () => {
  const clock = new FakeClock();
  const { queue, lateness } = queueOn(clock);
  let ran = 0;
  queue.schedule(clock.now() - 250, () => {
    ran++;
  });
  await clock.advance(0);
  assert.equal(ran, 1);
  assert.deepEqual(lateness, [250]);
});

test("DueQueue runs at most `concurrency` tasks at once; later ones wait and report their lateness", async () => {
  const clock = new FakeClock();
  const t0 = clock.now();
  const { queue, lateness } = queueOn(clock, 2);
  let running = 0;
  let maxRunning = 0;
  const started: Array<[number, number]> = [];
  for (let i = 0; i < 5; i++) {
    queue.schedule(t0, async () => {
      started.push([i, clock.now() - t0]);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await clock.sleep(100);
      running--;
    });
  }
  await clock.advance(0);
  assert.equal(queue.stats().running, 2);
  assert.equal(queue.stats().pending, 3);
  await clock.advance(1_000);
  assert.equal(maxRunning, 2);
  assert.deepEqual(started, [
    [0, 0],
    [1, 0],
    [2, 100],
    [3, 100],
    [4, 200],
  ]);
  assert.deepEqual(lateness, [0, 0, 100, 100, 200]);
  assert.equal(queue.stats().lastLatenessMs, 200);
  assert.deepEqual(queue.stats(), { pending: 0, running: 0, lastLatenessMs: 200 });
});

test("DueQueue reports throwing and rejecting tasks to onError and keeps going", async () => {
  const clock = new FakeClock();
  const { queue, errors } = queueOn(clock, 1);
  const ran: string[] = [];
  queue.after(100, () => {
    ran.push("throws");
    throw new Error("sync boom");
  });
  queue.after(200, async () => {
    ran.push("rejects");
    await clock.sleep(10);
    throw new Error("async boom");
  });
  queue.after(300, () => {
    ran.push("after");
  });
  queue.after(300, async () => {
    ran.push("after async");
    await clock.sleep(10);
  });
  await clock.advance(1_000);
  assert.deepEqual(ran, ["throws", "rejects", "after", "after async"]);
  assert.deepEqual(
    errors.map((e) => (e as Error).message),
    ["sync boom", "async boom"],
  );
  assert.deepEqual(queue.stats(), { pending: 0, running: 0, lastLatenessMs: 0 });
});

test("DueQueue: a task may schedule more work, which runs when due", async () => {
  const clock = new FakeClock();
  const t0 = clock.now();
  const { queue } = queueOn(clock, 1);
  const ticks: number[] = [];
  const tick = (): void => {
    ticks.push(clock.now() - t0);
    if (ticks.length < 4) queue.after(1_000, tick);
  };
  queue.after(0, tick);
  await clock.advance(10_000);
  assert.deepEqual(ticks, [0, 1_000, 2_000, 3_000]);
});

test("DueQueue.stop drops pending tasks and ignores new ones", async () => {
  const clock = new FakeClock();
  const { queue } = queueOn(clock);
  const ran: string[] = [];
  queue.after(100, () => void ran.push("before stop"));
  queue.after(1_000, () => void ran.push("pending"));
  queue.after(2_000, () => void ran.push("pending too"));
  await clock.advance(500);
  queue.stop();
  assert.equal(queue.stats().pending, 0);
  queue.after(0, () => void ran.push("after stop"));
  await clock.advance(5_000);
  assert.deepEqual(ran, ["before stop"]);
  assert.equal(clock.pending(), 0, "no timer left armed");
});
