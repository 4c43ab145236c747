/**
 * What the benchmarks read from the API server's own /metrics: its goroutines, its Go heap in use,
 * and the requests API Priority and Fairness dispatched by flow schema and priority level, so a run
 * can say which flow schema a system's nodes are handled under (kubelets: `system-nodes`) and what
 * each node costs the API server.
 */
import type { KubeClient } from "../../src/client/kube-client.ts";
import { parsePrometheusText, scalar } from "../../src/report/prometheus-text.ts";

/** One scrape of the API server's /metrics, as far as the benchmarks read it. */
export interface ApiserverSnapshot {
  /** `go_goroutines`. */
  goroutines: number;
  /** `go_memstats_heap_inuse_bytes`, when served. */
  heapInuseBytes: number | undefined;
  /** `apiserver_flowcontrol_dispatched_requests_total` by "<flow schema>/<priority level>". */
  dispatched: Map<string, number>;
}

/** Requests APF dispatched under one flow schema and priority level over a window. */
export interface FlowRate {
  flowSchema: string;
  priorityLevel: string;
  requests: number;
  perSecond: number;
}

/** An {@link ApiserverSnapshot} from /metrics text; throws when it has no `go_goroutines` (not an API server's). */
export function apiserverSnapshot(text: string): ApiserverSnapshot {
  const samples = parsePrometheusText(text);
  const goroutines = scalar(samples, "go_goroutines");
  if (goroutines === undefined) throw new Error("the /metrics answer has no go_goroutines");
  const dispatched = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== "apiserver_flowcontrol_dispatched_requests_total") continue;
    const key = `${s.labels["flow_schema"] ?? ""}/${s.labels["priority_level"] ?? ""}`;
    dispatched.set(key, (dispatched.get(key) ?? 0) + s.value);
  }
  return { goroutines, heapInuseBytes: scalar(samples, "go_memstats_heap_inuse_bytes"), dispatched };
}

/** Scrapes the API server's /metrics with `client` (which needs `get` on the `/metrics` URL). */
export async function scrapeApiserver(client: KubeClient): Promise<ApiserverSnapshot> {
  return apiserverSnapshot(await client.getText("/metrics"));
}

/**
 * The requests dispatched between two snapshots `seconds` apart, by flow schema and priority
 * level, most first; flows with none are left out.
 */
export function dispatchedBetween(a: ApiserverSnapshot, b: ApiserverSnapshot, seconds: number): FlowRate[] {
  const out: FlowRate[] = [];
  for (const [key, v] of b.dispatched) {
    const requests = v - (a.dispatched.get(key) ?? 0);
    if (requests <= 0) continue;
    const [flowSchema = "", priorityLevel = ""] = key.split("/");
    out.push({ flowSchema, priorityLevel, requests, perSecond: seconds > 0 ? requests / seconds : 0 });
  }
  return out.sort((x, y) => y.requests - x.requests);
}

/** How the API server's watch cache served watches of one resource (counters, or their change over a window). */
export interface WatchCacheHealth {
  /** Watchers it closed because they did not take their events in time (`apiserver_terminated_watchers_total`). */
  terminated: number;
  /** Requests that waited for the cache to catch up with etcd (`apiserver_watch_cache_read_wait_seconds_count`). */
  freshnessWaits: number;
  /**
   * Of those, waits past the histogram's last bucket (3 s, the cache's block timeout): a WatchList
   * or consistent read that then failed with "Too large resource version" (504) for the client
   * to retry.
   */
  freshnessTimeouts: number;
  /** Seconds spent waiting in all (`_sum`). */
  freshnessWaitSeconds: number;
}

/** {@link WatchCacheHealth} by resource ("group/resource", core as "/resource"), from /metrics text. */
export function watchCacheHealth(text: string): Map<string, WatchCacheHealth> {
  const out = new Map<string, WatchCacheHealth>();
  const at = (labels: Record<string, string>): WatchCacheHealth => {
    const key = `${labels["group"] ?? ""}/${labels["resource"] ?? ""}`;
    let h = out.get(key);
    if (!h)
      out.set(key, (h = { terminated: 0, freshnessWaits: 0, freshnessTimeouts: 0, freshnessWaitSeconds: 0 }));
    return h;
  };
  const inLastBucket = new Map<WatchCacheHealth, number>();
  for (const s of parsePrometheusText(text)) {
    if (s.name === "apiserver_terminated_watchers_total") at(s.labels).terminated += s.value;
    else if (s.name === "apiserver_watch_cache_read_wait_seconds_count")
      at(s.labels).freshnessWaits += s.value;
    else if (s.name === "apiserver_watch_cache_read_wait_seconds_sum")
      at(s.labels).freshnessWaitSeconds += s.value;
    else if (s.name === "apiserver_watch_cache_read_wait_seconds_bucket" && s.labels["le"] === "3")
      inLastBucket.set(at(s.labels), s.value);
  }
  for (const [h, le3] of inLastBucket) h.freshnessTimeouts = Math.max(0, h.freshnessWaits - le3);
  return out;
}

/** Each watch cache's resourceVersion by "group/resource" (`apiserver_watch_cache_resource_version`). */
export function watchCacheRevisions(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of parsePrometheusText(text))
    if (s.name === "apiserver_watch_cache_resource_version")
      out.set(`${s.labels["group"] ?? ""}/${s.labels["resource"] ?? ""}`, s.value);
  return out;
}

/** The change of each resource's {@link WatchCacheHealth} from `a` to `b`; resources with no change are left out. */
export function watchCacheHealthBetween(
  a: Map<string, WatchCacheHealth>,
  b: Map<string, WatchCacheHealth>,
): Record<string, WatchCacheHealth> {
  const out: Record<string, WatchCacheHealth> = {};
  for (const [key, v] of b) {
    const p = a.get(key);
    const d: WatchCacheHealth = {
      terminated: v.terminated - (p?.terminated ?? 0),
      freshnessWaits: v.freshnessWaits - (p?.freshnessWaits ?? 0),
      freshnessTimeouts: v.freshnessTimeouts - (p?.freshnessTimeouts ?? 0),
      freshnessWaitSeconds: Math.round((v.freshnessWaitSeconds - (p?.freshnessWaitSeconds ?? 0)) * 10) / 10,
    };
    if (d.terminated > 0 || d.freshnessWaits > 0) out[key] = d;
  }
  return out;
}
