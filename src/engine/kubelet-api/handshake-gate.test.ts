import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../kernel/clock.ts";
import { HandshakeGate } from "./handshake-gate.ts";

/** A gate of `limit` over named connections, recording what it started and dropped. */
function gate(limit: number): {
  g: HandshakeGate<string>;
  clock: FakeClock;
  started: string[];
  dropped: string[];
} {
  const clock = new FakeClock(0);
  const started: string[] = [];
  const dropped: string[] = [];
  const g = new HandshakeGate<string>({
    limit,
    maxWaitMs: 10_000,
    clock,
    start: (c) => started.push(c),
    drop: (c) => dropped.push(c),
  });
  return { g, clock, started, dropped };
}

test("at most `limit` handshakes at a time, the others started first come, first served", () => {
  const { g, started } = gate(2);
  for (const c of ["a", "b", "c", "d", "e"]) g.offer(c);
  assert.deepEqual(started, ["a", "b"]);
  assert.deepEqual([g.running, g.queued], [2, 3]);
  g.finished("b");
  assert.deepEqual(started, ["a", "b", "c"]);
  g.finished("a");
  g.finished("c");
  assert.deepEqual(started, ["a", "b", "c", "d", "e"]);
  g.finished("d");
  g.finished("e");
  assert.deepEqual([g.running, g.queued], [0, 0]);
});

test("a connection that closes while waiting is never started; finishing twice frees one slot", () => {
  const { g, started } = gate(1);
  for (const c of ["a", "b", "c"]) g.offer(c);
  g.finished("b"); // closed in line
  g.finished("a");
  g.finished("a"); // its handshake ended, then its socket closed
  assert.deepEqual(started, ["a", "c"]);
  assert.deepEqual([g.running, g.queued], [1, 0]);
});

test("a connection that waited 10 s is dropped unstarted (its client gave up); later ones start", async () => {
  const { g, clock, started, dropped } = gate(1);
  g.offer("a");
  g.offer("b");
  await clock.advance(9_000);
  g.offer("c");
  await clock.advance(1_000);
  g.finished("a");
  assert.deepEqual(dropped, ["b"]);
  assert.deepEqual(started, ["a", "c"]);
});

test("a slot held 10 s (a client that never finishes its handshake) is given back to the next arrival", async () => {
  const { g, clock, started } = gate(1);
  g.offer("silent");
  g.offer("b");
  await clock.advance(10_000);
  g.offer("c");
  // "b" waited 10 s too and is dropped; "c" gets the slot "silent" held.
  assert.deepEqual(started, ["silent", "c"]);
  assert.equal(g.running, 1);
});
