/**
 * What the scrape benchmark reads off Prometheus text and the metrics API: metrics-server's own
 * series (its ticks, its requests to kubelets, when it last reached each node), the reviews the
 * engine's kubelet endpoints asked the API server for, and whether each poll of the metrics API
 * listed every node with a fresh sample. Pure functions of the scraped text, table-tested.
 */
import { histogramMaxBound, histogramP99, type Scrape } from "../engine-scale/metrics.ts";

/** metrics-server's series, summed over their `node` label, and each node's last request time. */
export interface MetricsServerScrape {
  /** `metrics_server_*` series by name and remaining labels, summed over nodes. */
  readonly series: Scrape;
  /** `metrics_server_kubelet_last_request_time_seconds` by node (Unix seconds). */
  readonly lastRequest: Readonly<Record<string, number>>;
}

/** Parses metrics-server's /metrics text (its `metrics_server_*` families only). */
export function parseMetricsServer(text: string): MetricsServerScrape {
  const series: Record<string, number> = {};
  const lastRequest: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(metrics_server_[a-z_]+)(?:\{([^}]*)\})?\s+([0-9.e+-]+|NaN|\+Inf)$/.exec(line);
    if (!m) continue;
    const [, name, labelText = "", value] = m as unknown as [string, string, string | undefined, string];
    const labels = [...labelText.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k!, v!] as const);
    const node = labels.find(([k]) => k === "node")?.[1];
    if (name === "metrics_server_kubelet_last_request_time_seconds" && node !== undefined) {
      lastRequest[node] = Number(value);
      continue;
    }
    const rest = labels.filter(([k]) => k !== "node").map(([k, v]) => `${k}="${v}"`);
    const key = rest.length ? `${name}{${rest.join(",")}}` : name;
    series[key] = (series[key] ?? 0) + Number(value);
  }
  return { series, lastRequest };
}

/** A histogram over a window: samples, mean, p99 and worst as bucket upper bounds (seconds). */
export interface HistogramFigures {
  readonly count: number;
  readonly meanSeconds: number | null;
  readonly p99BoundSeconds: number | null;
  readonly maxBoundSeconds: number | null;
}

/** {@link HistogramFigures} of histogram `name` between two scrapes. */
export function histogramOver(m0: Scrape, m1: Scrape, name: string): HistogramFigures {
  const count = (m1[`${name}_count`] ?? 0) - (m0[`${name}_count`] ?? 0);
  const sum = (m1[`${name}_sum`] ?? 0) - (m0[`${name}_sum`] ?? 0);
  return {
    count,
    meanSeconds: count > 0 ? sum / count : null,
    p99BoundSeconds: histogramP99(m0, m1, name),
    maxBoundSeconds: histogramMaxBound(m0, m1, name),
  };
}

/** metrics-server's figures over the scraped window. */
export interface MetricsServerFigures {
  /** Its scrape rounds: each one collects from every node and stores the batch. */
  readonly ticks: HistogramFigures;
  /** Its requests to kubelets, over all nodes. */
  readonly kubeletRequests: HistogramFigures;
  readonly kubeletRequestsOk: number;
  readonly kubeletRequestsFailed: number;
  /** Nodes it had reached at least once by the window's end. */
  readonly nodesReached: number;
  /** Seconds since the node it reached longest ago was last reached, at the window's end. */
  readonly stalestNodeAgeSeconds: number | null;
  /** Points it stored at the window's end, by type (node, container). */
  readonly storedPoints: Readonly<Record<string, number>>;
}

/** {@link MetricsServerFigures} from scrapes at the window's start and end; `nowSeconds` is the end's Unix time. */
export function metricsServerFigures(
  s0: MetricsServerScrape,
  s1: MetricsServerScrape,
  nowSeconds: number,
): MetricsServerFigures {
  const total = (s: MetricsServerScrape, ok: boolean): number =>
    s.series[`metrics_server_kubelet_request_total{success="${ok}"}`] ?? 0;
  const last = Object.values(s1.lastRequest);
  const storedPoints: Record<string, number> = {};
  for (const [k, v] of Object.entries(s1.series)) {
    const type = /^metrics_server_storage_points\{type="([^"]+)"\}$/.exec(k)?.[1];
    if (type) storedPoints[type] = v;
  }
  return {
    ticks: histogramOver(s0.series, s1.series, "metrics_server_manager_tick_duration_seconds"),
    kubeletRequests: histogramOver(s0.series, s1.series, "metrics_server_kubelet_request_duration_seconds"),
    kubeletRequestsOk: total(s1, true) - total(s0, true),
    kubeletRequestsFailed: total(s1, false) - total(s0, false),
    nodesReached: last.length,
    stalestNodeAgeSeconds: last.length ? nowSeconds - Math.min(...last) : null,
    storedPoints,
  };
}

