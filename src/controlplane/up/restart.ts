/** `up` of an existing cluster that is not wholly healthy: what to keep and what to restart. */
import { writeFile } from "node:fs/promises";
import type { ComponentStatus, UpOptions } from "../cluster-info.ts";
import { COMPONENTS, type ClusterLayout, type ClusterRecord, type Component } from "../cluster-state.ts";
import { AUDIT_POLICY, componentArgs } from "../component-args.ts";
import { ensureEtcdTls } from "../etcd-tls.ts";
import { ensureFrontProxyTls } from "../front-proxy-tls.ts";
import { restartPlan, type ComponentAction } from "../restart-plan.ts";

/**
 * What to restart in an existing cluster that is not wholly healthy: what is down, what `--audit`
 * or `--load-test` give other flags, and etcd with its API server when etcd's certificates had to
 * be made (a cluster from a version that ran etcd without TLS), the API server when the
 * aggregation layer's had to be (a cluster from a version without it).
 */
export async function planRestart(
  layout: ClusterLayout,
  existing: ClusterRecord,
  statuses: readonly ComponentStatus[],
  opts: UpOptions,
): Promise<{ rec: ClusterRecord; plan: Record<Component, ComponentAction> }> {
  const rec = {
    ...existing,
    audit: opts.audit ?? existing.audit,
    loadTest: opts.loadTest ?? existing.loadTest,
  };
  if (rec.audit) await writeFile(layout.auditPolicy, AUDIT_POLICY);
  const mustRestart = new Map<Component, string>();
  const made = await ensureEtcdTls(layout.pki, rec.name);
  if (made.length > 0) {
    const reason = `etcd's TLS certificates were missing (made ${made.join(", ")})`;
    mustRestart.set("etcd", reason);
    mustRestart.set("kube-apiserver", reason);
  }
  // A cluster made before the aggregation layer: its API server restarts with the new flags.
  const frontProxy = await ensureFrontProxyTls(layout.pki, rec.name);
  if (frontProxy.length > 0 && !mustRestart.has("kube-apiserver")) {
    mustRestart.set(
      "kube-apiserver",
      `the API aggregation layer's certificates were missing (made ${frontProxy.join(", ")})`,
    );
  }
  const changed = [
    rec.audit !== existing.audit ? "--audit" : "",
    rec.loadTest !== existing.loadTest ? "--load-test" : "",
  ].filter((f) => f !== "");
  for (const c of COMPONENTS) {
    const before = componentArgs(c, existing, layout).join("\0");
    if (!mustRestart.has(c) && componentArgs(c, rec, layout).join("\0") !== before) {
      mustRestart.set(c, `${changed.join(" and ")} changed its flags`);
    }
  }
  return { rec, plan: restartPlan(statuses, mustRestart) };
}
