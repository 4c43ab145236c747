/**
 * The one quantile every report uses: nearest rank. The q-quantile of n sorted samples is the
 * sample at rank ceil(q * n) (1-based), i.e. the smallest sample with at least q of all samples at
 * or below it, so "p99" is a value that was actually measured and at least 99 % of samples are
 * not above it. (Prometheus' histogram_quantile interpolates within buckets instead: that is
 * `report/histogram-math.ts`, for bucketed data only.)
 */
export function quantile(samples: readonly number[], q: number): number | undefined {
  if (samples.length === 0 || !(q >= 0 && q <= 1)) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  return quantileOfSorted(sorted, q);
}

/** {@link quantile} of samples already sorted ascending (no copy). */
export function quantileOfSorted(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0 || !(q >= 0 && q <= 1)) return undefined;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}
