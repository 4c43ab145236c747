/**
 * The API call latency SLI of SIG scalability, from the API server's own histograms: p99 per
 * (verb, resource, scope) over a window, against 1 s for single-object calls (mutating, and
 * read-only of scope `resource`) and 30 s for lists (scope `namespace` or `cluster`).
 */
import {
  addBuckets,
  quantileBound,
  subtractBuckets,
  totalCount,
  type Buckets,
  type QuantileBound,
} from "./histogram-math.ts";
import { histograms, labelKey, scalar, type Sample } from "./prometheus-text.ts";

/** The SLI histogram (no webhook or priority-and-fairness queue time); the older one as fallback. */
export const SLI_METRIC = "apiserver_request_sli_duration_seconds";
/** The request latency histogram every API server version has. */
export const FALLBACK_METRIC = "apiserver_request_duration_seconds";

/** Long-running verbs are outside the SLI (a watch lasts as long as its client wants). */
const EXCLUDED_VERBS = new Set(["WATCH", "WATCHLIST", "CONNECT"]);

/** A verdict against an SLO. `UNKNOWN`: the limit falls inside the bucket that holds the p99. */
export type Verdict = "PASS" | "FAIL" | "NO DATA" | "UNKNOWN";

/** One (verb, resource, scope) row. */
export interface ApiLatencyRow {
  readonly verb: string;
  /** `pods`, `pods/status`, `leases`, ... (resource/subresource). */
  readonly resource: string;
  readonly scope: string;
  /** Requests in the window. */
  readonly count: number;
  /** p50 and p99 as bucket bounds: the quantile is at most `upper` and more than `lower`. */
  readonly p50: QuantileBound | undefined;
  readonly p99: QuantileBound | undefined;
  readonly limitSeconds: number;
  readonly verdict: Verdict;
}

/** The SLO of a call of `scope`: single objects 1 s, lists 30 s. */
export function latencyLimit(scope: string): number {
  return scope === "resource" ? 1 : 30;
}

/** PASS when the p99's bucket ends at or below the limit, FAIL when it starts at or above it. */
export function verdictFor(p99: QuantileBound | undefined, limit: number): Verdict {
  if (!p99) return "NO DATA";
  if (p99.upper <= limit) return "PASS";
  if (p99.lower >= limit) return "FAIL";
  return "UNKNOWN";
}

/** Which latency histogram a scrape has. */
export function latencyMetric(samples: readonly Sample[]): string | undefined {
  if (samples.some((s) => s.name === `${SLI_METRIC}_bucket`)) return SLI_METRIC;
  if (samples.some((s) => s.name === `${FALLBACK_METRIC}_bucket`)) return FALLBACK_METRIC;
  return undefined;
}

/** Whether two scrapes come from the same API server process (start time unchanged). */
export function sameProcess(a: readonly Sample[], b: readonly Sample[]): boolean {
  const sa = scalar(a, "process_start_time_seconds");
  const sb = scalar(b, "process_start_time_seconds");
  return sa === undefined || sb === undefined || sa === sb;
}

function groupKey(l: Readonly<Record<string, string>>): string {
  const res = l["subresource"] ? `${l["resource"] ?? ""}/${l["subresource"]}` : (l["resource"] ?? "");
  return `${l["verb"] ?? ""}\u0000${res}\u0000${l["scope"] ?? ""}`;
}

/**
 * Buckets per (verb, resource, scope) over the window `before` -> `after` (all of `after` when
 * `before` is undefined), summed over the other labels (group, version, component, ...).
 */
export function windowBuckets(
  metric: string,
  after: readonly Sample[],
  before: readonly Sample[] | undefined,
): Map<string, Buckets> {
  const prev = new Map(
    (before ? histograms(before, metric) : []).map((h) => [labelKey(h.labels), h.buckets]),
  );
  const out = new Map<string, Buckets>();
  for (const h of histograms(after, metric)) {
    // Non-resource URLs (/readyz, /openapi/v3, ...) are no API calls of the SLI.
    if (EXCLUDED_VERBS.has(h.labels["verb"] ?? "") || !h.labels["resource"]) continue;
    // A series whose counts fell was reset: count it from zero.
    const d = subtractBuckets(h.buckets, prev.get(labelKey(h.labels))) ?? h.buckets;
    if (totalCount(d) === 0) continue;
    const k = groupKey(h.labels);
    const cur = out.get(k);
    out.set(k, cur ? addBuckets(cur, d) : d);
  }
  return out;
}

/** The rows of the API latency SLI over a window, worst first within each verdict. */
export function apiLatencyRows(buckets: Map<string, Buckets>): ApiLatencyRow[] {
  const rows: ApiLatencyRow[] = [];
  for (const [k, b] of buckets) {
    const [verb = "", resource = "", scope = ""] = k.split("\u0000");
    const limit = latencyLimit(scope);
    const p99 = quantileBound(b, 0.99);
    rows.push({
      verb,
      resource,
      scope,
      count: totalCount(b),
      p50: quantileBound(b, 0.5),
      p99,
      limitSeconds: limit,
      verdict: verdictFor(p99, limit),
    });
  }
  const rank: Record<Verdict, number> = { FAIL: 0, UNKNOWN: 1, PASS: 2, "NO DATA": 3 };
  return rows.sort(
    (a, b) =>
      rank[a.verdict] - rank[b.verdict] ||
      (b.p99?.upper ?? 0) / b.limitSeconds - (a.p99?.upper ?? 0) / a.limitSeconds ||
      b.count - a.count ||
      `${a.verb} ${a.resource}`.localeCompare(`${b.verb} ${b.resource}`),
  );
}

/** The three SLO classes of API calls. */
export type CallClass = "mutating" | "read-only single" | "list";

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE", "APPLY", "DELETECOLLECTION", "CREATE", "UPDATE"]);

/** Which SLO class a (verb, scope) call belongs to. */
export function callClass(verb: string, scope: string): CallClass {
  if (MUTATING.has(verb) && scope === "resource") return "mutating";
  return scope === "resource" ? "read-only single" : "list";
}

/** One interval of a series of scrapes: p50 and p99 bounds per class. */
export interface LatencyPoint {
  /** End of the interval, ms since the epoch. */
  readonly at: number;
  readonly byClass: Partial<Record<CallClass, { count: number; p50: number; p99: number }>>;
}

/** Latency percentiles (bucket bounds) per call class for each interval between consecutive scrapes. */
export function latencyOverTime(
  scrapes: ReadonlyArray<{ at: number; samples: readonly Sample[] }>,
): LatencyPoint[] {
  const points: LatencyPoint[] = [];
  for (let i = 1; i < scrapes.length; i++) {
    const a = scrapes[i - 1]!;
    const b = scrapes[i]!;
    const metric = latencyMetric(b.samples);
    if (!metric || !sameProcess(a.samples, b.samples)) continue;
    const merged = new Map<CallClass, Buckets>();
    for (const [k, bk] of windowBuckets(metric, b.samples, a.samples)) {
      const [verb = "", , scope = ""] = k.split("\u0000");
      const c = callClass(verb, scope);
      const cur = merged.get(c);
      merged.set(c, cur ? addBuckets(cur, bk) : bk);
    }
    const byClass: LatencyPoint["byClass"] = {};
    for (const [c, bk] of merged) {
      const p50 = quantileBound(bk, 0.5);
      const p99 = quantileBound(bk, 0.99);
      if (p50 && p99) byClass[c] = { count: totalCount(bk), p50: p50.upper, p99: p99.upper };
    }
    points.push({ at: b.at, byClass });
  }
  return points;
}
