/**
 * `up`'s metrics-server step (`up --metrics-server`, or a cluster that already runs it): its port,
 * certificates and process, its RBAC, Service and APIService, and the wait until the aggregator
 * reports the APIService Available.
 */
import type { KubeClient } from "../../client/kube-client.ts";
import { KubemarkError } from "../../kernel/errors.ts";
import { isDaemonAlive, stopDaemon, type DaemonRecord } from "../../host/daemon.ts";
import { isPortFree } from "../../host/ports.ts";
import type { ControlPlaneDeps, UpOptions } from "../cluster-info.ts";
import { nameFlag, writeRecord, type ClusterLayout, type ClusterRecord } from "../cluster-state.ts";
import {
  applyMetricsServerObjects,
  ensureMetricsServerCredentials,
  metricsServerStatus,
  startMetricsServer,
  waitMetricsAvailable,
  type MetricsServerInfo,
} from "../metrics-server/process.ts";
import { pickMetricsServerPort } from "./ports.ts";

/** True when `up` runs metrics-server: asked for, or recorded by an earlier `up --metrics-server`. */
export function wantsMetricsServer(rec: ClusterRecord | undefined, opts: UpOptions): boolean {
  return opts.metricsServer === true || rec?.metricsServer !== undefined;
}

/** What the step did: the new record, the process it started (undone on failure) and the state. */
export interface MetricsServerStep {
  readonly rec: ClusterRecord;
  readonly started: DaemonRecord | undefined;
  readonly info: MetricsServerInfo;
}

/**
 * Brings metrics-server up: keeps a running one, else starts it (on its recorded port, or a new
 * free one), applies its objects and waits until its APIService is Available. On failure it stops
 * the process it started and puts the cluster's record back as it was.
 */
export async function upMetricsServer(
  deps: ControlPlaneDeps,
  layout: ClusterLayout,
  start: ClusterRecord,
  binary: string,
  admin: KubeClient,
  deadline: number,
): Promise<MetricsServerStep> {
  const { clock } = deps;
  const port = start.ports.metricsServer ?? (await pickMetricsServerPort(deps.paths.stateDir, start));
  let rec: ClusterRecord = {
    ...start,
    ports: { ...start.ports, metricsServer: port },
    metricsServer: { ...start.metricsServer },
  };
  await ensureMetricsServerCredentials(layout, rec);
  let d = rec.metricsServer?.process;
  let started: DaemonRecord | undefined;
  try {
    if (!d || !isDaemonAlive(d)) {
      if (!(await isPortFree(port))) {
        throw new KubemarkError(
          "PORT_IN_USE",
          `port ${port} of cluster "${rec.name}" (metrics-server) is taken by another program`,
          { hint: `stop that program, or 'kubemark-cluster down${nameFlag(rec.name)}' and up again` },
        );
      }
      deps.signal?.throwIfAborted();
      deps.onEvent?.({ kind: "step", message: "starting metrics-server" });
      d = await startMetricsServer(layout, rec, binary, deps.env);
      started = d;
    }
    rec = { ...rec, metricsServer: { process: d } };
    await writeRecord(layout, rec);
    await applyMetricsServerObjects(admin, layout, port);
    await waitMetricsAvailable({
      admin,
      layout,
      process: d,
      clock,
      timeoutMs: Math.max(10_000, deadline - clock.now()),
      signal: deps.signal,
      onPoll: (status) => deps.onEvent?.({ kind: "wait", component: "metrics-server", status }),
    });
  } catch (err) {
    if (started) await stopDaemon(started, clock).catch(() => undefined);
    await writeRecord(layout, start).catch(() => undefined);
    throw err;
  }
  const info = await metricsServerStatus(layout, rec, admin);
  if (!info) throw new KubemarkError("INTERNAL", "metrics-server was not recorded");
  return { rec, started, info };
}
