import { join } from "node:path";
import { KubemarkError } from "../kernel/errors.ts";
import { findOnPath, isExecutable } from "../host/executables.ts";
import { runCommand } from "../host/run-command.ts";
import {
  buildBinaries,
  KWOK_VERSION,
  METRICS_SERVER_VERSION,
  type BinaryName,
  type BuildEvent,
} from "./go-build.ts";
import type { KubeVersion } from "./kube-version.ts";

/** Binaries `up` needs to start a control plane (kubectl is for the user and the tests). */
export const CONTROL_PLANE_BINARIES: readonly BinaryName[] = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
];

/** Where each resolved binary came from. */
export type BinarySource = "bin-dir" | "path" | "cache" | "built";

/** A resolved binary. */
export interface ResolvedBinary {
  readonly path: string;
  readonly source: BinarySource;
}

/** Inputs of {@link resolveBinaries}. */
export interface ResolveOptions {
  readonly version: KubeVersion;
  readonly binaries: readonly BinaryName[];
  /** `--bin-dir` or `KUBEMARK_BIN_DIR`: when set, every binary must be there. */
  readonly binDir?: string | undefined;
  readonly cacheDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Build what is missing (default true); false makes a missing binary an error. */
  readonly build?: boolean;
  readonly onBuildEvent?: (e: BuildEvent) => void;
  readonly now: () => number;
}

/** Directory of the per-user binary cache for one Kubernetes version. */
export function cachedBinDir(cacheDir: string, version: KubeVersion): string {
  return join(cacheDir, "bin", version.git);
}

/** True when a binary on PATH reports the wanted version (so a stray older install is not used). */
async function reportsVersion(path: string, name: BinaryName, version: KubeVersion): Promise<boolean> {
  const args = name === "kubectl" ? ["version", "--client"] : ["--version"];
  try {
    const r = await runCommand(path, args, { timeoutMs: 10_000 });
    const text = r.stdout + r.stderr;
    if (name === "etcd") return /etcd Version: 3\./.test(text);
    if (name === "kwok") return text.includes(KWOK_VERSION);
    if (name === "metrics-server") return text.trim() === METRICS_SERVER_VERSION;
    return new RegExp(`${version.git.replace(/\./g, "\\.")}(?![0-9])`).test(text);
  } catch {
    return false;
  }
}

/**
 * Finds each requested binary: in `binDir` if given (all must be there), else on PATH when it
 * reports the wanted version (so a stray install of another release is skipped), else in the
 * per-user cache, else builds the missing ones into the cache with the Go toolchain.
 */
export async function resolveBinaries(opts: ResolveOptions): Promise<Record<BinaryName, ResolvedBinary>> {
  const out: Partial<Record<BinaryName, ResolvedBinary>> = {};
  if (opts.binDir) {
    const missing: string[] = [];
    for (const b of opts.binaries) {
      const p = join(opts.binDir, b);
      if (await isExecutable(p)) out[b] = { path: p, source: "bin-dir" };
      else missing.push(b);
    }
    if (missing.length > 0) {
      throw new KubemarkError("NOT_FOUND", `${opts.binDir} lacks ${missing.join(", ")}`, {
        hint: "put those binaries there, or drop --bin-dir/KUBEMARK_BIN_DIR to build them with Go",
      });
    }
    return out as Record<BinaryName, ResolvedBinary>;
  }
  const cache = cachedBinDir(opts.cacheDir, opts.version);
  const toBuild: BinaryName[] = [];
  for (const b of opts.binaries) {
    const onPath = await findOnPath(b, opts.env);
    if (onPath && (await reportsVersion(onPath, b, opts.version))) {
      out[b] = { path: onPath, source: "path" };
      continue;
    }
    const cached = join(cache, b);
    if (await isExecutable(cached)) {
      out[b] = { path: cached, source: "cache" };
      continue;
    }
    toBuild.push(b);
  }
  if (toBuild.length > 0) {
    if (opts.build === false) {
      throw new KubemarkError(
        "NOT_FOUND",
        `no ${opts.version.git} build of ${toBuild.join(", ")} is cached`,
        {
          hint: `run 'kubemark-cluster build --kube-version ${opts.version.git}'`,
        },
      );
    }
    await buildBinaries({
      version: opts.version,
      binaries: toBuild,
      outDir: cache,
      workDir: join(opts.cacheDir, "go-build"),
      env: opts.env,
      now: opts.now,
      ...(opts.onBuildEvent ? { onEvent: opts.onBuildEvent } : {}),
    });
    for (const b of toBuild) out[b] = { path: join(cache, b), source: "built" };
  }
  return out as Record<BinaryName, ResolvedBinary>;
}
