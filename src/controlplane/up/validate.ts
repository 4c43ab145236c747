/** `up`'s first step: the options it was given make sense, before anything is touched. */
import { KubemarkError } from "../../kernel/errors.ts";
import type { UpOptions } from "../cluster-info.ts";
import { DEFAULT_CLUSTER_NAME, validateClusterName, type ClusterRecord } from "../cluster-state.ts";
import { DEFAULT_KUBE_VERSION, parseKubeVersion, type KubeVersion } from "../kube-version.ts";

/** Checks `up`'s options: the cluster name and release they ask for. */
export function checkUpOptions(opts: UpOptions): { name: string; version: KubeVersion } {
  const name = validateClusterName(opts.name ?? DEFAULT_CLUSTER_NAME);
  const version = parseKubeVersion(opts.kubeVersion ?? DEFAULT_KUBE_VERSION);
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)) {
    throw new KubemarkError(
      "BAD_INPUT",
      `--port must be a port number between 1 and 65535, got "${opts.port}"`,
      {
        exitCode: 2,
      },
    );
  }
  return { name, version };
}

/** An existing cluster runs one release: asking for another (with --kube-version) is an error. */
export function checkRecordedVersion(
  name: string,
  existing: ClusterRecord,
  version: KubeVersion,
  opts: UpOptions,
): void {
  if (existing.version !== version.git && opts.kubeVersion !== undefined) {
    throw new KubemarkError("BAD_INPUT", `cluster "${name}" runs ${existing.version}, not ${version.git}`, {
      hint: `run 'kubemark-cluster down --name ${name}' first, or choose another --name`,
      exitCode: 2,
    });
  }
}
