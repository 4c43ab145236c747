import type { Command } from "commander";
import { cleanupFleet } from "../../../fleet/verbs/cleanup.ts";
import type { CliContext } from "../../context.ts";
import { withScope, withSession, type ScopeFlags } from "./session.ts";

/** `cleanup`. */
export function registerCleanup(program: Command, ctx: () => CliContext): void {
  withScope(
    program
      .command("cleanup")
      .description("remove the workload, the Nodes and Leases it created, and its RBAC; safe to run twice")
      .option("--all", "also delete the namespace (when kubemark-cluster created it)"),
  )
    .addHelpText(
      "after",
      "\nNodes are selected by the fleet's ownership label and hollow-node=true: Nodes it did not create are never touched.\n\nExamples:\n  kubemark-cluster cleanup\n  kubemark-cluster cleanup --all",
    )
    .action(async (f: ScopeFlags & { all?: boolean }) => {
      const c = ctx();
      const r = await withSession(c, f, false, (s) => cleanupFleet(s, { all: f.all === true }));
      const parts = [
        `${r.nodes} Nodes (and Leases)`,
        r.processes ? `${r.processes} engine processes` : "",
        r.objects.length ? `${r.objects.length} objects` : "",
        r.namespaces.length ? `namespace ${r.namespaces.join(", ")}` : "",
      ].filter(Boolean);
      c.stdout(
        r.nodes + r.processes + r.objects.length + r.namespaces.length === 0
          ? "nothing to remove\n"
          : `removed ${parts.join(", ")}\n`,
      );
      if (r.keptNamespaces.length)
        c.stdout(`kept namespace ${r.keptNamespaces.join(", ")}: kubemark-cluster did not create it\n`);
    });
}
