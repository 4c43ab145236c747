/** The report's summary: one line per SLI with its value, limit and verdict. */
import { callClass, type ApiLatencyRow, type CallClass, type Verdict } from "./api-latency.ts";
import type { PodStartup } from "./pod-startup.ts";
import { KubemarkError } from "../kernel/errors.ts";
import type { ReportResult, SliLine } from "./result.ts";

function fmtSeconds(s: number | undefined, digits = 1): string {
  return s === undefined ? "-" : `${s.toFixed(digits)} s`;
}

/** `<= 0.4 s`, or `> 60 s` past the last bucket. */
export function boundText(b: { upper: number; lower: number } | undefined): string {
  if (!b) return "-";
  return Number.isFinite(b.upper) ? `<= ${b.upper} s` : `> ${b.lower} s`;
}

function worst(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.includes("FAIL")) return "FAIL";
  if (verdicts.includes("UNKNOWN")) return "UNKNOWN";
  if (verdicts.length === 0 || verdicts.every((v) => v === "NO DATA")) return "NO DATA";
  return "PASS";
}

const CLASS_TITLE: Record<CallClass, string> = {
  mutating: "API latency: mutating calls",
  "read-only single": "API latency: read-only, single object",
  list: "API latency: read-only, lists",
};

/** The summary lines: one per API call class, pod startup, and the three fleet checks. */
export function summarize(
  api: readonly ApiLatencyRow[],
  pods: PodStartup,
  fleet: ReportResult["fleet"],
): SliLine[] {
  const lines: SliLine[] = [];
  for (const c of ["mutating", "read-only single", "list"] as const) {
    const rows = api.filter((r) => callClass(r.verb, r.scope) === c);
    const w = rows[0];
    const failed = rows.filter((r) => r.verdict === "FAIL").length;
    lines.push({
      sli: CLASS_TITLE[c],
      value: w ? `p99 ${boundText(w.p99)} (${w.verb} ${w.resource})` : "-",
      limit: `p99 <= ${c === "list" ? 30 : 1} s`,
      verdict: worst(rows.map((r) => r.verdict)),
      detail: rows.length
        ? `${rows.length} (verb, resource, scope) series, ${rows.reduce((a, r) => a + r.count, 0)} calls${failed ? `, ${failed} over the limit` : ""}`
        : "no calls in the window",
    });
  }
  lines.push({
    sli: "pod startup latency",
    value:
      pods.p50Seconds === undefined
        ? "-"
        : `p50 ${fmtSeconds(pods.p50Seconds, 0)}, p90 ${fmtSeconds(pods.p90Seconds, 0)}, p99 ${fmtSeconds(pods.p99Seconds, 0)}`,
    limit: `p99 <= ${pods.limitSeconds} s`,
    verdict: pods.verdict,
    detail: `${pods.pods - pods.notStarted} pods started${pods.notStarted ? `, ${pods.notStarted} not yet` : ""} (created -> Running, +-1 s)`,
  });
  const lf = fleet.leaseFreshness;
  lines.push({
    sli: "fleet: lease freshness",
    value: lf.maxAgeSeconds === undefined ? "-" : `oldest ${fmtSeconds(lf.maxAgeSeconds)}`,
    limit: `age <= ${lf.limitSeconds} s`,
    verdict: lf.verdict,
    detail: `${lf.nodes - lf.stale.length - lf.missing.length}/${lf.nodes} fresh${lf.stale.length ? `; stale: ${lf.stale.slice(0, 3).join(", ")}` : ""}${lf.missing.length ? `; no Lease: ${lf.missing.slice(0, 3).join(", ")}` : ""}`,
  });
  const g = fleet.renewalGaps;
  lines.push({
    sli: "fleet: lease renewal gaps",
    value:
      g.maxSeconds === undefined
        ? "-"
        : `p50 ${fmtSeconds(g.p50Seconds)}, p99 ${fmtSeconds(g.p99Seconds)}, max ${fmtSeconds(g.maxSeconds)}`,
    limit: `max <= ${g.limitSeconds} s`,
    verdict: g.verdict,
    detail:
      g.observedSeconds > 0
        ? `${g.renewals} renewals watched over ${g.observedSeconds} s`
        : "not observed (--observe 0)",
  });
  const nr = fleet.notReady;
  lines.push({
    sli: "fleet: NotReady transitions",
    value: `${nr.transitions} in window, ${nr.notReadyNow.length} NotReady now`,
    limit: "0",
    verdict: nr.verdict,
    detail: nr.transitionedNodes.length
      ? `e.g. ${nr.transitionedNodes.slice(0, 3).join(", ")}`
      : nr.notReadyNow.length
        ? `NotReady: ${nr.notReadyNow.slice(0, 3).join(", ")}`
        : `${fleet.nodes} nodes`,
  });
  return lines;
}

/**
 * The error `report` exits with (status 1) after printing a report whose verdict is FAIL, naming
 * each failed SLI and its value, so a script or CI job that runs a load and then `report` fails
 * with it, as `verify` does for an unhealthy fleet; undefined when the report passed.
 */
export function sloFailure(r: Pick<ReportResult, "summary">): KubemarkError | undefined {
  const failed = r.summary.filter((l) => l.verdict === "FAIL");
  if (failed.length === 0) return undefined;
  return new KubemarkError(
    "SLO_FAILED",
    `${failed.length} of ${r.summary.length} SLIs FAIL: ${failed.map((l) => `${l.sli} (${l.value}; limit ${l.limit})`).join("; ")}`,
    { hint: "the report above says which calls, pods or nodes; NO DATA and UNKNOWN lines do not fail it" },
  );
}
