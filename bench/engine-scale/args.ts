/** `npm run bench:engine -- [flags]`: the flags of bench/engine-scale.ts, their defaults and their checks. */
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  UsageError,
  integerAtLeast,
  positiveIntegerList,
  secondsAsMs,
  usageErrors,
} from "../lib/flag-values.ts";
import { resolveUserPath } from "../lib/out-path.ts";

/** What `--help` prints. */
export const ENGINE_SCALE_USAGE = `Usage: npm run bench:engine -- [flags]   (node bench/engine-scale.ts on the project's Node.js 24)

Engine cost: RSS and CPU per idle node, lease health, RSS per running pod, for one hollow-node process.

  --nodes LIST                   node counts, one run each (default 1000)
  --traffic kubelet|minimal      the engine's request profile (default kubelet)
  --no-proxy                     without the hollow kube-proxy
  --settle SECONDS               settling before the window (default 45)
  --window SECONDS               measurement window (default 60)
  --register-timeout SECONDS     how long the nodes may take to register and be Ready (default 600)
  --pods-per-node N              run a Deployment of N pods per node (default 0)
  --kubeconfig PATH              a running cluster (default: start a local one for the run)
  --cluster NAME                 its local cluster name, to measure the control plane (default kubemark)
  --metrics-port PORT            the engine's metrics port (default 19464)
  --out NAME|PATH                results/NAME.json, or a path (with a '/'): absolute, or relative to
                                 the current directory
  --kube-api-content-type TYPE   the Leases' encoding (default application/vnd.kubernetes.protobuf)
  --identity kubeconfig|fleet|node
                                 the kubeconfig's identity, a fleet's ServiceAccount, or each node its
                                 own certificate (hollow-node --identity node, the kubeconfig making
                                 the CSRs) (default kubeconfig)
  --connections per-node|pooled  hollow-node --connections (default: the engine's, per-node with
                                 --identity node, else pooled)
  --soak MINUTES                 keep the idle fleet this long, sampling RSS every minute (default 0)
  --csi-driver NAME              run the hollow CSI driver NAME as \`create\` does (node side and elected
                                 controller; default: none)
`;

/** An engine-scale run, as the flags ask for it. */
export interface EngineScaleOptions {
  /** Node counts, one run each after the 1-node baseline (default 1000). */
  sizes: number[];
  /** The engine's request profile, passed to `--traffic` (default kubelet). */
  traffic: string;
  /** With the hollow kube-proxy (default; `--no-proxy` turns it off). */
  proxy: boolean;
  /** Settling before the window (default 45 s). */
  settleMs: number;
  /** Measurement window (default 60 s). */
  windowMs: number;
  /** How long registration and Ready may take before the run fails (default 600 s). */
  registerTimeoutMs: number;
  /** Pods per node of the Deployment run after the window (default 0: none). */
  podsPerNode: number;
  /** A running cluster's kubeconfig, absolute (default: start a local cluster for the run). */
  kubeconfig: string | undefined;
  /** Its local cluster name, to find the control plane's processes (default kubemark). */
  cluster: string | undefined;
  /** The engine's metrics port (default 19464). */
  metricsPort: number;
  /** The Leases' encoding (default application/vnd.kubernetes.protobuf). */
  leaseContentType: string;
  /**
   * Run the engine as the kubeconfig's identity, as a fleet's ServiceAccount, or with a certificate
   * per node (`hollow-node --identity node`, the kubeconfig's identity bootstrapping) (default kubeconfig).
   */
  identity: "kubeconfig" | "fleet" | "node";
  /** `hollow-node --connections`; undefined = the engine's default. */
  connections: "per-node" | "pooled" | undefined;
  /** Minutes the idle fleet is kept after the window, RSS sampled every minute (default 0). */
  soakMinutes: number;
  /** The hollow CSI driver the engine runs (`--csi-driver`), "" = none (default). */
  csiDriver: string;
  /** Absolute path of the results JSON. */
  resultsFile: string;
}

/** The parsed command line: usage asked for, or a run. */
export type EngineScaleArgs = { help: true } | { help: false; options: EngineScaleOptions };

/**
 * Parses `npm run bench:engine`'s flags. `env` and `cwd` place relative paths where the user ran
 * the command; `root` is the repository, home of results/. Throws {@link UsageError}.
 */
export function parseEngineScaleArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  root: string,
): EngineScaleArgs {
  const { values } = usageErrors(() =>
    parseArgs({
      args: [...argv],
      options: {
        nodes: { type: "string", default: "1000" },
        traffic: { type: "string", default: "kubelet" },
        settle: { type: "string", default: "45" },
        window: { type: "string", default: "60" },
        "register-timeout": { type: "string", default: "600" },
        "pods-per-node": { type: "string", default: "0" },
        kubeconfig: { type: "string" },
        "metrics-port": { type: "string", default: "19464" },
        "no-proxy": { type: "boolean", default: false },
        cluster: { type: "string" },
        out: { type: "string" },
        "kube-api-content-type": { type: "string", default: "application/vnd.kubernetes.protobuf" },
        identity: { type: "string", default: "kubeconfig" },
        connections: { type: "string" },
        soak: { type: "string", default: "0" },
        "csi-driver": { type: "string", default: "" },
        help: { type: "boolean", short: "h", default: false },
      },
    }),
  );
  if (values.help) return { help: true };
  const soakMinutes = Number(values.soak);
  if (!Number.isInteger(soakMinutes) || soakMinutes < 0) {
    throw new UsageError(`--soak takes whole minutes (0 for none), got "${values.soak}"`);
  }
  const out = values.out;
  if (out !== undefined && !out.includes("/") && !/^[\w.-]+$/.test(out)) {
    throw new UsageError(
      `--out takes a name (written to results/<name>.json) or a path with a '/', got "${out}"`,
    );
  }
  const identity = values.identity;
  if (identity !== "kubeconfig" && identity !== "fleet" && identity !== "node") {
    throw new UsageError(`--identity takes kubeconfig, fleet or node, got "${identity}"`);
  }
  const connections = values.connections;
  if (connections !== undefined && connections !== "per-node" && connections !== "pooled") {
    throw new UsageError(`--connections takes per-node or pooled, got "${connections}"`);
  }
  const proxy = !values["no-proxy"];
  const metricsPort = integerAtLeast("--metrics-port", values["metrics-port"], 1);
  if (metricsPort > 65535) {
    throw new UsageError(`--metrics-port takes a port (1-65535), got "${values["metrics-port"]}"`);
  }
  return {
    help: false,
    options: {
      sizes: positiveIntegerList("--nodes", values.nodes),
      traffic: values.traffic,
      proxy,
      settleMs: secondsAsMs("--settle", values.settle),
      windowMs: secondsAsMs("--window", values.window),
      registerTimeoutMs: secondsAsMs("--register-timeout", values["register-timeout"]),
      podsPerNode: integerAtLeast("--pods-per-node", values["pods-per-node"], 0),
      kubeconfig: values.kubeconfig === undefined ? undefined : resolveUserPath(values.kubeconfig, env, cwd),
      cluster: values.cluster,
      metricsPort,
      leaseContentType: values["kube-api-content-type"],
      identity,
      connections,
      soakMinutes,
      csiDriver: values["csi-driver"],
      resultsFile: out?.includes("/")
        ? resolveUserPath(out, env, cwd)
        : join(root, "results", `${out ?? `engine-scale-${values.traffic}${proxy ? "-proxy" : ""}`}.json`),
    },
  };
}
