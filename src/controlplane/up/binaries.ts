/** `up`'s binaries step: the release's binaries from --bin-dir, PATH or the cache, else built with Go. */
import type { ControlPlaneDeps } from "../cluster-info.ts";
import { resolveBinaries, type ResolvedBinary } from "../binaries.ts";
import type { BinaryName } from "../go-build.ts";
import type { KubeVersion } from "../kube-version.ts";

/** Resolves (building what is missing) `binaries` of `version`; build progress goes to `onEvent`. */
export function resolveUpBinaries(
  deps: ControlPlaneDeps,
  version: KubeVersion,
  binaries: readonly BinaryName[],
  binDir: string | undefined,
): Promise<Record<BinaryName, ResolvedBinary>> {
  const { clock } = deps;
  return resolveBinaries({
    version,
    binaries,
    binDir: binDir ?? deps.env["KUBEMARK_BIN_DIR"],
    cacheDir: deps.paths.cacheDir,
    env: deps.env,
    now: () => clock.now() / 1000,
    onBuildEvent: (build) => deps.onEvent?.({ kind: "build", build }),
  });
}
