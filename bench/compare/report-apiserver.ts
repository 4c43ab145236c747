/**
 * compare.md's API-server sections: what each system's nodes cost the API server per node (over
 * the baseline before they started), hollow-node's figures against kubemark's with the ±15 %
 * target of issue #20, the flow schemas APF dispatched their requests under, and (with
 * `--identity node`) who the requests were made as.
 */
import type { CostRow, IdentityRow } from "./types.ts";

/** A figure with `d` decimals, or "-" for none. */
const fmt = (x: number | null | undefined, d = 1): string =>
  x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d);

/** a / b, or undefined when either is missing or b is not positive. */
function ratioOf(a: number | null, b: number | null): number | undefined {
  return a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0 ? undefined : a / b;
}

/** Within the ±`tolerance` target: hollow-node's `a` against kubemark's `b`, as "0.93x (within ±15 %)". */
export function againstTarget(a: number | null, b: number | null, tolerance = 0.15): string {
  const r = ratioOf(a, b);
  if (r === undefined) return "-";
  return `${r.toFixed(2)}x (${Math.abs(r - 1) <= tolerance ? "within" : "outside"} ±${tolerance * 100} %)`;
}

/** Whether `a` is at most `b` (issue #22's target for the API server's CPU per node): "≤ kubemark" or "over kubemark". */
export function atMost(a: number | null, b: number | null): string {
  const r = ratioOf(a, b);
  return r === undefined ? "-" : r <= 1 ? "≤ kubemark" : "over kubemark";
}

/** The flows a row's requests went to, most first: "system-nodes/system 9.8/s, exempt/exempt 1.2/s". */
function flowList(r: CostRow, top = 4): string {
  const flows = r.apiserver?.flows ?? [];
  return flows.length === 0
    ? "-"
    : flows
        .slice(0, top)
        .map((f) => `${f.flowSchema}/${f.priorityLevel} ${f.perSecond.toFixed(1)}/s`)
        .join(", ");
}

/** The Markdown lines of the API-server sections (none when no row has the figures). */
export function apiserverLines(
  cost: readonly CostRow[],
  identity: readonly IdentityRow[] | undefined,
  /** Each system measured on a fresh control plane (so RSS is comparable), not one after another. */
  controlPlanePerSystem = false,
): string[] {
  const rows = cost.filter((r) => r.apiserver && !r.note);
  const lines: string[] = [];
  if (rows.length > 0) {
    lines.push(
      "",
      "## What the nodes cost the API server (each system alone, over the API server just before it started)",
      "",
      controlPlanePerSystem
        ? "Each system on a control plane of its own, started fresh for it: every RSS and heap figure is over a new API server's."
        : "RSS does not shrink when a previous system's nodes are gone (Go keeps its heap), so the second system's RSS per node reads low; the Go heap in use does shrink.",
      "",
      "| system | nodes | baseline RSS MB | RSS KB/node | heap KB/node | goroutines (baseline) | goroutines/node | baseline cores | mCPU/node | APF flows in the window (flow schema/priority level) |",
      "|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const r of rows) {
      const a = r.apiserver!;
      lines.push(
        `| ${r.system} | ${r.nodes} | ${fmt(a.baselineRssMB, 0)} | ${fmt(a.rssPerNodeKB, 0)} | ${fmt(a.heapPerNodeKB, 0)} | ${a.goroutines} (${a.baselineGoroutines}) | ${fmt(a.goroutinesPerNode, 2)} | ${fmt(a.baselineCores, 3)} | ${fmt(a.mCpuPerNode, 2)} | ${flowList(r)} |`,
      );
    }
    const pairs = rows
      .filter((h) => h.system === "hollow-node")
      .flatMap((h) =>
        rows.filter((k) => k.system === "kubemark" && k.nodes === h.nodes).map((k) => [h, k] as const),
      );
    if (pairs.length > 0) {
      lines.push(
        "",
        "hollow-node / kubemark, API server per node (issue #20's target: within ±15 %; issue #22's for CPU: at most kubemark's):",
        "",
        "| nodes | RSS | heap | goroutines | CPU |",
        "|---|---|---|---|---|",
      );
      for (const [h, k] of pairs) {
        const [a, b] = [h.apiserver!, k.apiserver!];
        lines.push(
          `| ${h.nodes} | ${againstTarget(a.rssPerNodeKB, b.rssPerNodeKB)} | ${againstTarget(a.heapPerNodeKB, b.heapPerNodeKB)} | ${againstTarget(a.goroutinesPerNode, b.goroutinesPerNode)} | ${againstTarget(a.mCpuPerNode, b.mCpuPerNode)}, ${atMost(a.mCpuPerNode, b.mCpuPerNode)} |`,
        );
      }
    }
  }
  if (identity && identity.length > 0) {
    lines.push(
      "",
      "## Identities (--identity node; 10-node run, audit log)",
      "",
      "| system | distinct system:node users | kubelet requests | made as a node | CSRs created by bootstrap users |",
      "|---|---|---|---|---|",
    );
    for (const r of identity) {
      const share =
        r.kubeletRequests > 0
          ? ` (${((100 * r.kubeletRequestsAsNode) / r.kubeletRequests).toFixed(1)} %)`
          : "";
      lines.push(
        `| ${r.system} | ${r.nodeUsers} | ${r.kubeletRequests} | ${r.kubeletRequestsAsNode}${share} | ${r.system === "hollow-node" ? r.csrsCreated : "- (certificates handed over)"} |`,
      );
    }
  }
  return lines;
}
