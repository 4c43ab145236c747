import type { Command } from "commander";
import { nameFlag } from "../../controlplane/cluster-state.ts";
import { clusterStatus } from "../../controlplane/local-cluster.ts";
import { KubemarkError } from "../../kernel/errors.ts";
import type { CliContext } from "../context.ts";
import { parseOutput, renderData, renderTable } from "../output.ts";

/** `status`: each component's pid, port and health. Exit code 1 when a cluster is unhealthy. */
export function registerStatus(program: Command, ctx: () => CliContext): void {
  program
    .command("status")
    .description("show each local cluster's components: pid, port and health")
    .option("--name <name>", "only this cluster (default: every local cluster)")
    .option("-o, --output <format>", "table|json|yaml")
    .addHelpText(
      "after",
      "\nExamples:\n  kubemark-cluster status\n  kubemark-cluster status --name kubemark -o json",
    )
    .action(async (flags: { name?: string; output?: string }) => {
      const c = ctx();
      const format = parseOutput(flags.output);
      const clusters = await clusterStatus(
        { paths: c.paths, env: c.env, clock: c.clock },
        { name: flags.name },
      );
      if (format !== "table") {
        c.stdout(renderData(clusters, format));
      } else if (clusters.length === 0) {
        c.stdout("no local clusters\nnext: kubemark-cluster up\n");
      } else {
        for (const cl of clusters) {
          c.stdout(
            `cluster "${cl.name}" ${cl.version} at ${cl.server}: ${cl.healthy ? "healthy" : "NOT healthy"}\n`,
          );
          c.stdout(
            renderTable(
              ["component", "pid", "port", "health"],
              cl.components.map((x) => [
                x.component,
                x.pid ?? "-",
                x.port,
                x.healthy ? "ok" : (x.detail.split("\n")[0] ?? ""),
              ]),
            ),
          );
          if (cl.metricsServer) {
            const m = cl.metricsServer;
            c.stdout(
              `metrics-server: ${m.running ? `pid ${m.pid} on 127.0.0.1:${m.port}` : "NOT running"}, v1beta1.metrics.k8s.io ${m.available ? "Available" : `not available (${m.detail})`}\n`,
            );
          }
          for (const w of cl.workers ?? []) {
            c.stdout(`worker ${w.name}: ${w.running ? "running" : "NOT running"} at ${w.nodeIP}\n`);
          }
          c.stdout(`kubeconfig: ${cl.kubeconfig}\n\n`);
        }
      }
      const sick = clusters.filter((x) => !x.healthy).map((x) => x.name);
      if (sick.length > 0) {
        throw new KubemarkError("START_FAILED", `not healthy: ${sick.join(", ")}`, {
          hint: `'kubemark-cluster up${sick.length === 1 ? nameFlag(sick[0]!) : ""}' restarts what stopped`,
        });
      }
    });
}
