/**
 * `up`: its steps in order, each in its own file of this folder: validate the options; for a
 * healthy cluster, only its metrics-server and workers; else the binaries; a new cluster's ports
 * and PKI, or an existing one's restart plan; start and probe each component; metrics-server (when
 * asked for or recorded); the workers; on failure, rollback.
 */
import { mkdir } from "node:fs/promises";
import type { DaemonRecord } from "../../host/daemon.ts";
import { CONTROL_PLANE_BINARIES } from "../binaries.ts";
import { clusterInfo, type ClusterInfo, type ComponentStatus, type UpOptions } from "../cluster-info.ts";
import {
  type ClusterLayout,
  clusterLayout,
  ensureWritableDir,
  readRecord,
  type ClusterRecord,
  type Component,
} from "../cluster-state.ts";
import { componentStatuses, openProbeClients } from "../health.ts";
import { parseKubeVersion } from "../kube-version.ts";
import { restartPlan, type ComponentAction } from "../restart-plan.ts";
import { readWorkers } from "../worker-records.ts";
import { resolveUpBinaries } from "./binaries.ts";
import { createCluster } from "./new-cluster.ts";
import { planRestart } from "./restart.ts";
import { rollback } from "./rollback.ts";
import { startComponents, waitForControllers, type StartRun } from "./start.ts";
import { checkRecordedVersion, checkUpOptions } from "./validate.ts";
import { upHealthyCluster, upWorkers, type UpDeps } from "./workers.ts";
import { upMetricsServer, wantsMetricsServer } from "./metrics-server.ts";
import { hasFrontProxyTls } from "../front-proxy-tls.ts";
import type { MetricsServerInfo } from "../metrics-server/process.ts";
import { adminClient } from "../admin-client.ts";
import type { KubeClient } from "../../client/kube-client.ts";
import { KubemarkError } from "../../kernel/errors.ts";

/**
 * Starts a local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) on
 * loopback, or reports that it already runs. In a cluster where some components died or are
 * unhealthy, only those are restarted, with its data; healthy ones keep running. On failure
 * everything this call started is stopped again, a cluster that did not exist before is removed,
 * and the error carries the failing component's last log lines.
 */
export async function upCluster(deps: UpDeps, opts: UpOptions): Promise<ClusterInfo> {
  const { clock, paths } = deps;
  const { name, version } = checkUpOptions(opts);
  const layout = clusterLayout(paths.stateDir, name);
  await ensureWritableDir(paths.stateDir);
  const existing = await readRecord(layout);
  let statuses: ComponentStatus[] = [];
  if (existing) {
    checkRecordedVersion(name, existing, version, opts);
    statuses = await componentStatuses(layout, existing);
    // A cluster made before the aggregation layer goes the restart way: its API server restarts.
    if (statuses.every((s) => s.healthy) && (await hasFrontProxyTls(layout.pki))) {
      return upHealthy(deps, layout, existing, statuses, opts);
    }
  }
  await ensureWritableDir(layout.dir);
  const fresh = existing === undefined;
  const started: Partial<Record<Component, DaemonRecord>> = {};
  let metricsServerStarted: DaemonRecord | undefined;
  let rec: ClusterRecord | undefined = existing;
  let run: StartRun | undefined;
  try {
    const runVersion = existing ? parseKubeVersion(existing.version) : version;
    const withMetrics = wantsMetricsServer(existing, opts);
    const bins = await resolveUpBinaries(
      deps,
      runVersion,
      [...CONTROL_PLANE_BINARIES, ...(withMetrics ? (["metrics-server"] as const) : [])],
      opts.binDir,
    );
    deps.signal?.throwIfAborted();
    const t0 = clock.now();
    let plan: Record<Component, ComponentAction>;
    if (existing) {
      // Restart after a crash: keep data, certificates, ports and every healthy component.
      ({ rec, plan } = await planRestart(layout, existing, statuses, opts));
    } else {
      rec = await createCluster(deps, layout, name, version, opts);
      plan = restartPlan([]);
    }
    await mkdir(layout.logs, { recursive: true });
    const probes = await openProbeClients(layout, rec, { required: true });
    run = {
      deps,
      layout,
      bins,
      deadline: t0 + (opts.timeoutMs ?? 120_000),
      probes,
      restart: !fresh,
      rec,
      started,
    };
    try {
      const restarted = await startComponents(run, plan);
      rec = run.rec;
      await waitForControllers(run);
      let metricsServer: MetricsServerInfo | undefined;
      if (withMetrics) {
        const step = await upMetricsServer(
          deps,
          layout,
          rec,
          bins["metrics-server"].path,
          requireAdmin(probes.admin),
          run.deadline,
        );
        rec = run.rec = step.rec;
        metricsServerStarted = step.started;
        metricsServer = step.info;
      }
      const readySeconds = Math.round((clock.now() - t0) / 100) / 10;
      const wanted = opts.workers ?? (await readWorkers(layout)).workers.length;
      const w = wanted > 0 ? await upWorkers(deps, layout, rec, runVersion, wanted, opts, probes.admin) : {};
      const statuses = await componentStatuses(layout, rec);
      return clusterInfo(layout, rec, statuses, {
        binaries: Object.fromEntries(Object.entries(bins).map(([k, v]) => [k, v.source])),
        readySeconds,
        ...(fresh ? {} : { restarted }),
        ...(metricsServer ? { metricsServer } : {}),
        ...w,
      });
    } finally {
      await probes.close();
    }
  } catch (err) {
    // Leave nothing running that this call started and, for a new cluster, nothing behind.
    await rollback(deps, layout, {
      started,
      fresh,
      last: run?.rec ?? rec,
      metricsServer: metricsServerStarted,
    });
    throw err;
  }
}

function requireAdmin(admin: KubeClient | undefined): KubeClient {
  if (!admin) throw new KubemarkError("START_FAILED", "no admin client to register metrics-server with");
  return admin;
}

/**
 * `up` of a healthy cluster: its metrics-server when wanted (started if it is not running), then
 * its workers.
 */
async function upHealthy(
  deps: UpDeps,
  layout: ClusterLayout,
  existing: ClusterRecord,
  statuses: ComponentStatus[],
  opts: UpOptions,
): Promise<ClusterInfo> {
  if (!wantsMetricsServer(existing, opts)) return upHealthyCluster(deps, layout, existing, statuses, opts);
  const version = parseKubeVersion(existing.version);
  const bins = await resolveUpBinaries(deps, version, ["metrics-server"], opts.binDir);
  const admin = await adminClient(layout, existing);
  let step: Awaited<ReturnType<typeof upMetricsServer>>;
  try {
    const deadline = deps.clock.now() + (opts.timeoutMs ?? 120_000);
    step = await upMetricsServer(deps, layout, existing, bins["metrics-server"].path, admin, deadline);
  } finally {
    await admin.close();
  }
  const info = await upHealthyCluster(deps, layout, step.rec, statuses, opts);
  return { ...info, metricsServer: step.info };
}
