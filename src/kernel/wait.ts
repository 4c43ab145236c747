import type { Clock } from "./clock.ts";
import { KubemarkError, describeError } from "./errors.ts";

/** What one poll of a condition found. */
export interface PollResult {
  readonly done: boolean;
  /** What is still missing (or what was reached), for progress lines and the timeout message. */
  readonly status: string;
}

/** Options of {@link waitUntil}. */
export interface WaitOptions {
  /** What is being waited for, as in "waiting for <what>". */
  readonly what: string;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly clock: Clock;
  readonly signal?: AbortSignal;
  /** Called after each poll. */
  readonly onPoll?: (r: PollResult) => void;
  /** Checked after each poll; a string is a reason to give up at once (e.g. a process exited). */
  readonly failFast?: () => string | undefined;
}

/**
 * Polls `check` until it reports done, with a deadline. A poll that throws counts as not done (its
 * error becomes the status). On timeout throws TIMEOUT naming what was still missing.
 */
export async function waitUntil(check: () => Promise<PollResult>, opts: WaitOptions): Promise<PollResult> {
  const deadline = opts.clock.now() + opts.timeoutMs;
  let last: PollResult;
  for (;;) {
    try {
      last = await check();
    } catch (err) {
      last = { done: false, status: describeError(err) };
    }
    opts.onPoll?.(last);
    if (last.done) return last;
    const fatal = opts.failFast?.();
    if (fatal) throw new KubemarkError("START_FAILED", `gave up waiting for ${opts.what}: ${fatal}`);
    if (opts.clock.now() >= deadline) {
      throw new KubemarkError(
        "TIMEOUT",
        `timed out after ${Math.round(opts.timeoutMs / 1000)}s waiting for ${opts.what}; last seen: ${last.status}`,
      );
    }
    await opts.clock.sleep(opts.intervalMs ?? 500, opts.signal);
  }
}
