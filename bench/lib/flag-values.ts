/**
 * Checks of the benchmarks' flag values: each names the flag and the bad value, so a typo stops
 * the run before it starts a control plane instead of measuring NaN nodes for an hour.
 */

/** A bad command line; the entry point prints "error: <message>" and exits with status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** Stable code for callers that branch on the kind of error. */
  readonly code = "BENCH_USAGE";
}

/** A comma-separated list of positive integers (`--nodes 10,100`). */
export function positiveIntegerList(flag: string, text: string): number[] {
  const values = text.split(",").map((s) => Number(s.trim()));
  if (text.trim() === "" || values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new UsageError(`${flag} takes a comma-separated list of positive integers, got "${text}"`);
  }
  return values;
}

/** A whole number, at least `min`. */
export function integerAtLeast(flag: string, text: string, min: number): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isInteger(v) || v < min) {
    throw new UsageError(`${flag} takes a whole number of at least ${min}, got "${text}"`);
  }
  return v;
}

/** A number of seconds, zero or more (fractions allowed), as milliseconds. */
export function secondsAsMs(flag: string, text: string): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || v < 0) {
    throw new UsageError(`${flag} takes a number of seconds (0 or more), got "${text}"`);
  }
  return v * 1000;
}

/** A rate above zero. */
export function positiveNumber(flag: string, text: string): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || v <= 0) {
    throw new UsageError(`${flag} takes a number above 0, got "${text}"`);
  }
  return v;
}

/** Runs a parse step, turning node:util parseArgs' own errors (an unknown flag, a missing value) into a {@link UsageError}. */
export function usageErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      throw new UsageError((err as Error).message, { cause: err });
    }
    throw err;
  }
}
