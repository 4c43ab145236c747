/** The scrape benchmark's results, as written to its JSON. */
import type { KeepsUp, MetricsPoll, MetricsServerFigures } from "./figures.ts";

/** Reviews the engine's kubelet endpoints asked the API server for. */
export interface Reviews {
  readonly tokenReviews: number;
  readonly subjectAccessReviews: number;
}

/** One measurement window (idle, or while metrics-server scrapes). */
export interface WindowFigures {
  readonly seconds: number;
  readonly engineCores: number;
  /** The whole engine process's CPU divided by its nodes. */
  readonly engineMCpuPerNode: number;
  /** At the window's end. */
  readonly engineRssMB: number;
  readonly engineRssPerNodeKB: number;
  readonly apiserverCores: number;
  /** null in the idle window (not running). */
  readonly metricsServerCores: number | null;
  readonly metricsServerRssMB: number | null;
  /** Share of the machine's CPU time the hypervisor took. */
  readonly stealPercent: number;
  readonly engineReviews: Reviews;
}

/** One run of bench/scrape.ts. */
export interface ScrapeResult {
  readonly when: string;
  readonly nodes: number;
  readonly resolutionSeconds: number;
  /** From the engine's start until every node was Ready. */
  readonly readySeconds: number;
  readonly idle: WindowFigures;
  readonly scraped: WindowFigures;
  /** Idle again after the scraped window, metrics-server paused (SIGSTOP, its connections open); null when not measured. */
  readonly idleAfter: WindowFigures | null;
  /** Engine CPU scraped / idle, the idle being the mean of the windows before and after (target: at most 1.10). */
  readonly engineCpuRatio: number;
  /** metrics-server's requests to kubelets from its start until the metrics API listed every node. */
  readonly warmup: { readonly ok: number; readonly failed: number };
  /** Engine RSS at the scraped window's end minus the idle one's, per node. */
  readonly engineRssDeltaPerNodeKB: number;
  readonly metricsServer: MetricsServerFigures;
  /** From metrics-server's start until the metrics API listed every node; null if it never did. */
  readonly allListedAfterSeconds: number | null;
  /** The metrics API polled once a resolution through the scraped window. */
  readonly polls: readonly MetricsPoll[];
  /** Nodes of the fleet `kubectl top nodes` listed after the window; null if it failed. */
  readonly topNodes: number | null;
  readonly reviews: {
    readonly windowSeconds: number;
    readonly inWindow: Reviews;
    /** From just before metrics-server's start (its first round fills the caches) to the end. */
    readonly sinceMetricsServerStart: Reviews & { readonly seconds: number };
  };
  readonly keepsUp: KeepsUp;
}
