/** The storage benchmark's printed table. Pure: lines from the results. */
import type { Progress } from "./timeline.ts";
import type { ModeResult, StorageResult } from "./types.ts";

const s = (v: number | null): string => (v === null ? "-" : `${v.toFixed(1)} s`);

/** "12.3 s", or how far it got: "940/1000 (last 801.2 s)". */
function allDone(p: Progress, expected: number): string {
  if (p.allDoneSeconds !== null) return s(p.allDoneSeconds);
  return `${p.done}/${expected}${p.lastDoneSeconds === null ? "" : ` (last ${s(p.lastDoneSeconds)})`}`;
}

function pad(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => c.padEnd(widths[i]!))
    .join("  ")
    .trimEnd();
}

/** The table's rows, one per mode. */
function rows(runs: readonly ModeResult[]): string[][] {
  return runs.map((r) => [
    r.mode,
    `${r.nodes}/${r.pods}`,
    allDone(r.claims, r.pods),
    r.attachRequired ? allDone(r.attachments, r.pods) : "n/a",
    allDone(r.podsRunning, r.pods),
    [r.podCreatedToRunning.p50, r.podCreatedToRunning.p90, r.podCreatedToRunning.p99]
      .map((v) => (v === null ? "-" : v.toFixed(1)))
      .join(" / "),
    `${r.engine.cpuSeconds.toFixed(1)} s / ${r.engine.peakRssMB.toFixed(0)} MB`,
    String(r.requests.reduce((a, [, n]) => a + n, 0)),
  ]);
}

/** The printed report: the table, the busiest requests of each mode, attach's cost, the file and the command. */
export function reportLines(result: StorageResult, file: string): string[] {
  const head = [
    "mode",
    "nodes/pods",
    "claims Bound",
    "VAs attached",
    "pods Running",
    "created->Running p50/p90/p99 s",
    "engine CPU / RSS",
    "API requests",
  ];
  const body = rows(result.runs);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const out = [pad(head, widths), ...body.map((r) => pad(r, widths))];
  for (const r of result.runs) {
    if (!r.complete)
      out.push(`${r.mode}: incomplete at the end of the run; missing: ${r.missing.join("; ")}`);
    const top = r.requests.slice(0, 8).map(([k, n]) => `${k} ${n}`);
    out.push(`${r.mode} requests: ${top.join(", ") || "-"}`);
    if (r.podsPerNode) out.push(`${r.mode} pods per node: ${r.podsPerNode.min}-${r.podsPerNode.max}`);
  }
  const a = result.runs.find((r) => r.mode === "attach")?.podsRunning.allDoneSeconds ?? null;
  const n = result.runs.find((r) => r.mode === "no-attach")?.podsRunning.allDoneSeconds ?? null;
  if (a !== null && n !== null && n > 0) {
    out.push(`attach step: +${(a - n).toFixed(1)} s to all Running (${(a / n).toFixed(2)}x)`);
  }
  out.push(`results: ${file}`, `reproduce: ${result.command}`);
  return out;
}
