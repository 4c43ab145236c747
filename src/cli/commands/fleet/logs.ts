import type { Command } from "commander";
import { fleetLogs } from "../../../fleet/verbs/logs.ts";
import type { CliContext } from "../../context.ts";
import { parseInteger } from "../../parse.ts";
import { withScope, withSession, type ScopeFlags } from "./session.ts";

/** `logs`. */
export function registerLogs(program: Command, ctx: () => CliContext): void {
  withScope(
    program
      .command("logs")
      .description("print a hollow node's log (or every engine's), wherever it runs")
      .argument("[NODE]", "node name, e.g. hollow-node-3")
      .option("--tail <lines>", "lines to print", "50"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  kubemark-cluster logs hollow-node-3\n  kubemark-cluster logs --tail 200",
    )
    .action(async (node: string | undefined, f: ScopeFlags & { tail: string }) => {
      const c = ctx();
      const tail = parseInteger(f.tail, "--tail", 1, 1_000_000);
      c.stdout(await withSession(c, f, true, (s) => fleetLogs(s, node, tail)));
    });
}
