/** A new cluster's ports, certificates, record and kubeconfigs (`up` of a name not seen before). */
import { mkdir, writeFile } from "node:fs/promises";
import type { ControlPlaneDeps, UpOptions } from "../cluster-info.ts";
import { writeRecord, type ClusterLayout, type ClusterRecord } from "../cluster-state.ts";
import { AUDIT_POLICY } from "../component-args.ts";
import type { KubeVersion } from "../kube-version.ts";
import { makePki, writeKubeconfigs } from "./pki.ts";
import { pickClusterPorts } from "./ports.ts";

/** Creates a new cluster's state (nothing runs yet) and returns its record. */
export async function createCluster(
  deps: ControlPlaneDeps,
  layout: ClusterLayout,
  name: string,
  version: KubeVersion,
  opts: UpOptions,
): Promise<ClusterRecord> {
  const ports = await pickClusterPorts(deps.paths.stateDir, name, opts.port);
  deps.onEvent?.({ kind: "step", message: "making certificates" });
  await mkdir(layout.logs, { recursive: true });
  await makePki(layout, name);
  const rec: ClusterRecord = {
    name,
    version: version.git,
    ports,
    audit: opts.audit ?? false,
    loadTest: opts.loadTest ?? false,
    serviceCIDR: "10.0.0.0/16",
    clusterCIDR: "10.128.0.0/9",
    createdAt: new Date(deps.clock.now()).toISOString(),
    processes: {},
  };
  await writeRecord(layout, rec);
  await writeKubeconfigs(layout, rec);
  if (rec.audit) await writeFile(layout.auditPolicy, AUDIT_POLICY);
  return rec;
}
