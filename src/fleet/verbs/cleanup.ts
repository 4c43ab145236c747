/** `cleanup`: everything a fleet made, in both clusters, and nothing else. */
import type { KubeClient } from "../../client/kube-client.ts";
import { FLEET_LABEL, NODE_LEASE_NAMESPACE } from "../../kernel/k8s.ts";
import { deleteInBackground, deleteObject, getObject, objectPath } from "../apply.ts";
import { fleetNodes, removeNodes } from "../census.ts";
import { awaitNamespaceDeletion } from "../namespace-deletion.ts";
import {
  ENGINE_CONFIGMAP,
  FLEET_CONFIGMAP,
  KUBEMARK_KUBECONFIG,
  TARGET_SECRET,
  TOKEN_SECRET,
  authDelegatorBindingName,
  clusterRoleName,
  type KubeObject,
} from "../objects.ts";
import { KubeApiError } from "../../client/api-error.ts";
import { otherFleetsBootstrap, removeBootstrapBindings, removeNodeBootstrap } from "../bootstrap.ts";
import { BOOTSTRAP_SECRET } from "../node-identity.ts";
import { FLEET_MODES } from "../runtime/runtime.ts";
import type { Session } from "../session.ts";
import { cleanupStorage, type StorageCleanup } from "../storage-cleanup.ts";
import { WORKLOAD_NAME } from "../spec.ts";

/** A namespace the namespace controller has not finished deleting. */
export interface TerminatingNamespace {
  /** `<name> (<cluster>)`. */
  readonly namespace: string;
  readonly seconds: number;
  /** What holds it, in the controller's words, when it said. */
  readonly holders: string | undefined;
}

/** What `cleanup` removed. */
export interface CleanupResult {
  readonly nodes: number;
  readonly processes: number;
  readonly objects: string[];
  readonly namespaces: string[];
  readonly keptNamespaces: string[];
  /** With `all`: its namespaces still being deleted after the wait, and what holds them. */
  readonly terminatingNamespaces: TerminatingNamespace[];
  /** The fleet's hollow CSI driver's objects. */
  readonly storage: StorageCleanup;
  /**
   * `--identity node`: bootstrap token Secrets and CSRs removed, and whether kubeadm's three
   * bindings went too (no other fleet's token was left).
   */
  readonly bootstrap: { readonly tokens: number; readonly csrs: number; readonly bindings: boolean };
}

/**
 * `cleanup`: removes the workload (whatever runtime runs it: local processes or a StatefulSet),
 * the Nodes the fleet created (its ownership label and `hollow-node=true`) with their Leases, and
 * its hollow CSI driver's objects (the claims bound to its volumes only with `deleteClaims`), its
 * objects and RBAC in both clusters; `all` also deletes the namespace when the CLI created it.
 * Safe to run twice; never touches a Node without the fleet's label.
 */
