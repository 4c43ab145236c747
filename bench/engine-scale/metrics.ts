/**
 * Figures from Prometheus text: the engine's own metrics (scraped from its port) and the API
 * server's request-duration histogram for Lease PUTs, and what a window between two scrapes says.
 * Histogram quantiles here are bucket upper bounds (the bucket where the cumulative count reaches
 * the share), not samples: they say "at most".
 */
import type { KubeClient } from "../../src/client/kube-client.ts";

/** Sample values by series (name with its labels), as scraped. */
export type Scrape = Record<string, number>;

/** The engine's `hollow_*` and `nodejs_*` series from its Prometheus text. */
export function parseEngineMetrics(text: string): Scrape {
  const out: Scrape = {};
  for (const line of text.split("\n")) {
    const m = /^((?:hollow|nodejs)_[a-z_]+(?:\{[^}]*\})?)\s+([0-9.e+-]+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Reads a few figures from the engine's Prometheus endpoint. */
export async function scrape(port: number): Promise<Scrape> {
  return parseEngineMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
}

/**
 * The API server's request-duration histogram for Lease PUTs, summed over its other labels:
 * `..._bucket{le="X"}`, `..._count` and `..._sum`.
 */
export function leasePutBucketsFromText(text: string): Scrape {
  const out: Scrape = {};
  const name = "apiserver_request_duration_seconds";
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    if (!line.includes('verb="PUT"') || !line.includes('resource="leases"')) continue;
    const m = /^(\w+)\{(.*)\}\s+([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const le = /le="([^"]+)"/.exec(m[2]!)?.[1];
    const key = m[1] === `${name}_bucket` && le ? `${name}_bucket{le="${le}"}` : m[1]!;
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

/** {@link leasePutBucketsFromText} of the API server's /metrics now. */
export async function serverLeasePutBuckets(client: KubeClient): Promise<Scrape> {
  return leasePutBucketsFromText(await client.getText("/metrics"));
}

/** Lease PUTs answered other than 200 so far (transport failures and timeouts count as code 0). */
export function leasePutFailures(m: Scrape): number {
  let n = 0;
  for (const [k, v] of Object.entries(m)) {
    if (k.startsWith('hollow_api_requests_total{verb="put",resource="leases",') && !k.endsWith('code="200"}'))
      n += v;
  }
  return n;
}

/** A histogram's sample count and cumulative bucket counts (by upper bound, ascending) over a window m0 -> m1. */
function bucketDeltas(
  m0: Scrape,
  m1: Scrape,
  name: string,
): { count: number; buckets: (readonly [number, number])[] } {
  const count = (m1[`${name}_count`] ?? 0) - (m0[`${name}_count`] ?? 0);
  const buckets = Object.entries(m1)
    .filter(([k]) => k.startsWith(`${name}_bucket{`))
    .map(
      ([k, v]) =>
        [k.includes('"+Inf"') ? Infinity : Number(/le="([^"]+)"/.exec(k)![1]), v - (m0[k] ?? 0)] as const,
    )
    .sort((a, b) => a[0] - b[0]);
  return { count, buckets };
}

/** p99 upper bound (seconds) of a Prometheus histogram over a window: the bucket deltas m1 - m0. */
export function histogramP99(m0: Scrape, m1: Scrape, name: string): number | null {
  const { count, buckets } = bucketDeltas(m0, m1, name);
  if (count === 0) return null;
  return buckets.find(([, v]) => v >= 0.99 * count)?.[0] ?? null;
}

/**
 * Upper bound (seconds) of the highest non-empty bucket of a histogram over a window: the worst
 * sample is at most this (a bucket bound, not the sample itself); null when the window had none.
 */
export function histogramMaxBound(m0: Scrape, m1: Scrape, name: string): number | null {
  const { count, buckets } = bucketDeltas(m0, m1, name);
  if (count === 0) return null;
  return buckets.find(([, v]) => v >= count)?.[0] ?? null;
}

/** Lease renewals in a window, how many started over 1 s late, and the lateness p99 and worst (bucket bounds). */
export interface Lateness {
  renewals: number;
  over1s: number;
  p99Seconds: number | null;
  maxBoundSeconds: number | null;
}

/** {@link Lateness} of the engine's renewals between two scrapes. */
export function latenessOver(m0: Scrape, m1: Scrape): Lateness {
  const name = "hollow_lease_renew_lateness_seconds";
  const renewals = (m1[`${name}_count`] ?? 0) - (m0[`${name}_count`] ?? 0);
  const within1s = (m1[`${name}_bucket{le="1"}`] ?? 0) - (m0[`${name}_bucket{le="1"}`] ?? 0);
  return {
    renewals,
    over1s: renewals - within1s,
    p99Seconds: histogramP99(m0, m1, name),
    maxBoundSeconds: histogramMaxBound(m0, m1, name),
  };
}

/** The API server's own process figures, from its /metrics. */
export interface ServerProcess {
  goroutines: number;
  rssBytes: number;
  cpuSeconds: number;
}

/** `go_goroutines`, `process_resident_memory_bytes` and `process_cpu_seconds_total` from Prometheus text. */
export function serverProcessFromText(text: string): ServerProcess {
  const value = (name: string): number => {
    const m = new RegExp(`^${name}\\s+([0-9.e+-]+)$`, "m").exec(text);
    if (!m) throw new Error(`the API server's /metrics has no ${name}`);
    return Number(m[1]);
  };
  return {
    goroutines: value("go_goroutines"),
    rssBytes: value("process_resident_memory_bytes"),
    cpuSeconds: value("process_cpu_seconds_total"),
  };
}

/** {@link serverProcessFromText} of the API server's /metrics now. */
export async function serverProcess(client: KubeClient): Promise<ServerProcess> {
  return serverProcessFromText(await client.getText("/metrics"));
}
