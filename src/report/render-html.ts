/**
 * The report as one self-contained HTML page: the SLI table with verdicts, and inline SVG plots
 * (API p99 per series, latency percentiles over the observation, pod startup CDF, Lease renewal
 * gaps). No script, no external resource: it opens anywhere, offline.
 */
import { callClass, type CallClass } from "./api-latency.ts";
import type { ReportResult } from "./result.ts";
import { boundText } from "./summary.ts";
import { barChart, esc, lineChart, type LineSeries } from "./svg-chart.ts";

const VERDICT_CLASS: Record<string, string> = {
  PASS: "pass",
  FAIL: "fail",
  UNKNOWN: "unk",
  "NO DATA": "nodata",
};
const CLASS_COLOR: Record<CallClass, string> = {
  mutating: "#2b7bb9",
  "read-only single": "#5cb85c",
  list: "#f0ad4e",
};

function table(
  headers: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string>>,
  verdictCol: number,
): string {
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (i === verdictCol ? `<td class="${VERDICT_CLASS[c] ?? ""}">${esc(c)}</td>` : `<td>${esc(c)}</td>`)).join("")}</tr>`,
    )
    .join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function empty(id: string, title: string, why: string): string {
  return `<div id="${esc(id)}" class="plot empty"><b>${esc(title)}</b><br>${esc(why)}</div>`;
}

/** Renders a report as a self-contained HTML page. */
export function renderReportHtml(r: ReportResult): string {
  const plots: string[] = [];
  const top = r.api.slice(0, 25);
  plots.push(
    top.length
      ? barChart({
          id: "plot-api-p99",
          title: "API call latency p99 per (verb, resource, scope): bucket upper bounds, limit dashed",
          xLabel: "seconds (log scale)",
          bars: top.map((a) => ({
            label: `${a.verb} ${a.resource} (${a.scope})`,
            value: a.p99 ? (Number.isFinite(a.p99.upper) ? a.p99.upper : a.p99.lower * 2) : 0,
            limit: a.limitSeconds,
            color:
              a.verdict === "FAIL"
                ? "#d9534f"
                : a.verdict === "PASS"
                  ? CLASS_COLOR[callClass(a.verb, a.scope)]
                  : "#999",
            text: `${boundText(a.p99)} · ${a.count} calls`,
          })),
        })
      : empty("plot-api-p99", "API call latency p99", "no API calls in the window"),
  );
  const t0 = r.overTime[0]?.at ?? 0;
  const series: LineSeries[] = [];
  for (const c of ["mutating", "read-only single", "list"] as const) {
    const p99 = r.overTime
      .filter((p) => p.byClass[c])
      .map((p) => [(p.at - t0) / 1000, p.byClass[c]!.p99] as const);
    const p50 = r.overTime
      .filter((p) => p.byClass[c])
      .map((p) => [(p.at - t0) / 1000, p.byClass[c]!.p50] as const);
    if (p99.length) {
      series.push({ name: `${c} p99`, color: CLASS_COLOR[c], points: p99 });
      series.push({ name: `${c} p50`, color: `${CLASS_COLOR[c]}88`, points: p50 });
    }
  }
  plots.push(
    series.length
      ? lineChart({
          id: "plot-latency-over-time",
          title: "API call latency over the observation (p50/p99 per sample interval, bucket bounds)",
          xLabel: `seconds after the first sample interval (${new Date(t0).toISOString()})`,
          yLabel: "seconds",
          series,
          yLimit: { value: 1, label: "1 s (single objects)" },
        })
      : empty(
          "plot-latency-over-time",
          "API call latency over time",
          "no samples: run with --observe (default 20s)",
        ),
  );
  const lat = r.podStartup.latencies;
  plots.push(
    lat.length
      ? lineChart({
          id: "plot-pod-startup-cdf",
          title: `Pod startup latency CDF (created -> Running, ${lat.length} pods)`,
          xLabel: "seconds (timestamps to the second)",
          yLabel: "fraction of pods",
          yMax: 1,
          series: [
            {
              name: "pods started within x",
              color: "#2b7bb9",
              step: true,
              points: [[0, 0], ...lat.map((v, i) => [v, (i + 1) / lat.length] as const)],
            },
          ],
          xLimit: { value: r.podStartup.limitSeconds, label: `${r.podStartup.limitSeconds} s SLO` },
        })
      : empty(
          "plot-pod-startup-cdf",
          "Pod startup latency CDF",
          "no pod started on the fleet's nodes in the window",
        ),
  );
  const gaps = r.fleet.renewalGaps.gaps;
  plots.push(
    gaps.length
      ? lineChart({
          id: "plot-heartbeat-gaps",
          title: `Lease renewal gaps (${gaps.length} renewals over ${r.fleet.renewalGaps.observedSeconds} s): CDF`,
          xLabel: "seconds between consecutive renewals of a Lease",
          yLabel: "fraction of renewals",
          yMax: 1,
          series: [
            {
              name: "renewals within x",
              color: "#5cb85c",
              step: true,
              points: [[0, 0], ...gaps.map((v, i) => [v, (i + 1) / gaps.length] as const)],
            },
          ],
          xLimit: {
            value: r.fleet.renewalGaps.limitSeconds,
            label: `${r.fleet.renewalGaps.limitSeconds} s Lease duration`,
          },
        })
      : empty(
          "plot-heartbeat-gaps",
          "Lease renewal gaps",
          "no renewals observed (--observe 0, or no hollow nodes)",
        ),
  );
  const verdictClass = r.verdict === "PASS" ? "pass" : "fail";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kubemark-cluster report: ${esc(r.verdict)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f4f4f4}
.pass{background:#dff0d8;font-weight:bold}.fail{background:#f2dede;font-weight:bold}.unk{background:#fcf8e3}.nodata{color:#888}
.plots{display:flex;flex-wrap:wrap;gap:16px}.plot{border:1px solid #ddd;background:#fff}.empty{width:700px;padding:16px;color:#666}
svg text{font:11px system-ui,sans-serif;fill:#333}svg .t{font-size:13px;font-weight:bold}
svg .g{stroke:#eee}svg .a{stroke:#888}svg .lim{stroke:#d9534f;stroke-dasharray:5 4;stroke-width:1.5}svg .limt{fill:#d9534f}
.notes{color:#555}
</style></head><body>
<h1>kubemark-cluster report: <span class="${verdictClass}">${esc(r.verdict)}</span></h1>
<p>${esc(r.server)} · ${esc(r.window.from)} to ${esc(r.window.to)} (${r.window.seconds} s, ${r.window.by === "mark" ? "since the mark" : "--since"}) · ${r.fleet.nodes} hollow nodes (${esc(r.fleet.selector)})</p>
<h2>SLIs</h2>
${table(
  ["SLI", "value", "limit", "verdict", "detail"],
  r.summary.map((l) => [l.sli, l.value, l.limit, l.verdict, l.detail]),
  3,
)}
<h2>Plots</h2>
<div class="plots">${plots.join("\n")}</div>
<h2>API calls by (verb, resource, scope)</h2>
<p>${esc(r.metric)}; counts ${esc(r.window.apiCounts)}. p50 and p99 are histogram bucket bounds.</p>
${table(
  ["verb", "resource", "scope", "calls", "p50", "p99", "limit", "verdict"],
  r.api.map((a) => [
    a.verb,
    a.resource,
    a.scope,
    String(a.count),
    boundText(a.p50),
    boundText(a.p99),
    `${a.limitSeconds} s`,
    a.verdict,
  ]),
  7,
)}
<div class="notes">${r.notes.map((n) => `<p>note: ${esc(n)}</p>`).join("")}</div>
</body></html>
`;
}
