import type { Command } from "commander";
import {
  DEFAULT_CLUSTER_NAME,
  clusterLayout,
  nameFlag,
  readRecord,
  validateClusterName,
} from "../../controlplane/cluster-state.ts";
import { KubemarkError } from "../../kernel/errors.ts";
import type { CliContext } from "../context.ts";

/** `kubeconfig`: prints the path of a local cluster's admin kubeconfig (for `$(...)` in scripts). */
export function registerKubeconfig(program: Command, ctx: () => CliContext): void {
  program
    .command("kubeconfig")
    .description("print the path of a local cluster's admin kubeconfig")
    .option("--name <name>", "cluster name", DEFAULT_CLUSTER_NAME)
    .addHelpText(
      "after",
      "\nExamples:\n  export KUBECONFIG=$(kubemark-cluster kubeconfig)\n  kubemark-cluster create 100 --kubeconfig $(kubemark-cluster kubeconfig)\n  ./hollow-node --kubeconfig $(kubemark-cluster kubeconfig) --nodes 100",
    )
    .action(async (flags: { name: string }) => {
      const c = ctx();
      const layout = clusterLayout(c.paths.stateDir, validateClusterName(flags.name));
      if (!(await readRecord(layout))) {
        throw new KubemarkError("NOT_FOUND", `no local cluster named "${flags.name}"`, {
          hint: `start it with 'kubemark-cluster up${nameFlag(flags.name)}'`,
        });
      }
      c.stdout(`${layout.kubeconfig}\n`);
    });
}
