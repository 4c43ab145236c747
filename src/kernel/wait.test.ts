import { test } from "node:test";
import assert from "node:assert/strict";
import { waitUntil, type PollResult } from "./wait.ts";
import { FakeClock } from "./clock.ts";
import { KubemarkError } from "./errors.ts";

/** A check that replays the given results (the last one repeats); strings are thrown as errors. */
function scripted(results: Array<PollResult | string>): {
  check: () => Promise<PollResult>;
  polls: () => number;
} {
  let n = 0;
  return {
    check: () => {
      const r = results[Math.min(n++, results.length - 1)]!;
      return typeof r === "string" ? Promise.reject(new Error(r)) : Promise.resolve(r);
    },
    polls: () => n,
  };
}

test("waitUntil resolves with the poll that reported done", async () => {
  const clock = new FakeClock();
  const start = clock.now();
  const { check, polls } = scripted([
    { done: false, status: "0/3 nodes Ready" },
    { done: false, status: "2/3 nodes Ready" },
    { done: true, status: "3/3 nodes Ready" },
  ]);
  const seen: string[] = [];
  const waiting = waitUntil(check, {
    what: "nodes",
    timeoutMs: 10_000,
    intervalMs: 500,
    clock,
    onPoll: (r) => seen.push(r.status),
  });
  await clock.advance(1_000);
  assert.deepEqual(await waiting, { done: true, status: "3/3 nodes Ready" });
  assert.equal(polls(), 3);
  assert.deepEqual(seen, ["0/3 nodes Ready", "2/3 nodes Ready", "3/3 nodes Ready"]);
  assert.equal(clock.now() - start, 1_000);
});

test("waitUntil resolves at once when the first poll is done", async () => {
  const clock = new FakeClock();
  const { check, polls } = scripted([{ done: true, status: "ok" }]);
  assert.equal((await waitUntil(check, { what: "x", timeoutMs: 0, clock })).status, "ok");
  assert.equal(polls(), 1);
  assert.equal(clock.pending(), 0);
});

test("waitUntil times out naming what it waited for and the last status", async () => {
  const cases: Array<{ timeoutMs: number; intervalMs: number; polls: number; seconds: number }> = [
    { timeoutMs: 2_000, intervalMs: 500, polls: 5, seconds: 2 },
    { timeoutMs: 30_000, intervalMs: 10_000, polls: 4, seconds: 30 },
    { timeoutMs: 0, intervalMs: 500, polls: 1, seconds: 0 },
  ];
  for (const c of cases) {
    const clock = new FakeClock();
    const { check, polls } = scripted([
      { done: false, status: "apiserver not listening" },
      { done: false, status: "/readyz: etcd not ready" },
    ]);
    const waiting = waitUntil(check, {
      what: "kube-apiserver",
      timeoutMs: c.timeoutMs,
      intervalMs: c.intervalMs,
      clock,
    });
    const last = c.polls === 1 ? "apiserver not listening" : "/readyz: etcd not ready";
    const rejected = assert.rejects(
      waiting,
      (err: unknown) =>
        err instanceof KubemarkError &&
        err.code === "TIMEOUT" &&
        err.message === `timed out after ${c.seconds}s waiting for kube-apiserver; last seen: ${last}`,
    );
    await clock.advance(c.timeoutMs + c.intervalMs);
    await rejected;
    assert.equal(polls(), c.polls, `timeout ${c.timeoutMs}`);
  }
});

test("waitUntil gives up at once when failFast reports a reason", async () => {
  const clock = new FakeClock();
  const start = clock.now();
  const { check, polls } = scripted([{ done: false, status: "waiting" }]);
  let exited: string | undefined = undefined;
  const waiting = waitUntil(check, {
    what: "etcd",
    timeoutMs: 60_000,
    intervalMs: 500,
    clock,
    failFast: () => exited,
  });
  const rejected = assert.rejects(
    waiting,
    (err: unknown) =>
      err instanceof KubemarkError &&
      err.code === "START_FAILED" &&
      err.message === "gave up waiting for etcd: etcd exited with code 1",
  );
  await clock.advance(1_000);
  exited = "etcd exited with code 1";
  await clock.advance(500);
  await rejected;
  assert.equal(polls(), 4);
  assert.equal(clock.now() - start, 1_500, "long before the deadline");
});

test("waitUntil counts a throwing check as not done and reports its error", async () => {
  const clock = new FakeClock();
  const { check, polls } = scripted(["connect ECONNREFUSED 127.0.0.1:6443", { done: true, status: "ready" }]);
  const seen: PollResult[] = [];
  const waiting = waitUntil(check, {
    what: "x",
    timeoutMs: 5_000,
    intervalMs: 100,
    clock,
    onPoll: (r) => seen.push(r),
  });
  await clock.advance(100);
  assert.equal((await waiting).status, "ready");
  assert.equal(polls(), 2);
  assert.deepEqual(seen[0], { done: false, status: "connect ECONNREFUSED 127.0.0.1:6443" });

  const failing = scripted(["connect ECONNREFUSED 127.0.0.1:6443"]);
  const timingOut = waitUntil(failing.check, {
    what: "kube-apiserver",
    timeoutMs: 1_000,
    intervalMs: 100,
    clock,
  });
  const rejected = assert.rejects(
    timingOut,
    /kube-apiserver; last seen: connect ECONNREFUSED 127\.0\.0\.1:6443$/,
  );
  await clock.advance(1_000);
  await rejected;
});

test("waitUntil stops when its signal is aborted", async () => {
  const clock = new FakeClock();
  const ac = new AbortController();
  const { check } = scripted([{ done: false, status: "not yet" }]);
  const waiting = waitUntil(check, { what: "x", timeoutMs: 60_000, clock, signal: ac.signal });
  const rejected = assert.rejects(
    waiting,
    (err: unknown) => err instanceof Error && err.name === "AbortError",
  );
  await clock.advance(100);
  ac.abort();
  await rejected;
});
