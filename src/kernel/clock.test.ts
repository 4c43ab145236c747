import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";

const START = Date.UTC(2026, 0, 1);

test("FakeClock starts where told and moves only on advance", async () => {
  const clock = new FakeClock(START);
  assert.equal(clock.now(), START);
  await clock.advance(1_500);
  assert.equal(clock.now(), START + 1_500);
  assert.equal(new FakeClock().now(), START, "default start");
});

test("FakeClock fires due timers in time order, ties in the order they were set", async () => {
  const clock = new FakeClock(START);
  const fired: Array<[string, number]> = [];
  const at = (name: string, ms: number): void => {
    clock.setTimer(ms, () => fired.push([name, clock.now() - START]));
  };
  at("c", 300);
  at("a", 100);
  at("b1", 200);
  at("b2", 200);
  at("late", 1_000);
  at("negative", -5);
  await clock.advance(250);
  assert.deepEqual(fired, [
    ["negative", 0],
    ["a", 100],
    ["b1", 200],
    ["b2", 200],
  ]);
  assert.equal(clock.now(), START + 250);
  assert.equal(clock.pending(), 2);
  await clock.advance(750);
  assert.deepEqual(fired.slice(4), [
    ["c", 300],
    ["late", 1_000],
  ]);
  assert.equal(clock.pending(), 0);
});

test("FakeClock fires timers set by timers within the same advance", async () => {
  const clock = new FakeClock(START);
  const ticks: number[] = [];
  const tick = (): void => {
    ticks.push(clock.now() - START);
    clock.setTimer(100, tick);
  };
  clock.setTimer(100, tick);
  await clock.advance(350);
  assert.deepEqual(ticks, [100, 200, 300]);
});

test("FakeClock cancel stops a timer from firing", async () => {
  const clock = new FakeClock(START);
  const fired: string[] = [];
  const cancelA = clock.setTimer(100, () => fired.push("a"));
  clock.setTimer(100, () => fired.push("b"));
  cancelA();
  assert.equal(clock.pending(), 1);
  await clock.advance(200);
  assert.deepEqual(fired, ["b"]);
  cancelA(); // cancelling twice, or after the fact, is harmless
});

test("FakeClock sleep resolves once its time has passed", async () => {
  const clock = new FakeClock(START);
  let woke: number | undefined;
  const slept = clock.sleep(1_000).then(() => {
    woke = clock.now();
  });
  await clock.advance(999);
  assert.equal(woke, undefined);
  await clock.advance(1);
  await slept;
  assert.equal(woke, START + 1_000);
});

test("FakeClock sleep rejects with the abort reason, before or during the sleep", async () => {
  const clock = new FakeClock(START);
  const reason = new Error("stopping");

  const during = new AbortController();
  const sleeping = clock.sleep(1_000, during.signal);
  const rejected = assert.rejects(sleeping, (err: unknown) => err === reason);
  await clock.advance(10);
  during.abort(reason);
  await rejected;
  assert.equal(clock.pending(), 0, "the aborted sleep's timer is cancelled");

  const before = new AbortController();
  before.abort(reason);
  await assert.rejects(clock.sleep(1_000, before.signal), (err: unknown) => err === reason);
  assert.equal(clock.pending(), 0);
});
