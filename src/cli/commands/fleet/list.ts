import type { Command } from "commander";
import { listFleet } from "../../../fleet/verbs/list.ts";
import type { CliContext } from "../../context.ts";
import { parseOutput, renderData, renderTable } from "../../output.ts";
import { withScope, withSession, type ScopeFlags } from "./session.ts";

/** `list`. */
export function registerList(program: Command, ctx: () => CliContext): void {
  withScope(
    program
      .command("list")
      .description("show the hollow workload, its pods or processes, and Node counts")
      .option("-o, --output <format>", "table, wide (each node), json or yaml", "table"),
  )
    .addHelpText("after", "\nExamples:\n  kubemark-cluster list\n  kubemark-cluster list -o wide")
    .action(async (f: ScopeFlags) => {
      const c = ctx();
      const format = parseOutput(f.output, ["table", "wide", "json", "yaml"]);
      await withSession(c, f, true, async (s) => {
        const r = await listFleet(s);
        if (format === "json" || format === "yaml") {
          c.stdout(renderData(r, format));
          return;
        }
        if (!r.spec) {
          c.stdout(`no hollow-node fleet in namespace ${r.namespace}\n`);
          return;
        }
        const sp = r.spec;
        c.stdout(
          renderTable(
            [
              "fleet",
              "namespace",
              "mode",
              "engine",
              "version",
              "desired",
              "ready",
              "notready",
              sp.mode === "local" ? "processes" : "pods",
            ],
            [
              [
                sp.fleet,
                sp.namespace,
                sp.mode,
                sp.engine,
                sp.kubeletVersion ?? "(server's)",
                sp.nodes,
                r.ready,
                r.notReady,
                `${r.workload.running}/${r.workload.desired}`,
              ],
            ],
          ),
        );
        c.stdout("\n" + r.workload.detail.join("\n") + (r.workload.detail.length ? "\n" : ""));
        if (r.localDir) c.stdout(`state and logs: ${r.localDir}\n`);
        if (format === "wide") {
          c.stdout(
            "\n" +
              renderTable(
                ["node", "status", "version", "created"],
                r.nodes.map((n) => [n.name, n.ready ? "Ready" : "NotReady", n.version, n.created]),
              ),
          );
        }
      });
    });
}
