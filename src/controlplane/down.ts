/** `down`: stop a local cluster's processes, what runs on it first, and remove its state. */
import { rm } from "node:fs/promises";
import type { Clock } from "../kernel/clock.ts";
import { KubemarkError } from "../kernel/errors.ts";
import { isDaemonAlive, stopDaemon, type DaemonRecord } from "../host/daemon.ts";
import type { ControlPlaneDeps } from "./cluster-info.ts";
import {
  COMPONENTS,
  DEFAULT_CLUSTER_NAME,
  clusterLayout,
  readRecord,
  validateClusterName,
  writeRecord,
  type ClusterLayout,
  type ClusterRecord,
  type Component,
} from "./cluster-state.ts";
import { readWorkers, type WorkerNodes } from "./worker-records.ts";
import { stopMetricsServer } from "./metrics-server/process.ts";

/** Result of {@link downCluster}. */
export interface DownResult {
  readonly name: string;
  readonly existed: boolean;
  readonly stopped: readonly string[];
  readonly removed: string | null;
  /** Hollow-node engine processes of local fleets bound to the cluster that were stopped. */
  readonly fleetProcesses?: number;
}

/**
 * Runs first in `down`, while the cluster still runs: the CLI stops the cluster's local hollow-node
 * fleets here (fleets are a layer above the control plane). Returns how many engine processes of
 * those fleets it stopped.
 */
export type BeforeStop = (cluster: {
  readonly layout: ClusterLayout;
  readonly rec: ClusterRecord;
}) => Promise<{ readonly fleetProcesses: number }>;

/** What `down` needs from its caller. */
export interface DownDeps extends ControlPlaneDeps {
  /** Stops the cluster's real workers; absent, `down` of a cluster with workers is refused. */
  readonly workers?: Pick<WorkerNodes, "stop"> | undefined;
  readonly beforeStop?: BeforeStop | undefined;
}

/**
 * Stops every recorded process of a cluster (metrics-server, then the components last-started
 * first) and waits for each to exit.
 */
async function stopProcesses(
  layout: ClusterLayout,
  rec: ClusterRecord,
  clock: Clock,
): Promise<ClusterRecord> {
  const processes: Partial<Record<Component, DaemonRecord>> = { ...rec.processes };
  // metrics-server first: it talks to the API server.
  if (await stopMetricsServer(rec, clock)) {
    await writeRecord(layout, { ...rec, metricsServer: {} }).catch(() => undefined);
  }
  for (const c of [...COMPONENTS].reverse()) {
    const d = processes[c];
    if (!d) continue;
    await stopDaemon(d, clock);
    delete processes[c];
    const next = { ...rec, processes };
    await writeRecord(layout, next).catch(() => undefined);
  }
  return { ...rec, processes };
}

/** Stops a local cluster's processes (waiting until they have exited) and removes its state. */
export async function downCluster(deps: DownDeps, opts: { name?: string | undefined }): Promise<DownResult> {
  const name = validateClusterName(opts.name ?? DEFAULT_CLUSTER_NAME);
  const layout = clusterLayout(deps.paths.stateDir, name);
  const rec = await readRecord(layout);
  if (!rec) return { name, existed: false, stopped: [], removed: null };
  if (!deps.workers && (await readWorkers(layout)).workers.length > 0) {
    throw new KubemarkError(
      "INTERNAL",
      `cluster "${name}" has real workers, but no way to stop them was given`,
    );
  }
  const fleets = await deps.beforeStop?.({ layout, rec });
  const stopped: string[] = (await deps.workers?.stop(layout, deps.clock)) ?? [];
  const ms = rec.metricsServer?.process;
  if (ms && isDaemonAlive(ms)) stopped.push("metrics-server");
  stopped.push(
    ...COMPONENTS.filter((c) => {
      const d = rec.processes[c];
      return d !== undefined && isDaemonAlive(d);
    }),
  );
  await stopProcesses(layout, rec, deps.clock);
  await rm(layout.dir, { recursive: true, force: true });
  return {
    name,
    existed: true,
    stopped,
    removed: layout.dir,
    ...(fleets ? { fleetProcesses: fleets.fleetProcesses } : {}),
  };
}
