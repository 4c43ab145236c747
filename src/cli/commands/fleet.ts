import type { Command } from "commander";
import { BadInputError, KubemarkError } from "../../kernel/errors.ts";
import {
  cleanupFleet,
  createFleet,
  fleetLogs,
  defaultMode,
  listFleet,
  localRecord,
  openSession,
  readFleet,
  setup,
  verifyFleet,
  type FleetDeps,
  type Session,
} from "../../fleet/operations.ts";
import { parseNodeCount, validateNamespace, type FleetEngine, type FleetMode } from "../../fleet/spec.ts";
import { DEFAULT_FLEET_NAMESPACE, scopeFlags } from "../../fleet/command-hint.ts";
import type { CliContext } from "../context.ts";
import { parseOutput, renderData, renderTable } from "../output.ts";
import { parseInteger, parseSeconds } from "../parse.ts";
import { ProgressView } from "../progress.ts";

/** Flags every fleet verb takes (kubectl's names). */
interface ScopeFlags {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  targetKubeconfig?: string;
  targetContext?: string;
  output?: string;
}

function withScope(cmd: Command): Command {
  return cmd
    .option(
      "--kubeconfig <path>",
      "kubeconfig of the hosting cluster (default $KUBECONFIG, ~/.kube/config, else the local cluster of 'up')",
    )
    .option("--context <name>", "kubeconfig context of the hosting cluster")
    .option("-n, --namespace <ns>", "namespace of the hollow-node workload", DEFAULT_FLEET_NAMESPACE)
    .option(
      "--target-kubeconfig <path>",
      "kubeconfig of the cluster the nodes register into, when it is not the hosting one",
    )
    .option(
      "--target-context <name>",
      "context of the target cluster (in --target-kubeconfig, else in --kubeconfig)",
    );
}

/** ` -n NS` (and kubeconfig flags) for suggested commands, empty for the defaults. */
function scopeHint(f: ScopeFlags): string {
  return scopeFlags(f);
}

/** Runs `fn` with a session of the clusters the scope flags name, its progress view, then closes both. */
export async function withSession<T>(
  c: CliContext,
  f: ScopeFlags,
  quiet: boolean,
  fn: (s: Session, p: ProgressView) => Promise<T>,
): Promise<T> {
  const progress = new ProgressView({ tty: c.tty, quiet });
  const deps: FleetDeps = {
    env: c.env,
    stateDir: c.paths.stateDir,
    clock: c.clock,
    progress,
    signal: c.signal,
  };
  const s = await openSession(deps, {
    hosting: { kubeconfig: f.kubeconfig, context: f.context },
    target: { kubeconfig: f.targetKubeconfig, context: f.targetContext },
    namespace: validateNamespace(f.namespace),
  });
  try {
    return await fn(s, progress);
  } finally {
    progress.stop();
    await s.close();
  }
}

const KUBELET_VERSION_RE = /^v\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;

function kubeletVersion(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const v = flag ?? env["KUBEMARK_VERSION"];
  if (v !== undefined && !KUBELET_VERSION_RE.test(v)) {
    throw new BadInputError(
      `${flag !== undefined ? "--kubelet-version" : "KUBEMARK_VERSION"} must look like v1.36.3, got "${v}"`,
    );
  }
  return v;
}

interface CreateFlags extends ScopeFlags {
  local?: boolean;
  inCluster?: boolean;
  nodesPerPod?: string;
  kubeletVersion?: string;
  engine?: string;
  image?: string;
  nodeImage?: string;
  traffic?: string;
  proxy?: boolean;
  timeout: string;
  stallTimeout: string;
  wait: boolean;
  dryRun?: string;
  force?: boolean;
}

