/** The RBAC the CLI's identity needs before `setup`/`create` change anything. */
import { NODE_LEASE_NAMESPACE } from "../kernel/k8s.ts";
import type { Permission } from "./apply.ts";
import type { FleetContext } from "./context.ts";
import type { FleetRuntime } from "./runtime/runtime.ts";

/** Which of the fleet's namespaces exist already (creating one needs a permission of its own). */
export interface NamespacesPresent {
  readonly hosting: boolean;
  readonly target: boolean;
}

/**
 * What the CLI's identity must be allowed in the hosting and in the target cluster to set up a
 * fleet whose engine runs on `runtime` (`storage`: with a hollow CSI driver, whose objects and
 * RBAC go to the target; `nodeIdentity`: with `--identity node`, whose bootstrap token Secret goes
 * to kube-system of the target, re-used while valid). Same cluster: everything is asked of the
 * hosting one.
 */
export function setupPermissions(
  s: Pick<FleetContext, "namespace" | "twoCluster">,
  runtime: Pick<FleetRuntime, "needsToken" | "hostingPermissions">,
  present: NamespacesPresent,
  storage = false,
  nodeIdentity = false,
): { hosting: Permission[]; target: Permission[] } {
  const ns = s.namespace;
  const rbac = "rbac.authorization.k8s.io";
  const identity: Permission[] = [
    { verb: "patch", resource: "serviceaccounts", namespace: ns },
    { verb: "patch", resource: "clusterroles", group: rbac },
    { verb: "patch", resource: "clusterrolebindings", group: rbac },
    { verb: "patch", resource: "roles", group: rbac, namespace: NODE_LEASE_NAMESPACE },
    { verb: "patch", resource: "rolebindings", group: rbac, namespace: NODE_LEASE_NAMESPACE },
    // The kubelet endpoints' reviews and client CA (kubeletApiRbacObjects): binding built-in roles.
    { verb: "patch", resource: "rolebindings", group: rbac, namespace: "kube-system" },
  ];
  if (storage)
    identity.push(
      { verb: "patch", resource: "roles", group: rbac, namespace: ns },
      { verb: "patch", resource: "rolebindings", group: rbac, namespace: ns },
      { verb: "patch", resource: "csidrivers", group: "storage.k8s.io" },
      { verb: "patch", resource: "storageclasses", group: "storage.k8s.io" },
      { verb: "list", resource: "storageclasses", group: "storage.k8s.io" },
    );
  if (nodeIdentity)
    identity.push(
      { verb: "patch", resource: "secrets", namespace: "kube-system" },
      { verb: "list", resource: "secrets", namespace: "kube-system" },
    );
  if (runtime.needsToken || s.twoCluster)
    identity.push(
      { verb: "patch", resource: "secrets", namespace: ns },
      { verb: "get", resource: "secrets", namespace: ns },
    );
  const nodes: Permission[] = [
    { verb: "list", resource: "nodes" },
    // The wait (fleet-watch.ts) watches the fleet's Nodes and the node Leases.
    { verb: "watch", resource: "nodes" },
    { verb: "delete", resource: "nodes" },
    { verb: "watch", resource: "leases", group: "coordination.k8s.io", namespace: NODE_LEASE_NAMESPACE },
    { verb: "delete", resource: "leases", group: "coordination.k8s.io", namespace: NODE_LEASE_NAMESPACE },
  ];
  const hosting: Permission[] = [{ verb: "patch", resource: "configmaps", namespace: ns }];
  if (!present.hosting) hosting.push({ verb: "create", resource: "namespaces" });
  hosting.push(...runtime.hostingPermissions());
  // The pods' bootstrap kubeconfig (node-identity.ts BOOTSTRAP_SECRET); local processes keep it in a file.
  if (nodeIdentity && !runtime.needsToken)
    hosting.push({ verb: "patch", resource: "secrets", namespace: ns });
  if (s.twoCluster) {
    hosting.push(
      { verb: "patch", resource: "serviceaccounts", namespace: ns },
      { verb: "patch", resource: "secrets", namespace: ns },
    );
    const target = [...identity, ...nodes];
    if (!present.target) target.push({ verb: "create", resource: "namespaces" });
    return { hosting, target };
  }
  return { hosting: [...hosting, ...identity, ...nodes], target: [] };
}