export async function cleanupFleet(
  s: Session,
  opts: { all: boolean; deleteClaims?: boolean | undefined },
): Promise<CleanupResult> {
  const ns = s.namespace;
  const objects: string[] = [];
  let processes = 0;
  const gone = async (client: KubeClient, kind: string, name: string, namespace?: string): Promise<void> => {
    const ref = await deleteInBackground(client, kind, name, namespace);
    if (ref) objects.push(ref);
  };
  // 1. Stop what runs the nodes, so none re-registers while it is being removed. The fleet's
  //    record may be gone already, so every runtime looks for its workload.
  for (const mode of FLEET_MODES) {
    const removed = await s.runtime(mode).remove();
    processes += removed.processes;
    objects.push(...removed.objects);
  }
  // 2. The Nodes it made, and their Leases.
  const nodeNames = (await fleetNodes(s)).map((n) => n.metadata.name);
  const nodes = await removeNodes(s, nodeNames);
  // 3. Its driver's volumes, attachments, CSIDriver and StorageClass: nothing serves them any more.
  const storage = await cleanupStorage(s, { deleteClaims: opts.deleteClaims === true });
  // 4. Its objects and RBAC.
  for (const name of [FLEET_CONFIGMAP, ENGINE_CONFIGMAP, KUBEMARK_KUBECONFIG])
    await gone(s.hosting.client, "ConfigMap", name, ns);
  await gone(s.hosting.client, "Service", WORKLOAD_NAME, ns);
  await gone(s.hosting.client, "Secret", TARGET_SECRET, ns);
  await gone(s.hosting.client, "Secret", BOOTSTRAP_SECRET, ns);
  for (const client of s.twoCluster ? [s.hosting.client, s.target.client] : [s.hosting.client]) {
    await gone(client, "Secret", TOKEN_SECRET, ns);
    await gone(client, "ServiceAccount", WORKLOAD_NAME, ns);
  }
  const role = clusterRoleName(s.fleet);
  await gone(s.target.client, "ClusterRoleBinding", role);
  await gone(s.target.client, "ClusterRoleBinding", authDelegatorBindingName(s.fleet));
  await gone(s.target.client, "RoleBinding", role, "kube-system");
  await gone(s.target.client, "ClusterRole", role);
  await gone(s.target.client, "RoleBinding", role, NODE_LEASE_NAMESPACE);
  await gone(s.target.client, "Role", role, NODE_LEASE_NAMESPACE);
  await gone(s.target.client, "RoleBinding", role, ns);
  await gone(s.target.client, "Role", role, ns);
  // 5. `--identity node`: its bootstrap token, the CSRs it and its nodes made, and kubeadm's
  //    bindings unless another fleet still bootstraps with them.
  const bootstrap = await cleanupNodeBootstrap(s.target.client, s.fleet, nodeNames);
  const namespaces: string[] = [];
  const keptNamespaces: string[] = [];
  const terminatingNamespaces: TerminatingNamespace[] = [];
  if (opts.all) {
    for (const [client, where] of s.twoCluster
      ? ([
          [s.hosting.client, "hosting"],
          [s.target.client, "target"],
        ] as const)
      : ([[s.hosting.client, "cluster"]] as const)) {
      const obj = await getObject<KubeObject & { metadata: { deletionTimestamp?: string } }>(
        client,
        objectPath("Namespace", ns),
      );
      if (!obj) continue;
      if (obj.metadata.labels?.[FLEET_LABEL] !== s.fleet) {
        // Not ours: kept (and not reported when someone is deleting it).
        if (!obj.metadata.deletionTimestamp) keptNamespaces.push(`${ns} (${where})`);
        continue;
      }
      // Deleted, by this cleanup or an earlier one, and waited for as `kubectl delete namespace`
      // waits: a `create` right after would find it refusing new objects.
      if (!obj.metadata.deletionTimestamp) {
        await deleteObject(client, objectPath("Namespace", ns));
        namespaces.push(`${ns} (${where})`);
      }
      const d = await awaitNamespaceDeletion(client, ns, {
        clock: s.deps.clock,
        signal: s.deps.signal,
        onWait: () =>
          s.deps.onEvent({ kind: "step", message: `waiting for namespace ${ns} (${where}) to be deleted` }),
      });
      if (d.state === "terminating") {
        const t = {
          namespace: `${ns} (${where})`,
          seconds: Math.round(d.waitedMs / 1000),
          holders: d.holders,
        };
        terminatingNamespaces.push(t);
        s.deps.onEvent({
          kind: "warning",
          message: `namespace ${t.namespace} is still being deleted after ${t.seconds} s${t.holders ? `: ${t.holders}` : ""}; kube-controller-manager's namespace controller finishes it ('kubectl get namespace ${ns}' shows when)`,
        });
      }
    }
  }
  return { nodes, processes, objects, namespaces, keptNamespaces, terminatingNamespaces, storage, bootstrap };
}

/**
 * The node-identity part of `cleanup` (bootstrap.ts): a fleet without one finds nothing; an
 * identity that may not list kube-system's Secrets cannot have made a bootstrap token either.
 */
async function cleanupNodeBootstrap(
  client: KubeClient,
  fleet: string,
  nodes: readonly string[],
): Promise<{ tokens: number; csrs: number; bindings: boolean }> {
  try {
    const r = await removeNodeBootstrap(client, { fleet, nodes, bindings: false });
    // kubeadm's bindings go with the last fleet that bootstraps with them.
    const bindings = r.tokens > 0 && !(await otherFleetsBootstrap(client, fleet));
    if (bindings) await removeBootstrapBindings(client);
    return { ...r, bindings };
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) return { tokens: 0, csrs: 0, bindings: false };
    throw err;
  }
}
