/** `npm run bench -- [flags]`: the flags of bench/compare.ts, their defaults and their checks. */
import { parseArgs } from "node:util";
import {
  UsageError,
  integerAtLeast,
  positiveIntegerList,
  positiveNumber,
  secondsAsMs,
  usageErrors,
} from "../lib/flag-values.ts";
import { resolveOutPath } from "../lib/out-path.ts";
import { SYSTEM_NAMES, type SystemName } from "./types.ts";

/** What `--help` prints. */
export const COMPARE_USAGE = `Usage: npm run bench -- [flags]   (node bench/compare.ts on the project's Node.js 24)

Side by side: this project's hollow-node engine, upstream kubemark and KWOK on local control planes.

  --quick                  10 and 100 nodes, 100 pods (about 6 minutes; the full suite about 47)
  --systems LIST           hollow-node,kubemark,kwok
  --nodes LIST             node counts (default 10,100,1000,5000; --quick 10,100)
  --kubemark-max N         largest kubemark run (default 100)
  --pod-nodes N            nodes of the pod phase (default 100; --quick 10)
  --pods N                 pods of the pod phase (default 1000; --quick 100)
  --pod-rate N             pods created per second (default 50; --quick 20)
  --fidelity-idle SECONDS  idle window of the fidelity run (default 600; --quick 45)
  --settle SECONDS         settling before each measurement window (default 30; --quick 10)
  --window SECONDS         measurement window (default 60; --quick 20)
  --out DIR                where to write compare.{json,md} and plots: absolute, or relative to the
                           current directory (default results/compare, --quick results/compare-quick)
  --kube-version V         control plane release (default v1.36.3)
  --identity KIND          shared (default): each system one client certificate; node: hollow-node
                           runs --identity node (a bootstrap token, one CSR per node) and each
                           kubemark kubelet gets a certificate of its own, system:node:<name>,
                           so both go through the Node authorizer and APF's system-nodes;
                           hollow-node then runs no proxy (kubemark runs its kubelet only),
                           and the control planes keep APF and the default in-flight limits
                           (for the flow schemas; meant for the 100-node check, not thousands)
`;

/** A comparison run, as the flags ask for it. */
export interface CompareOptions {
  /** `--quick`: smaller defaults, and a shorter wait for the pod phase's Job. */
  quick: boolean;
  /** Systems to run, in order (default all three). */
  systems: SystemName[];
  /** Node counts (default 10,100,1000,5000; quick 10,100); 10 is the audited fidelity run. */
  sizes: number[];
  /** Largest kubemark run: one process per node (default 100). */
  kubemarkMax: number;
  /** Nodes of the pod phase (default 100; quick 10). */
  podNodes: number;
  /** Pods of the pod phase (default 1000; quick 100). */
  pods: number;
  /** Pods created per second (default 50; quick 20). */
  podRate: number;
  /** Idle window of the 10-node run, which the fidelity figures' steady rates come from (default 600 s; quick 45 s). */
  fidelityIdleMs: number;
  /** Settling before each measurement window (default 30 s; quick 10 s). */
  settleMs: number;
  /** Measurement window (default 60 s; quick 20 s). */
  windowMs: number;
  /** Absolute directory for compare.{json,md} and the plots. */
  out: string;
  /** Control plane release (default v1.36.3). */
  kubeVersion: string;
  /** `--identity`: one identity per system (shared), or one per node (node). */
  identity: "shared" | "node";
}

/** The parsed command line: usage asked for, or a run. */
export type CompareArgs = { help: true } | { help: false; options: CompareOptions };

/**
 * Parses `npm run bench`'s flags. `env` and `cwd` place a relative `--out` where the user ran the
 * command; `root` is the repository, home of the default results/. Throws {@link UsageError}.
 */
export function parseCompareArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  root: string,
): CompareArgs {
  const { values } = usageErrors(() =>
    parseArgs({
      args: [...argv],
      options: {
        quick: { type: "boolean", default: false },
        systems: { type: "string", default: "hollow-node,kubemark,kwok" },
        nodes: { type: "string" },
        "kubemark-max": { type: "string" },
        "pod-nodes": { type: "string" },
        pods: { type: "string" },
        "pod-rate": { type: "string" },
        "fidelity-idle": { type: "string" },
        settle: { type: "string" },
        window: { type: "string" },
        out: { type: "string" },
        "kube-version": { type: "string", default: "v1.36.3" },
        identity: { type: "string", default: "shared" },
        help: { type: "boolean", short: "h", default: false },
      },
    }),
  );
  if (values.help) return { help: true };
  const quick = values.quick;
  const systems = values.systems.split(",").map((s) => s.trim());
  const unknown = systems.filter((s) => !(SYSTEM_NAMES as readonly string[]).includes(s));
  if (unknown.length > 0 || systems.length === 0) {
    throw new UsageError(`--systems takes a list of ${SYSTEM_NAMES.join(", ")}, got "${values.systems}"`);
  }
  const identity = values.identity;
  if (identity !== "shared" && identity !== "node") {
    throw new UsageError(`--identity takes shared or node, got "${identity}"`);
  }
  return {
    help: false,
    options: {
      quick,
      systems: systems as SystemName[],
      sizes: positiveIntegerList("--nodes", values.nodes ?? (quick ? "10,100" : "10,100,1000,5000")),
      kubemarkMax: integerAtLeast("--kubemark-max", values["kubemark-max"] ?? "100", 0),
      podNodes: integerAtLeast("--pod-nodes", values["pod-nodes"] ?? (quick ? "10" : "100"), 1),
      pods: integerAtLeast("--pods", values.pods ?? (quick ? "100" : "1000"), 0),
      podRate: positiveNumber("--pod-rate", values["pod-rate"] ?? (quick ? "20" : "50")),
      fidelityIdleMs: secondsAsMs("--fidelity-idle", values["fidelity-idle"] ?? (quick ? "45" : "600")),
      settleMs: secondsAsMs("--settle", values.settle ?? (quick ? "10" : "30")),
      windowMs: secondsAsMs("--window", values.window ?? (quick ? "20" : "60")),
      out: resolveOutPath(values.out, quick ? "results/compare-quick" : "results/compare", root, env, cwd),
      kubeVersion: values["kube-version"],
      identity,
    },
  };
}
