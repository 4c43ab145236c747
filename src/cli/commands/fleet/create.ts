import type { Command } from "commander";
import { BadInputError } from "../../../kernel/errors.ts";
import { readFleet } from "../../../fleet/session.ts";
import { parseNodeCount, type FleetEngine, type FleetIdentity, type FleetMode } from "../../../fleet/spec.ts";
import { describeStorage } from "../../../fleet/storage.ts";
import { readFleetProfile } from "../../../fleet/fleet-profile.ts";
import { createFleet, type CreateResult } from "../../../fleet/verbs/create.ts";
import type { CliContext } from "../../context.ts";
import { parseOutput, renderData } from "../../output.ts";
import { parseInteger, parseSeconds } from "../../parse.ts";
import { scopeHint, withScope, withSession, type ScopeFlags } from "./session.ts";

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
  /** undefined unless `--storage` or `--no-storage`. */
  storage?: boolean;
  /** false with `--no-attach`. */
  attach?: boolean;
  /** `--profile FILE`: the fleet profile. */
  profile?: string;
  identity?: string;
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
  if (f.identity !== undefined && f.identity !== "node" && f.identity !== "shared")
    throw new BadInputError(
      `--identity must be node or shared, got "${f.identity}"`,
      "node: each hollow kubelet its own certificate (system:node:<name>); shared: the fleet's ServiceAccount",
    );
  const opts = {
    nodesPerShard:
      f.nodesPerPod === undefined ? undefined : parseInteger(f.nodesPerPod, "--nodes-per-pod", 1, 10_000),
    kubeletVersion: kubeletVersion(f.kubeletVersion, c.env),
    timeoutMs: parseSeconds(f.timeout, "--timeout") * 1000,
    stallMs: parseSeconds(f.stallTimeout, "--stall-timeout") * 1000,
  };
  // Validated before connecting: bad input never waits on a cluster.
  const profile = f.profile === undefined ? undefined : await readFleetProfile(f.profile);
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
      storage: f.storage,
      attach: f.attach === false ? false : undefined,
      profile,
      wait: f.wait,
      dryRun: f.dryRun as "server" | "client" | undefined,
      force: f.force === true,
      identity: f.identity as FleetIdentity | undefined,
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
            storage: r.storage
              ? {
                  driver: r.storage.driver,
                  attachRequired: r.storage.attachRequired,
                  storageClass: r.storage.storageClass,
                  default: r.storage.isDefault,
                  otherDefaults: r.storage.otherDefaults,
                }
              : null,
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
    const storage = storageLine(r);
    if (storage) c.stdout(`${storage}\n`);
    progress.line(`next: kubemark-cluster verify${hint}   (or 'kubectl get nodes -l hollow-node=true')`);
  });
}

/** What the user should know about the fleet's storage after `create` (undefined: nothing new). */
function storageLine(r: CreateResult): string | undefined {
  if (r.storage) return describeStorage(r.storage);
  if (r.action !== "created") return undefined;
  if (r.spec.engine === "kubemark")
    return "no hollow CSI driver: upstream kubemark's kubelet has none (--engine kubemark), so claims need a provisioner of your own";
  return "no hollow CSI driver (--no-storage): claims need a provisioner of your own";
}

/** `create [N]` and `scale [N]`. */
export function registerCreate(program: Command, ctx: () => CliContext): void {
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
      .option(
        "--profile <file>",
        "YAML fleet profile: node shapes by weight, each with its usage and pod models (kept by scale)",
      )
      .option(
        "--identity <kind>",
        "node: each hollow kubelet its own certificate (system:node:<name>) by the kubelet's TLS bootstrap, the default where the target runs the Node authorizer (asked with a SubjectAccessReview); shared: every node the fleet's ServiceAccount, the default elsewhere and to opt out",
      )
      .option(
        "--no-storage",
        "no hollow CSI driver: no CSIDriver or StorageClass, and the engines run without a driver",
      )
      .option("--storage", "add the hollow CSI driver to a fleet created without it")
      .option(
        "--no-attach",
        "the driver's CSIDriver has attachRequired false: pods need no VolumeAttachment (no attach step)",
      )
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
  kubemark-cluster create 100 --no-attach                  the hollow CSI driver without its attach step
  kubemark-cluster create 100 --no-storage                 no CSIDriver or StorageClass
  kubemark-cluster create 100 --profile fleet.yaml         node shapes and their models by weight
  kubemark-cluster create 100 --identity shared            every node the fleet's ServiceAccount (no node certificates)
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
}
