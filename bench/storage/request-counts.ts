/**
 * The API server's requests during a run, by verb and resource, from its own counter
 * `apiserver_request_total` read before and after (every client's requests: the engine's, the
 * controllers', the scheduler's and the benchmark's own watches). Pure.
 */

/** Requests by "VERB resource[/subresource]". */
export type RequestCounts = Record<string, number>;

/** {@link RequestCounts} from the API server's Prometheus text (summed over code, group, scope, version). */
export function requestCountsFromText(text: string): RequestCounts {
  const out: RequestCounts = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const m = /^apiserver_request_total\{(.*)\}\s+([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const label = (name: string): string => new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(m[1]!)?.[1] ?? "";
    const resource = label("resource");
    if (resource === "") continue; // non-resource paths: /healthz, /metrics
    const sub = label("subresource");
    const key = `${label("verb")} ${resource}${sub ? `/${sub}` : ""}`;
    out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}

/** Requests between two readings, non-zero ones only, most first (ties by name). */
export function requestsBetween(before: RequestCounts, after: RequestCounts): [string, number][] {
  return Object.entries(after)
    .map(([k, v]) => [k, v - (before[k] ?? 0)] as [string, number])
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
