import type { Command } from "commander";
import { writeFile, rename, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { BadInputError } from "../../kernel/errors.ts";
import { DEFAULT_FLEET_NAMESPACE } from "../../fleet/command-hint.ts";
import { clusterSource } from "../../report/cluster-source.ts";
import { renderReportHtml } from "../../report/render-html.ts";
import { renderReportText } from "../../report/render-text.ts";
import { parseDuration, report, type ReportWindow } from "../../report/report.ts";
import { sloFailure } from "../../report/summary.ts";
import type { CliContext } from "../context.ts";
import { parseOutput, renderData } from "../output.ts";
import { withSession } from "./fleet/session.ts";

interface ReportFlags {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  targetKubeconfig?: string;
  targetContext?: string;
  output?: string;
  since?: string;
  mark?: boolean;
  html?: string;
  observe: string;
  sample: string;
}

/** Writes a file whole or not at all (a temporary file renamed into place). */
async function writeWhole(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** `report`: the SIG-scalability SLIs over a window (table, JSON, HTML). */
export function registerReport(program: Command, ctx: () => CliContext): void {
  program
    .command("report")
    .description(
      "SIG-scalability SLIs over a window: API call latency, pod startup latency, hollow-fleet health, each PASS/FAIL",
    )
    .option("--since <duration>", "the window: the last 10m, 90s, 1h30m, ... (default: since the mark)")
    .option("--mark", "record a mark (the API server's counters now); with one before, report since it first")
    .option("--html <file>", "also write a self-contained HTML page with plots")
    .option(
      "--observe <duration>",
      "watch Leases (renewal gaps) and sample /metrics (latency over time) this long; 0 skips",
      "20s",
    )
    .option("--sample <duration>", "interval of /metrics samples while observing", "5s")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .option(
      "--kubeconfig <path>",
      "kubeconfig of the cluster (default $KUBECONFIG, ~/.kube/config, else the local cluster of 'up')",
    )
    .option("--context <name>", "kubeconfig context")
    .option(
      "-n, --namespace <ns>",
      "the fleet whose nodes are judged (its namespace)",
      DEFAULT_FLEET_NAMESPACE,
    )
    .option(
      "--target-kubeconfig <path>",
      "kubeconfig of the cluster the nodes register into, when it is not the hosting one",
    )
    .option("--target-context <name>", "context of the target cluster")
    .addHelpText(
      "after",
      `
SLOs (SIG scalability): API call p99 <= 1 s for single objects (mutating, and reads of scope
resource), <= 30 s for lists (scope namespace or cluster); pod startup (created -> Running, no
image pulls) p99 <= 5 s. Hollow-fleet health: Leases fresh, renewal gaps within the Lease
duration, no NotReady transitions. API latency p50/p99 come from the API server's histogram
buckets: "p99 <= 1 s" names the bucket the p99 lies in.

Examples:
  kubemark-cluster report --since 10m
  kubemark-cluster report --mark            before the load: record the counters
  kubemark-cluster report --mark            after it: report since the mark, record a new one
  kubemark-cluster report -o json | jq .summary
  kubemark-cluster report --since 30m --html report.html

Exit status: 0 when every judged SLI passes, 1 when one fails (after printing the report) or on
an error, 2 on bad input.`,
    )
    .action(async (f: ReportFlags) => {
      const c = ctx();
      const format = parseOutput(f.output, ["table", "json", "yaml"]);
      if (f.since !== undefined && f.mark) {
        throw new BadInputError("give --since or --mark, not both", "--mark reports since the previous mark");
      }
      const window: ReportWindow =
        f.since !== undefined ? { since: parseDuration(f.since, "--since") } : { sinceMark: true };
      const observeSeconds = f.observe.trim() === "0" ? 0 : parseDuration(f.observe, "--observe");
      const sampleSeconds = parseDuration(f.sample, "--sample");
      const html = f.html === undefined ? undefined : resolve(c.env["INIT_CWD"] ?? process.cwd(), f.html);
      await withSession(c, f, format !== "table", async (s, progress) => {
        const r = await report(
          {
            source: clusterSource(s.target.client, () => s.targetIdentity(), s.target.kubeconfig),
            clock: c.clock,
            stateDir: c.paths.stateDir,
            signal: c.signal,
            progress: (l) => progress.line(l),
          },
          { window, mark: f.mark === true, observeSeconds, sampleSeconds, fleet: s.fleet },
        );
        if (!("summary" in r)) {
          c.stdout(
            format === "table"
              ? `mark recorded at ${r.markRecorded} for ${r.server}\nnext: run the load, then 'kubemark-cluster report' (or 'report --mark' to start a new window)\n`
              : renderData(r, format),
          );
          return;
        }
        if (html) await writeWhole(html, renderReportHtml(r));
        c.stdout(format === "table" ? renderReportText(r) : renderData(r, format));
        if (html) progress.line(`wrote ${html}`);
        const failed = sloFailure(r);
        if (failed) throw failed;
      });
    });
}
