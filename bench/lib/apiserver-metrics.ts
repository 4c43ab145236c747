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
