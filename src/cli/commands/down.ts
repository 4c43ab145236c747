import type { Command } from "commander";
import { DEFAULT_CLUSTER_NAME, nameFlag } from "../../controlplane/cluster-state.ts";
import { downCluster, type ControlPlaneDeps, type DownDeps } from "../../controlplane/local-cluster.ts";
import { removeLocalFleetsOf } from "../../fleet/local-runner.ts";
import { workerNodes } from "../../workers/worker-nodes.ts";
import type { CliContext } from "../context.ts";
import { parseOutput, renderData } from "../output.ts";

/** `down`'s dependencies: the cluster's local fleets, then its real workers, stop before its control plane. */
export function downDeps(deps: ControlPlaneDeps): DownDeps {
  return {
    ...deps,
    workers: workerNodes,
    beforeStop: async ({ layout, rec }) => ({
      fleetProcesses: (await removeLocalFleetsOf(deps.paths.stateDir, layout, rec, deps.clock)).processes,
    }),
  };
}

/** `down`: stop a local control plane and remove its state. */
export function registerDown(program: Command, ctx: () => CliContext): void {
  program
    .command("down")
    .description("stop a local control plane (waiting until its processes exit) and remove its state")
    .option("--name <name>", "cluster name", DEFAULT_CLUSTER_NAME)
    .option("-o, --output <format>", "table|json|yaml")
    .addHelpText("after", "\nExamples:\n  kubemark-cluster down\n  kubemark-cluster down --name second")
    .action(async (flags: { name: string; output?: string }) => {
      const c = ctx();
      const format = parseOutput(flags.output);
      const r = await downCluster(downDeps({ paths: c.paths, env: c.env, clock: c.clock }), {
        name: flags.name,
      });
      if (format !== "table") {
        c.stdout(renderData(r, format));
      } else if (!r.existed) {
        c.stdout(`no local cluster named "${r.name}": nothing to do\n`);
      } else {
        const engines = r.fleetProcesses ?? 0;
        c.stdout(
          `cluster "${r.name}" is down (${r.stopped.length ? `stopped ${r.stopped.join(", ")}` : "nothing was running"}); removed ${r.removed}\n` +
            (engines > 0
              ? `stopped ${engines} hollow-node engine ${engines === 1 ? "process" : "processes"} of its local fleets (and removed their state)\n`
              : "") +
            `next: kubemark-cluster up${nameFlag(r.name)}   (to start again)\n`,
        );
      }
    });
}
