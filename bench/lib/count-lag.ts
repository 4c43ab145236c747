import { quantile } from "../../src/kernel/quantile.ts";

/**
 * How late a Ready count ran behind the Nodes' creations: the k-th oldest creation (to the second,
 * so up to 1 s too long) against the moment the count first reached k, for every k. Not each
 * Node's own lag (the count does not say which Node it counted), but the same where Nodes are
 * counted in the order they were created. Seconds.
 */
export function countLag(
  created: readonly number[],
  reachedAt: readonly number[],
): { p50: number; p99: number; max: number; last: number } | undefined {
  const n = Math.min(created.length, reachedAt.length);
  if (n === 0) return undefined;
  const lags: number[] = [];
  for (let k = 0; k < n; k++) lags.push(Math.max(0, reachedAt[k]! - created[k]!) / 1000);
  return {
    p50: quantile(lags, 0.5)!,
    p99: quantile(lags, 0.99)!,
    max: quantile(lags, 1)!,
    last: lags[n - 1]!,
  };
}
