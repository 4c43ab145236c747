import type { Command } from "commander";
import { KubeClient } from "../../client/kube-client.ts";
import { loadClusterAccess } from "../../client/kubeconfig.ts";
import { FLEET_LABEL } from "../../kernel/k8s.ts";
import { BadInputError } from "../../kernel/errors.ts";
import { DEFAULT_CLUSTER_NAME, nameFlag } from "../../controlplane/cluster-state.ts";
import { upCluster, type ClusterInfo } from "../../controlplane/local-cluster.ts";
import { DEFAULT_KUBE_VERSION } from "../../controlplane/kube-version.ts";
import { METRICS_SERVER_VERSION } from "../../controlplane/go-build.ts";
import { workerNodes } from "../../workers/worker-nodes.ts";
import type { CliContext } from "../context.ts";
import { parseOutput, renderData } from "../output.ts";
import { ProgressView } from "../progress.ts";
import { parsePort, parseSeconds } from "../parse.ts";

interface UpFlags {
  name: string;
  kubeVersion?: string;
  port?: string;
  binDir?: string;
  audit?: boolean;
  loadTest?: boolean;
  timeout: string;
  output?: string;
  workers?: string;
  metricsServer?: boolean;
}

/**
 * Human summary of a running cluster, ending with the next useful step: a fleet's `create` into
 * it, or its `verify` when it has hollow nodes already (`hollowNodes`; undefined: not known).
 */
export function describeCluster(c: ClusterInfo, hollowNodes?: boolean): string {
  const lines = [
    c.alreadyRunning
      ? `cluster "${c.name}" (${c.version}) is already running at ${c.server}`
      : `cluster "${c.name}" (${c.version}) is ready at ${c.server}${c.readySeconds !== undefined ? ` (${c.readySeconds}s to ready)` : ""}`,
    `kubeconfig: ${c.kubeconfig}`,
  ];
  if (c.restarted) {
    for (const r of c.restarted) lines.push(`restarted ${r.component}: ${r.reason}`);
    const kept = c.components
      .map((x) => x.component)
      .filter((x) => !c.restarted?.some((r) => r.component === x));
    if (kept.length > 0) lines.push(`kept running: ${kept.join(", ")}`);
  }
  if (c.auditLog) lines.push(`audit log: ${c.auditLog}`);
  if (c.metricsServer) {
    const m = c.metricsServer;
    lines.push(
      `metrics-server: ${m.running ? `pid ${m.pid} on 127.0.0.1:${m.port}` : "NOT running"}, v1beta1.metrics.k8s.io ${m.available ? "Available" : `not available (${m.detail})`} (log ${m.log})`,
    );
  }
  for (const w of c.workers ?? []) {
    lines.push(
      `worker ${w.name}: ${w.running ? "running" : "NOT running"} at ${w.nodeIP} (kubelet log ${w.log})`,
    );
  }
  if (c.workersReadySeconds !== undefined) lines.push(`workers Ready after ${c.workersReadySeconds}s`);
  if (c.workerImages) {
    for (const i of c.workerImages.images) {
      lines.push(`image loaded: ${i.tags.join(", ")} (${(i.bytes / 1024 / 1024).toFixed(1)} MiB)`);
    }
  }
  lines.push(
    "",
    `  export KUBECONFIG=${c.kubeconfig}`,
    "",
    hollowNodes
      ? `next: ./kubemark-cluster verify --kubeconfig $(./kubemark-cluster kubeconfig${nameFlag(c.name)})   (the hollow nodes it has)`
      : `next: ./kubemark-cluster create 100 --kubeconfig $(./kubemark-cluster kubeconfig${nameFlag(c.name)})   (100 hollow nodes into it)`,
  );
  return lines.join("\n") + "\n";
}

