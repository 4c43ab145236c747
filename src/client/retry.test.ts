import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_RETRY, NO_RETRY, isRetryable, retryDelayMs, withRetry, type RetryPolicy } from "./retry.ts";
import { KubeApiError, codeForStatus } from "./api-error.ts";
import { FakeClock } from "../kernel/clock.ts";

function apiError(status: number, extra: { reason?: string; retryAfterSeconds?: number } = {}): KubeApiError {
  return new KubeApiError({
    code: status === 0 ? "UNREACHABLE" : codeForStatus(status),
    status,
    method: "PUT",
    path: "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/hollow-0",
    message: `status ${status}`,
    ...extra,
  });
}

const LEASES: RetryPolicy = { ...DEFAULT_RETRY, retryConflicts: true };

test("isRetryable: no answer, 429 and 5xx are; client errors are not", () => {
  const cases: Array<[number, boolean]> = [
    [0, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [409, false],
    [410, false],
    [422, false],
  ];
  for (const [status, want] of cases) {
    assert.equal(isRetryable(apiError(status), DEFAULT_RETRY), want, `status ${status}`);
  }
});

test("isRetryable: 409 only with retryConflicts, and never AlreadyExists", () => {
  const cases: Array<[RetryPolicy, string | undefined, boolean]> = [
    [DEFAULT_RETRY, "Conflict", false],
    [DEFAULT_RETRY, undefined, false],
    [LEASES, "Conflict", true],
    [LEASES, undefined, true],
    [LEASES, "AlreadyExists", false],
  ];
  for (const [policy, reason, want] of cases) {
    const err = apiError(409, reason === undefined ? {} : { reason });
    assert.equal(isRetryable(err, policy), want, `retryConflicts=${policy.retryConflicts} reason=${reason}`);
  }
});

test("isRetryable: anything that is not a KubeApiError is not", () => {
  for (const err of [new Error("boom"), "text", undefined, { status: 503 }]) {
    assert.equal(isRetryable(err, LEASES), false, JSON.stringify(err));
  }
});

test("retryDelayMs honours Retry-After, capped at maxDelayMs", () => {
  const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 5_000 };
  const cases: Array<[number, number]> = [
    [1, 1_000],
    [3, 3_000],
    [5, 5_000],
    [60, 5_000],
  ];
  for (const [seconds, want] of cases) {
    // The random source must not matter when the server said how long to wait.
    for (const random of [() => 0, () => 0.999]) {
      assert.equal(retryDelayMs(apiError(429, { retryAfterSeconds: seconds }), 1, policy, random), want);
    }
  }
  // A zero Retry-After falls back to the backoff.
  assert.equal(
    retryDelayMs(apiError(429, { retryAfterSeconds: 0 }), 1, policy, () => 0),
    100,
  );
});

test("retryDelayMs backs off exponentially within [ceiling/2, ceiling]", () => {
  const policy: RetryPolicy = { maxAttempts: 10, baseDelayMs: 200, maxDelayMs: 5_000 };
  // attempt -> ceiling: 200 doubling, capped at 5000.
  const cases: Array<[number, number]> = [
    [1, 200],
    [2, 400],
    [3, 800],
    [4, 1_600],
    [5, 3_200],
    [6, 5_000],
    [9, 5_000],
  ];
  for (const [attempt, ceiling] of cases) {
    assert.equal(
      retryDelayMs(apiError(503), attempt, policy, () => 0),
      ceiling / 2,
      `attempt ${attempt} low`,
    );
    assert.equal(
      retryDelayMs(apiError(503), attempt, policy, () => 0.5),
      (ceiling * 3) / 4,
      `attempt ${attempt} mid`,
    );
    assert.equal(
      retryDelayMs(apiError(503), attempt, policy, () => 1),
      ceiling,
      `attempt ${attempt} high`,
    );
  }
});

test("withRetry retries retryable failures and returns the eventual result", async () => {
  const clock = new FakeClock();
  const failures = [apiError(0), apiError(503), apiError(429)];
  let calls = 0;
  const retried: number[] = [];
  const result = withRetry(
    () => {
      calls++;
      const err = failures.shift();
      return err ? Promise.reject(err) : Promise.resolve("ok");
    },
    DEFAULT_RETRY,
    clock,
    { random: () => 0, onRetry: (_err, attempt) => retried.push(attempt) },
  );
  // Delays with random 0: 100, 200, 400 ms.
  await clock.advance(99);
  assert.equal(calls, 1, "still sleeping before the first retry");
  await clock.advance(1 + 200 + 400);
  assert.equal(await result, "ok");
  assert.equal(calls, 4);
  assert.deepEqual(retried, [1, 2, 3]);
  assert.equal(clock.pending(), 0);
});

test("withRetry gives up after maxAttempts with the last error", async () => {
  const clock = new FakeClock();
  const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 };
  let calls = 0;
  const result = withRetry(
    () => {
      calls++;
      return Promise.reject(apiError(500, { reason: `InternalError-${calls}` }));
    },
    policy,
    clock,
    { random: () => 0 },
  );
  const rejected = assert.rejects(
    result,
    (err: unknown) => err instanceof KubeApiError && err.reason === "InternalError-3",
  );
  await clock.advance(10_000);
  await rejected;
  assert.equal(calls, 3);
});

test("withRetry throws a non-retryable error at once, without sleeping", async () => {
  const clock = new FakeClock();
  for (const [err, policy] of [
    [apiError(404), DEFAULT_RETRY],
    [apiError(403), DEFAULT_RETRY],
    [apiError(409, { reason: "Conflict" }), DEFAULT_RETRY],
    [apiError(409, { reason: "AlreadyExists" }), LEASES],
    [new Error("bug"), DEFAULT_RETRY],
    [apiError(503), NO_RETRY],
  ] as const) {
    let calls = 0;
    await assert.rejects(
      withRetry(
        () => {
          calls++;
          return Promise.reject(err);
        },
        policy,
        clock,
      ),
      (e: unknown) => e === err,
    );
    assert.equal(calls, 1, String(err));
    assert.equal(clock.pending(), 0);
  }
});

test("withRetry stops sleeping when its signal is aborted", async () => {
  const clock = new FakeClock();
  const ac = new AbortController();
  let calls = 0;
  const result = withRetry(
    () => {
      calls++;
      return Promise.reject(apiError(503));
    },
    DEFAULT_RETRY,
    clock,
    { signal: ac.signal, random: () => 0 },
  );
  const rejected = assert.rejects(
    result,
    (err: unknown) => err instanceof Error && err.name === "AbortError",
  );
  await clock.advance(50);
  ac.abort();
  await rejected;
  assert.equal(calls, 1);
});