/** TokenReviews and SubjectAccessReviews the engine made so far (its `hollow_api_requests_total`). */
export function reviewsMade(engine: Scrape): { tokenReviews: number; subjectAccessReviews: number } {
  let tokenReviews = 0;
  let subjectAccessReviews = 0;
  for (const [k, v] of Object.entries(engine)) {
    if (!k.startsWith('hollow_api_requests_total{verb="post",')) continue;
    if (k.includes('resource="tokenreviews"')) tokenReviews += v;
    if (k.includes('resource="subjectaccessreviews"')) subjectAccessReviews += v;
  }
  return { tokenReviews, subjectAccessReviews };
}

/** One poll of the metrics API's NodeMetricsList: the fleet's nodes listed and their sample times. */
export interface MetricsPoll {
  /** Seconds since the scraped window began. */
  readonly atSeconds: number;
  /** When its answer arrived (Unix seconds). */
  readonly atUnixSeconds: number;
  /**
   * When it was asked for (Unix seconds). The list goes through the API server's aggregation
   * layer, which on a loaded machine took up to 27 s at 5,000 nodes: a sample's age is judged
   * from here, not from the answer's arrival, which would count that wait as metrics-server's.
   */
  readonly sentUnixSeconds: number;
  readonly listed: number;
  /** The oldest and newest sample timestamp among them (Unix seconds). */
  readonly oldestSample: number | null;
  readonly newestSample: number | null;
}

/** A poll of `items` (NodeMetrics) for the nodes named `prefix`-*. */
export function pollOf(
  items: readonly { metadata: { name: string }; timestamp: string }[],
  prefix: string,
  atSeconds: number,
  atUnixSeconds: number,
  sentUnixSeconds: number = atUnixSeconds,
): MetricsPoll {
  const times = items
    .filter((i) => i.metadata.name.startsWith(`${prefix}-`))
    .map((i) => Date.parse(i.timestamp) / 1000)
    .filter((t) => Number.isFinite(t));
  return {
    atSeconds,
    atUnixSeconds,
    sentUnixSeconds,
    listed: times.length,
    oldestSample: times.length ? Math.min(...times) : null,
    newestSample: times.length ? Math.max(...times) : null,
  };
}

/** Whether metrics-server kept up, and why not. */
export interface KeepsUp {
  readonly keepsUp: boolean;
  readonly reasons: readonly string[];
}

/**
 * metrics-server keeps up when every round ends within the resolution (its longest tick's bucket
 * bound is at most the resolution), no request to a kubelet failed, and every poll of the metrics
 * API listed all `nodes` with a sample younger than two resolutions.
 */
export function keepsUp(
  ms: MetricsServerFigures,
  polls: readonly MetricsPoll[],
  nodes: number,
  resolutionSeconds: number,
): KeepsUp {
  const reasons: string[] = [];
  if (ms.ticks.count === 0) reasons.push("no scrape round ended in the window");
  if (ms.ticks.maxBoundSeconds !== null && ms.ticks.maxBoundSeconds > resolutionSeconds) {
    reasons.push(`a round took up to ${ms.ticks.maxBoundSeconds} s (resolution ${resolutionSeconds} s)`);
  }
  if (ms.kubeletRequestsFailed > 0) reasons.push(`${ms.kubeletRequestsFailed} requests to kubelets failed`);
  for (const p of polls) {
    const at = `poll at ${p.atSeconds.toFixed(0)} s`;
    if (p.listed < nodes) reasons.push(`${at} listed ${p.listed} of ${nodes} nodes`);
    const age = p.oldestSample === null ? null : p.sentUnixSeconds - p.oldestSample;
    if (age !== null && age > 2 * resolutionSeconds) {
      reasons.push(`${at}: the oldest sample was ${age.toFixed(0)} s old when the list was asked for`);
    }
  }
  if (polls.length === 0) reasons.push("the metrics API was not polled");
  return { keepsUp: reasons.length === 0, reasons };
}