/** `up`: start (or confirm) a local control plane. */
export function registerUp(program: Command, ctx: () => CliContext): void {
  program
    .command("up")
    .description(
      "start a local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) on loopback",
    )
    .option("--name <name>", "cluster name; several can run side by side", DEFAULT_CLUSTER_NAME)
    .option("--kube-version <version>", `Kubernetes release to run (default ${DEFAULT_KUBE_VERSION})`)
    .option("--port <port>", "API server port (default 6443 if free, else any free port)")
    .option("--bin-dir <dir>", "use prebuilt binaries from this directory (or set KUBEMARK_BIN_DIR)")
    .option("--audit", "write an audit log of every API request (logs/audit.log)")
    .option(
      "--load-test",
      "lift the API server's in-flight limits and priority-and-fairness; serve /debug/pprof",
    )
    .option("--timeout <seconds>", "deadline for the start, building excluded", "120")
    .option(
      "--workers <n>",
      "real worker nodes (kubelet + containerd, Linux, root) to run hollow-node pods on (default: as before, else 0)",
    )
    .option(
      "--metrics-server",
      `run metrics-server ${METRICS_SERVER_VERSION} (built with Go) and register v1beta1.metrics.k8s.io; kept by later 'up's`,
    )
    .option("-o, --output <format>", "table|json|yaml")
    .addHelpText(
      "after",
      `
Examples:
  kubemark-cluster up                        # v${DEFAULT_KUBE_VERSION.slice(1)} on 127.0.0.1:6443 (or a free port)
  kubemark-cluster up --name second          # a second cluster beside the first
  kubemark-cluster up --audit --load-test    # for measurements
  kubemark-cluster up --metrics-server       # plus metrics-server: kubectl top nodes
  kubemark-cluster up --workers 1            # as root: plus a real kubelet for in-cluster hollow-node pods
  export KUBECONFIG=$(kubemark-cluster status -o json | jq -r '.[0].kubeconfig')`,
    )
    .action(async (flags: UpFlags) => {
      const c = ctx();
      const format = parseOutput(flags.output);
      const view = new ProgressView({ tty: c.tty, quiet: false });
      try {
        const result = await upCluster(
          {
            paths: c.paths,
            env: c.env,
            clock: c.clock,
            onEvent: (e) => view.up(e),
            signal: c.signal,
            workers: workerNodes,
          },
          {
            name: flags.name,
            kubeVersion: flags.kubeVersion,
            port: flags.port === undefined ? undefined : parsePort(flags.port, "--port"),
            binDir: flags.binDir,
            audit: flags.audit,
            loadTest: flags.loadTest,
            timeoutMs: parseSeconds(flags.timeout, "--timeout") * 1000,
            workers: flags.workers === undefined ? undefined : parseWorkers(flags.workers),
            ...(flags.metricsServer ? { metricsServer: true } : {}),
          },
        );
        view.stop();
        c.stdout(
          format === "table"
            ? describeCluster(result, await hasHollowNodes(result.kubeconfig, c.env))
            : renderData(result, format),
        );
      } finally {
        view.stop();
      }
    });
}

/** `--workers`: a whole number from 0 to 8 (each worker costs a kubelet and a containerd). */
export function parseWorkers(text: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 8) {
    throw new BadInputError(
      `--workers must be a whole number from 0 to 8, got "${text}"`,
      "for example --workers 1",
    );
  }
  return n;
}

/**
 * Whether the cluster has a fleet's hollow nodes (a Node with the fleet label): one list of at
 * most one Node. Undefined when it cannot tell (the hint then stays the general one).
 */
async function hasHollowNodes(kubeconfig: string, env: NodeJS.ProcessEnv): Promise<boolean | undefined> {
  let client: KubeClient | undefined;
  try {
    client = new KubeClient(await loadClusterAccess({ kubeconfig, env }), {
      userAgent: "kubemark-cluster",
      connections: 1,
    });
    const list = await client.get<{ items?: unknown[] }>("/api/v1/nodes", {
      labelSelector: FLEET_LABEL,
      limit: "1",
    });
    return (list.items?.length ?? 0) > 0;
  } catch {
    return undefined;
  } finally {
    await client?.close();
  }
}
