import type { Clock } from "../kernel/clock.ts";
import { KubeApiError } from "./api-error.ts";

/**
 * The one retry policy of the project, shared by engine and CLI: what is retryable and how long to
 * wait. Retryable: no answer (connection refused or reset, timeouts), 429, 5xx, and, only where the
 * caller says so (lease renewals), 409 conflicts.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** First backoff; doubles each attempt up to `maxDelayMs`; half of each delay is random. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Also retry 409 Conflict (lease renewals race with nobody but themselves). */
  readonly retryConflicts?: boolean;
}

/** Default policy: 5 attempts, 200 ms doubling to 5 s. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 5_000 };

/** No retries at all (the caller handles failures itself). */
export const NO_RETRY: RetryPolicy = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

/** Whether an error from a request may succeed if sent again. */
export function isRetryable(err: unknown, policy: RetryPolicy): boolean {
  if (!(err instanceof KubeApiError)) return false;
  if (err.status === 0) return true;
  if (err.status === 429 || err.status >= 500) return true;
  if (err.status === 409 && policy.retryConflicts === true && err.reason !== "AlreadyExists") return true;
  return false;
}

/**
 * Delay before attempt `attempt` (1 = the first retry): `Retry-After` when the server gave one
 * (capped at `maxDelayMs`), else exponential backoff with jitter (half fixed, half random).
 */
export function retryDelayMs(
  err: unknown,
  attempt: number,
  policy: RetryPolicy,
  random: () => number,
): number {
  if (err instanceof KubeApiError && err.retryAfterSeconds !== undefined && err.retryAfterSeconds > 0) {
    return Math.min(err.retryAfterSeconds * 1000, policy.maxDelayMs);
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Runs `fn` under a retry policy, sleeping on the given clock between attempts. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  clock: Clock,
  opts: {
    signal?: AbortSignal | undefined;
    random?: () => number;
    onRetry?: (err: unknown, attempt: number) => void;
  } = {},
): Promise<T> {
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.maxAttempts || !isRetryable(err, policy) || opts.signal?.aborted) throw err;
      opts.onRetry?.(err, attempt);
      await clock.sleep(retryDelayMs(err, attempt, policy, random), opts.signal);
    }
  }
}
