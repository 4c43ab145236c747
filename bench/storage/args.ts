/** `npm run bench:storage -- [flags]`: the flags of bench/storage.ts, their defaults and their checks. */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { UsageError, integerAtLeast, secondsAsMs, usageErrors } from "../lib/flag-values.ts";
import { resolveUserPath } from "../lib/out-path.ts";

/** What `--help` prints. */
export const STORAGE_USAGE = `Usage: npm run bench:storage -- [flags]   (node bench/storage.ts on the project's Node.js 24)

PVC-backed pods on hollow nodes with the hollow CSI driver: time from creation to all claims Bound,
all VolumeAttachments attached and all pods Running, with and without the driver's attach step.

  --nodes N                      hollow nodes, one engine process (default 100)
  --pods N                       pods, each with its own 1Gi claim (default 1000)
  --set-size N                   replicas per StatefulSet (podManagementPolicy Parallel) (default 100)
  --modes LIST                   attach, no-attach, or both in that order (default attach,no-attach)
  --timeout SECONDS              per mode, from the first StatefulSet created (default 900)
  --kubeconfig PATH              a running cluster (default: start a local one for the run)
  --cluster NAME                 its local cluster name, to measure the control plane (default kubemark)
  --out NAME|PATH                results/NAME.json, or a path (with a '/'): absolute, or relative to
                                 the current directory (default results/storage-<nodes>n-<pods>p.json)
`;

/** A mode: the CSIDriver's attachRequired true (attach) or false (no-attach). */
export type StorageMode = "attach" | "no-attach";

/** A storage benchmark run, as the flags ask for it. */
export interface StorageOptions {
  /** Hollow nodes in the one engine process (default 100). */
  nodes: number;
  /** Pods, each with a claim of its own (default 1000). */
  pods: number;
  /** Replicas per StatefulSet (default 100): pods / setSize sets, the last one smaller. */
  setSize: number;
  /** The modes, run one after the other (default attach, then no-attach). */
  modes: StorageMode[];
  /** Deadline of each mode from the first StatefulSet created (default 900 s). */
  timeoutMs: number;
  /** A running cluster's kubeconfig, absolute (default: start a local cluster for the run). */
  kubeconfig: string | undefined;
  /** Its local cluster name, to find the control plane's processes (default kubemark). */
  cluster: string | undefined;
  /** Absolute path of the results JSON. */
  resultsFile: string;
}

/** The parsed command line: usage asked for, or a run. */
export type StorageArgs = { help: true } | { help: false; options: StorageOptions };

function modes(text: string): StorageMode[] {
  const list = text.split(",").map((s) => s.trim());
  const bad = list.filter((m) => m !== "attach" && m !== "no-attach");
  if (bad.length > 0 || new Set(list).size !== list.length) {
    throw new UsageError(
      `--modes takes attach, no-attach or both (comma-separated, once each), got "${text}"`,
    );
  }
  return list as StorageMode[];
}

/**
 * Parses `npm run bench:storage`'s flags. `env` and `cwd` place relative paths where the user ran
 * the command; `root` is the repository, home of results/. Throws {@link UsageError}.
 */
export function parseStorageArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  root: string,
): StorageArgs {
  const { values } = usageErrors(() =>
    parseArgs({
      args: [...argv],
      options: {
        nodes: { type: "string", default: "100" },
        pods: { type: "string", default: "1000" },
        "set-size": { type: "string", default: "100" },
        modes: { type: "string", default: "attach,no-attach" },
        timeout: { type: "string", default: "900" },
        kubeconfig: { type: "string" },
        cluster: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }),
  );
  if (values.help) return { help: true };
  const nodes = integerAtLeast("--nodes", values.nodes, 1);
  const pods = integerAtLeast("--pods", values.pods, 1);
  const timeoutMs = secondsAsMs("--timeout", values.timeout);
  if (timeoutMs === 0)
    throw new UsageError(`--timeout takes a number of seconds above 0, got "${values.timeout}"`);
  const out = values.out;
  if (out !== undefined && !out.includes("/") && !/^[\w.-]+$/.test(out)) {
    throw new UsageError(
      `--out takes a name (written to results/<name>.json) or a path with a '/', got "${out}"`,
    );
  }
  return {
    help: false,
    options: {
      nodes,
      pods,
      setSize: integerAtLeast("--set-size", values["set-size"], 1),
      modes: modes(values.modes),
      timeoutMs,
      kubeconfig: values.kubeconfig === undefined ? undefined : resolveUserPath(values.kubeconfig, env, cwd),
      cluster: values.cluster,
      resultsFile: out?.includes("/")
        ? resolveUserPath(out, env, cwd)
        : join(root, "results", `${out ?? `storage-${nodes}n-${pods}p`}.json`),
    },
  };
}
