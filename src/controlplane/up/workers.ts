/**
 * `up`'s workers step: real worker nodes beside the control plane (`up --workers N`). Starting
 * them is the workers layer's job, above this one; the CLI passes it in as {@link WorkerNodes}.
 */
import { KubemarkError } from "../../kernel/errors.ts";
import { PACKAGE_VERSION } from "../../kernel/version.ts";
import type { KubeClient } from "../../client/kube-client.ts";
import { adminClient } from "../admin-client.ts";
import {
  clusterInfo,
  type ClusterInfo,
  type ComponentStatus,
  type ControlPlaneDeps,
  type UpOptions,
} from "../cluster-info.ts";
import { DEFAULT_CLUSTER_NAME, type ClusterLayout, type ClusterRecord } from "../cluster-state.ts";
import { componentStatuses } from "../health.ts";
import { parseKubeVersion, type KubeVersion } from "../kube-version.ts";
import { workerInfos, type WorkerNodes } from "../worker-records.ts";
import { resolveUpBinaries } from "./binaries.ts";

/** What `up` needs from its caller: the control plane's dependencies and, for workers, their implementation. */
export interface UpDeps extends ControlPlaneDeps {
  /** Absent: `up` of a cluster that wants workers fails (tests and benchmarks run none). */
  readonly workers?: WorkerNodes | undefined;
}

function workerNodesOf(deps: UpDeps, name: string): WorkerNodes {
  if (!deps.workers) {
    throw new KubemarkError(
      "INTERNAL",
      `cluster "${name}" wants real workers, but no way to start them was given`,
    );
  }
  return deps.workers;
}

/** Starts (or completes) a cluster's real workers; the caller undoes them on failure. */
export async function upWorkers(
  deps: UpDeps,
  layout: ClusterLayout,
  rec: ClusterRecord,
  version: KubeVersion,
  count: number,
  opts: UpOptions,
  existingAdmin?: KubeClient,
): Promise<Partial<ClusterInfo>> {
  const { clock } = deps;
  const workers = workerNodesOf(deps, rec.name);
  const t0 = clock.now();
  const bins = await resolveUpBinaries(deps, version, ["kubelet"], opts.binDir);
  const admin = existingAdmin ?? (await adminClient(layout, rec));
  try {
    const r = await workers.start({
      layout,
      rec,
      count,
      admin,
      kubeletBinary: bins.kubelet.path,
      cacheDir: deps.paths.cacheDir,
      stateDir: deps.paths.stateDir,
      packageVersion: PACKAGE_VERSION,
      env: deps.env,
      clock,
      deadline: clock.now() + (opts.timeoutMs ?? 120_000),
      onStep: (message) => deps.onEvent?.({ kind: "step", message }),
      signal: deps.signal,
    });
    return {
      workers: r.workers,
      workerImages: r.images,
      workersReadySeconds: Math.round((clock.now() - t0) / 100) / 10,
    };
  } finally {
    if (!existingAdmin) await admin.close();
  }
}

/** `up` of a cluster whose control plane is healthy: says so, and starts workers it lacks. */
export async function upHealthyCluster(
  deps: UpDeps,
  layout: ClusterLayout,
  existing: ClusterRecord,
  statuses: ComponentStatus[],
  opts: UpOptions,
): Promise<ClusterInfo> {
  const name = existing.name;
  const workers = await workerInfos(layout);
  const wanted = opts.workers ?? workers.length;
  if (wanted < workers.length) {
    throw new KubemarkError(
      "BAD_INPUT",
      `cluster "${name}" runs ${workers.length} workers; fewer cannot be asked of a running cluster`,
      {
        hint: `'kubemark-cluster down${name === DEFAULT_CLUSTER_NAME ? "" : ` --name ${name}`}' and up again with --workers ${wanted}`,
        exitCode: 2,
      },
    );
  }
  if (wanted === workers.length && workers.every((w) => w.running)) {
    return clusterInfo(layout, existing, statuses, {
      alreadyRunning: true,
      ...(workers.length ? { workers } : {}),
    });
  }
  const w = await upWorkers(deps, layout, existing, parseKubeVersion(existing.version), wanted, opts).catch(
    async (err: unknown) => {
      // Leave no half-made worker behind (the control plane keeps running).
      await deps.workers?.stop(layout, deps.clock).catch(() => undefined);
      throw err;
    },
  );
  return clusterInfo(layout, existing, await componentStatuses(layout, existing), {
    alreadyRunning: true,
    ...w,
  });
}
