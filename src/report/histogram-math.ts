/**
 * Arithmetic on cumulative histograms: the difference of two scrapes (a window), the sum of
 * series, and quantiles. A histogram keeps counts per bucket, not values, so a quantile is only
 * known to lie in a bucket: {@link quantileBound} returns that bucket's upper bound ("p99 <= X s").
 * Quantiles of exact samples use the kernel's one nearest-rank `quantile` (kernel/quantile.ts).
 */
/** Buckets as `[le, cumulative count]`, ascending, the last one +Inf. */
export type Buckets = ReadonlyArray<readonly [number, number]>;

/**
 * `after - before`, bucket by bucket. Returns undefined when a count went down: the process was
 * restarted in between and the window's counts are unknown.
 */
export function subtractBuckets(after: Buckets, before: Buckets | undefined): Buckets | undefined {
  if (!before) return after;
  const prev = new Map(before.map(([le, c]) => [le, c]));
  const out: Array<[number, number]> = [];
  for (const [le, c] of after) {
    const d = c - (prev.get(le) ?? 0);
    if (d < 0) return undefined;
    out.push([le, d]);
  }
  return out;
}

/** Adds bucket counts of series that share their bounds (bounds missing in one are taken as 0 there). */
export function addBuckets(a: Buckets, b: Buckets): Buckets {
  const m = new Map<number, number>();
  for (const [le, c] of a) m.set(le, (m.get(le) ?? 0) + c);
  for (const [le, c] of b) m.set(le, (m.get(le) ?? 0) + c);
  return [...m.entries()].sort((x, y) => x[0] - y[0]);
}

/** Total observations (the +Inf bucket). */
export function totalCount(b: Buckets): number {
  return b.length ? b[b.length - 1]![1] : 0;
}

/** Where a quantile lies: `<= upper` (upper is a bucket bound), or `> lower` when it is past the last finite bound. */
export interface QuantileBound {
  /** The bucket's upper bound in seconds; Infinity when the quantile is past every finite bound. */
  readonly upper: number;
  /** The bucket's lower bound (the previous bound, 0 for the first). */
  readonly lower: number;
}

/**
 * The bucket holding quantile `q` (0 < q <= 1): the first bucket whose cumulative count reaches
 * `q * total`. Undefined when the histogram is empty.
 */
export function quantileBound(b: Buckets, q: number): QuantileBound | undefined {
  const total = totalCount(b);
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  for (const [le, c] of b) {
    if (c >= rank) return { upper: le, lower };
    lower = le;
  }
  return { upper: Infinity, lower };
}

/**
 * Whether at least fraction `q` of the observations were at most `limit` seconds, when a bucket
 * bound equals the limit (then the verdict is exact though the quantile is not). Undefined when no
 * bound equals the limit.
 */
export function fractionWithin(b: Buckets, limit: number): number | undefined {
  const total = totalCount(b);
  const at = b.find(([le]) => le === limit);
  return at && total > 0 ? at[1] / total : undefined;
}
