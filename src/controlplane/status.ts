/** `status`: the health of local clusters' components and workers. */
import { KubemarkError } from "../kernel/errors.ts";
import { clusterInfo, type ClusterInfo, type ControlPlaneDeps } from "./cluster-info.ts";
import { clusterLayout, listClusterNames, readRecord, validateClusterName } from "./cluster-state.ts";
import { componentStatuses } from "./health.ts";
import { workerInfos } from "./worker-records.ts";
import { adminClient } from "./admin-client.ts";
import type { ClusterLayout, ClusterRecord } from "./cluster-state.ts";
import { metricsServerStatus, type MetricsServerInfo } from "./metrics-server/process.ts";

/** metrics-server's state, when the cluster runs it (its APIService asked with the admin's client). */
async function metricsServerStatusOf(
  layout: ClusterLayout,
  rec: ClusterRecord,
): Promise<MetricsServerInfo | undefined> {
  if (!rec.metricsServer) return undefined;
  const admin = await adminClient(layout, rec).catch(() => undefined);
  try {
    return await metricsServerStatus(layout, rec, admin);
  } finally {
    await admin?.close();
  }
}

/** Health of one local cluster, or of every one when `name` is absent and several exist. */
export async function clusterStatus(
  deps: ControlPlaneDeps,
  opts: { name?: string | undefined },
): Promise<ClusterInfo[]> {
  const names = opts.name ? [validateClusterName(opts.name)] : await listClusterNames(deps.paths.stateDir);
  const out: ClusterInfo[] = [];
  for (const n of names) {
    const layout = clusterLayout(deps.paths.stateDir, n);
    const rec = await readRecord(layout);
    if (!rec) {
      if (opts.name) {
        throw new KubemarkError("NOT_FOUND", `no local cluster named "${n}"`, {
          hint: `start it with 'kubemark-cluster up --name ${n}'`,
        });
      }
      continue;
    }
    const workers = await workerInfos(layout);
    const components = await componentStatuses(layout, rec);
    const metricsServer = await metricsServerStatusOf(layout, rec);
    const healthy =
      components.every((c) => c.healthy) &&
      workers.every((w) => w.running) &&
      (metricsServer === undefined || metricsServer.available);
    out.push(
      clusterInfo(layout, rec, components, {
        ...(workers.length ? { workers } : {}),
        ...(metricsServer ? { metricsServer } : {}),
        healthy,
      }),
    );
  }
  return out;
}