async function runCreate(
  c: CliContext,
  verb: "create" | "scale",
  count: string | undefined,
  f: CreateFlags,
): Promise<void> {
  const format = parseOutput(f.output, ["table", "json", "yaml"]);
  if (f.local && f.inCluster) throw new BadInputError("give --local or --in-cluster, not both");
  const mode: FleetMode | undefined = f.local ? "local" : f.inCluster ? "in-cluster" : undefined;
  if (f.engine !== undefined && f.engine !== "hollow-node" && f.engine !== "kubemark")
    throw new BadInputError(`--engine must be hollow-node or kubemark, got "${f.engine}"`);
  if (f.dryRun !== undefined && f.dryRun !== "server" && f.dryRun !== "client")
    throw new BadInputError(`--dry-run must be server or client, got "${f.dryRun}"`);
  if (f.traffic !== undefined && f.traffic !== "kubelet" && f.traffic !== "minimal")
    throw new BadInputError(`--traffic must be kubelet or minimal, got "${f.traffic}"`);
  const opts = {
    nodesPerShard:
      f.nodesPerPod === undefined ? undefined : parseInteger(f.nodesPerPod, "--nodes-per-pod", 1, 10_000),
    kubeletVersion: kubeletVersion(f.kubeletVersion, c.env),
    timeoutMs: parseSeconds(f.timeout, "--timeout") * 1000,
    stallMs: parseSeconds(f.stallTimeout, "--stall-timeout") * 1000,
  };
  // Validated before connecting: bad input never waits on a cluster.
  const explicit = count === undefined ? undefined : parseNodeCount(count, verb);
  if (verb === "scale" && explicit === undefined) parseNodeCount(undefined, verb);
  await withSession(c, f, format !== "table", async (s, progress) => {
    let nodes = explicit;
    if (nodes === undefined) {
      nodes = (await readFleet(s))?.nodes ?? 10;
    }
    const r = await createFleet(s, {
      verb,
      nodes,
      mode,
      engine: f.engine as FleetEngine | undefined,
      ...opts,
      image: f.image,
      nodeImage: f.nodeImage,
      traffic: f.traffic as "kubelet" | "minimal" | undefined,
      proxy: f.proxy === false ? false : undefined,
      wait: f.wait,
      dryRun: f.dryRun as "server" | "client" | undefined,
      force: f.force === true,
    });
    if (r.action === "dry-run") {
      if (format === "json")
        c.stdout(JSON.stringify({ apiVersion: "v1", kind: "List", items: r.objects }, null, 2) + "\n");
      else if (format === "yaml" || f.dryRun === "client")
        c.stdout((r.objects ?? []).map((o) => renderData(o, "yaml")).join("---\n"));
      else
        c.stdout(
          `${r.objects?.length ?? 0} objects accepted by the API server (server dry run; nothing was stored)\n`,
        );
      return;
    }
    if (format !== "table") {
      c.stdout(
        renderData(
          {
            action: r.action,
            fleet: r.spec.fleet,
            namespace: r.spec.namespace,
            mode: r.spec.mode,
            nodes: r.spec.nodes,
            ready: r.ready,
            removedNodes: r.removedNodes,
            seconds: r.seconds,
            warnings: r.warnings,
          },
          format,
        ),
      );
      return;
    }
    const hint = scopeHint(f);
    const where =
      r.spec.mode === "local"
        ? `${Math.ceil(r.spec.nodes / r.spec.nodesPerShard)} local process(es)`
        : `StatefulSet ${r.spec.namespace}/hollow-node`;
    if (r.action === "unchanged") {
      c.stdout(`fleet ${r.spec.fleet} already has ${r.ready} hollow nodes Ready (${where}); nothing to do\n`);
    } else {
      c.stdout(
        `fleet ${r.spec.fleet}: ${r.ready}/${r.spec.nodes} hollow nodes Ready in ${r.seconds}s (${where})${r.removedNodes ? `; removed ${r.removedNodes} unbacked Nodes` : ""}\n`,
      );
    }
    progress.line(`next: kubemark-cluster verify${hint}   (or 'kubectl get nodes -l hollow-node=true')`);
  });
}

/** `setup`, `create`, `scale`, `verify`, `list`, `logs`, `cleanup`: the hollow-node fleet verbs. */
export function registerFleet(program: Command, ctx: () => CliContext): void {
  withScope(
    program
      .command("setup")
      .description("create the namespace and the hollow nodes' least-privilege identity (idempotent)")
      .option("--local", "prepare for local engine processes (a ServiceAccount token for them)")
      .addHelpText(
        "after",
        `
Same cluster: a ServiceAccount 'hollow-node' with a ClusterRole granting what kubelets and
kube-proxy do (Nodes, pods bound to them, Leases in kube-node-lease, Services, EndpointSlices,
events), and nothing a kubelet may do only for its own pods (Secrets, tokens).
Two clusters (--target-kubeconfig): that identity in the target, and a Secret in the hosting
cluster holding its token (never printed).

Examples:
  kubemark-cluster setup
  kubemark-cluster setup --kubeconfig host.kubeconfig --target-kubeconfig target.kubeconfig`,
      ),
  ).action(async (f: ScopeFlags & { local?: boolean }) => {
    const c = ctx();
    await withSession(c, f, false, async (s) => {
      const existing = await readFleet(s);
      const mode: FleetMode = f.local ? "local" : (existing?.mode ?? defaultMode(s.hosting));
      const r = await setup(s, mode);
      c.stdout(
        `namespace ${s.namespace} ${r.namespaceCreated ? "created" : "ready"}; ServiceAccount hollow-node with least-privilege RBAC in ${s.target.access.server}${s.twoCluster ? `; Secret ${s.namespace}/hollow-node-target holds its credentials` : ""}\n`,
      );
    });
  });

  const createCmd = withScope(
    program
      .command("create")
      .description(
        "create N hollow nodes (default 10) and wait until they are Ready; with another N it scales",
      )
      .argument("[N]", "number of nodes (default 10, or the fleet's current count)")
      .option(
        "--local",
        "run the engine as local background processes (the default against 'kubemark-cluster up')",
      )
      .option(
        "--in-cluster",
        "run the engine as a StatefulSet in the hosting cluster (the default elsewhere)",
      )
      .option(
        "--nodes-per-pod <n>",
        "nodes per engine pod or process (default 500 in a cluster, 1000 locally)",
      )
      .option(
        "--kubelet-version <v>",
        "simulated kubelet version (default $KUBEMARK_VERSION, else the API server's)",
      )
      .option(
        "--engine <engine>",
        "hollow-node (this project, the default) or kubemark (upstream, one pod per node; needs --image)",
      )
      .option(
        "--image <image>",
        "an image with the engine built in (the repository's Dockerfile), or kubemark's with --engine kubemark",
      )
      .option(
        "--node-image <image>",
        "stock Node.js 24 image the ConfigMap-shipped engine runs on (default docker.io/library/node:24-slim)",
      )
      .option("--traffic <profile>", "kubelet (a kubelet's own requests) or minimal")
      .option("--no-proxy", "do not simulate kube-proxy")
      .option("--timeout <seconds>", "give up waiting for Ready nodes after this long", "600")
      .option("--stall-timeout <seconds>", "give up when no further node becomes Ready for this long", "120")
      .option("--no-wait", "return once the workload is applied")
      .option(
        "--force",
        "start kubelets newer than the API server although the Kubernetes version skew policy forbids it",
      )
      .option(
        "--dry-run <mode>",
        "server: the API server validates every object and stores none; client: print them",
      )
      .option("-o, --output <format>", "table, json or yaml (with --dry-run: the objects)"),
  ).addHelpText(
    "after",
    `
Examples:
  kubemark-cluster create                        10 nodes
  kubemark-cluster create 100
  KUBEMARK_VERSION=v1.31.0 kubemark-cluster create 100    simulated kubelet version, no image build
  kubemark-cluster create 5000 --in-cluster --nodes-per-pod 500
  kubemark-cluster create 50 --kubeconfig host.kubeconfig --target-kubeconfig target.kubeconfig
  kubemark-cluster create 10 --in-cluster --dry-run=client -o yaml    the manifests
  kubemark-cluster create 20 --in-cluster --engine kubemark --image registry.example.com/kubemark:v1.36.3`,
  );
  createCmd.action(async (count: string | undefined, f: CreateFlags) => runCreate(ctx(), "create", count, f));

  withScope(
    program
      .command("scale")
      .description(
        "scale the fleet to N nodes; on the way down, the Nodes and Leases no longer backed are deleted",
      )
      .argument("[N]", "number of nodes")
      .option("--timeout <seconds>", "give up waiting for Ready nodes after this long", "600")
      .option("--stall-timeout <seconds>", "give up when no further node becomes Ready for this long", "120")
      .option("--no-wait", "return once the workload is changed")
      .option(
        "--force",
        "start kubelets newer than the API server although the Kubernetes version skew policy forbids it",
      )
      .option("-o, --output <format>", "table, json or yaml"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  kubemark-cluster scale 500\n  kubemark-cluster scale 20 -n kubemark",
    )
    .action(async (count: string | undefined, f: CreateFlags) => runCreate(ctx(), "scale", count, f));

  withScope(
    program
      .command("verify")
      .description(
        "check desired vs registered vs Ready nodes, lease freshness and the workload; non-zero exit when unhealthy",
      )
      .option("-o, --output <format>", "table or json", "table"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  kubemark-cluster verify\n  kubemark-cluster verify -o json | jq .problems",
    )
    .action(async (f: ScopeFlags) => {
      const c = ctx();
      const format = parseOutput(f.output, ["table", "json", "yaml"]);
      const r = await withSession(c, f, true, (s) => verifyFleet(s));
      if (format !== "table") c.stdout(renderData(r, format));
      else {
        const row = (check: string, ok: boolean, detail: string): string[] => [
          check,
          ok ? "ok" : "FAIL",
          detail,
        ];
        c.stdout(
          renderTable(
            ["check", "status", "detail"],
            [
              row(
                "nodes registered",
                r.registered >= r.desired && r.desired > 0,
                `${r.registered}/${r.desired}`,
              ),
              row(
                "nodes Ready",
                r.ready === r.desired && r.desired > 0,
                `${r.ready}/${r.desired}${r.notReady.length ? ` (NotReady: ${r.notReady.slice(0, 3).join(", ")})` : ""}`,
              ),
              row("unbacked nodes", r.unbacked.length === 0, String(r.unbacked.length)),
              row(
                "leases fresh",
                r.staleLeases.length + r.missingLeases.length === 0,
                `${r.registered - r.staleLeases.length - r.missingLeases.length}/${r.registered}`,
              ),
              row(
                r.mode === "local" ? "engine processes" : "engine pods",
                r.workload.running === r.workload.desired && r.workload.desired > 0,
                `${r.workload.running}/${r.workload.desired} running`,
              ),
            ],
          ),
        );
      }
      if (!r.healthy) {
        throw new KubemarkError("API_ERROR", `fleet ${r.fleet} is unhealthy: ${r.problems.join("; ")}`, {
          hint: r.fixes.join("; "),
        });
      }
    });

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
        const local = r.spec?.mode === "local" ? await localRecord(s) : undefined;
        if (format === "json" || format === "yaml") {
          c.stdout(
            renderData(
              { ...r, processes: local?.shards.map((x) => ({ shard: x.shard, pid: x.pid, nodes: x.nodes })) },
              format,
            ),
          );
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
