import { describeAccess, mayI, type AccessAttributes } from "../client/access-review.ts";
import type { KubeClient } from "../client/kube-client.ts";
import { KubemarkError } from "../kernel/errors.ts";
import { NODE_LEASE_NAMESPACE } from "../kernel/k8s.ts";
import type { SkippedTraffic, TrafficProfile } from "./config.ts";

type Access = AccessAttributes;

/**
 * What the kubelet endpoints ask of the API server (kubelet-api/kubelet-auth.ts, client-ca.ts):
 * TokenReviews and SubjectAccessReviews (ClusterRole system:auth-delegator), and, without
 * `--client-ca-file`, the client CA in ConfigMap kube-system/extension-apiserver-authentication
 * (Role extension-apiserver-authentication-reader).
 */
export function kubeletApiAccess(readsClientCa: boolean): Access[] {
  return [
    { verb: "create", resource: "tokenreviews", group: "authentication.k8s.io" },
    { verb: "create", resource: "subjectaccessreviews", group: "authorization.k8s.io" },
    ...(readsClientCa
      ? [
          {
            verb: "get",
            resource: "configmaps",
            namespace: "kube-system",
            name: EXTENSION_APISERVER_AUTHENTICATION,
          },
        ]
      : []),
  ];
}

/** The ConfigMap in kube-system where the API server publishes its client CA for delegated authentication. */
export const EXTENSION_APISERVER_AUTHENTICATION = "extension-apiserver-authentication";

/** What a hollow kubelet must be allowed to do (and nothing more is asked for). */
export function requiredAccess(traffic: TrafficProfile, proxy = false): Access[] {
  const list: Access[] = [
    { verb: "create", resource: "nodes" },
    { verb: "patch", resource: "nodes", subresource: "status" },
    { verb: "create", resource: "leases", group: "coordination.k8s.io", namespace: NODE_LEASE_NAMESPACE },
    { verb: "update", resource: "leases", group: "coordination.k8s.io", namespace: NODE_LEASE_NAMESPACE },
    { verb: "watch", resource: "pods" },
    { verb: "patch", resource: "pods", subresource: "status" },
    { verb: "delete", resource: "pods" },
  ];
  if (traffic === "kubelet") list.push({ verb: "watch", resource: "services" });
  if (proxy) {
    list.push(
      { verb: "watch", resource: "endpointslices", group: "discovery.k8s.io" },
      { verb: "create", resource: "events", group: "events.k8s.io", namespace: "default" },
    );
  }
  return list;
}

/**
 * Kubelet requests a Node-authorized kubelet may make only for its own pods, which RBAC cannot
 * scope that way: the engine makes them when allowed cluster-wide and leaves them out otherwise.
 */
export const OPTIONAL_ACCESS: ReadonlyArray<{ skip: SkippedTraffic; access: Access }> = [
  { skip: "tokens", access: { verb: "create", resource: "serviceaccounts", subresource: "token" } },
  { skip: "secrets", access: { verb: "watch", resource: "secrets" } },
  { skip: "configmaps", access: { verb: "watch", resource: "configmaps" } },
];

/**
 * What the shared identity must still be allowed under `--identity node`, where each kubelet's
 * requests go through its own certificate (the Node authorizer): the hollow kube-proxy's, which
 * keeps the shared identity.
 */
export function sharedAccessWithNodeIdentities(proxy: boolean): Access[] {
  if (!proxy) return [];
  return [
    { verb: "watch", resource: "services" },
    { verb: "watch", resource: "endpointslices", group: "discovery.k8s.io" },
    { verb: "create", resource: "events", group: "events.k8s.io", namespace: "default" },
  ];
}

/**
 * Asks the API server (SelfSubjectAccessReview) whether this identity may do what a hollow
 * kubelet does, so a forbidden identity fails at once with the missing permissions named,
 * instead of retrying forever. Returns the optional requests it must leave out.
 * `nodeIdentities`: the kubelets use their own certificates, so this identity needs only the
 * proxy's and `extra`, and nothing is left out (a node may make those requests for its own pods).
 */
export async function checkAccess(
  client: KubeClient,
  traffic: TrafficProfile,
  proxy = false,
  extra: readonly Access[] = [],
  nodeIdentities = false,
): Promise<SkippedTraffic[]> {
  const denied: string[] = [];
  const required = nodeIdentities ? sharedAccessWithNodeIdentities(proxy) : requiredAccess(traffic, proxy);
  for (const a of [...required, ...extra]) {
    if (!(await mayI(client, a))) {
      denied.push(describeAccess(a));
    }
  }
  if (denied.length > 0) {
    throw new KubemarkError(
      "FORBIDDEN",
      `the identity in ${client.server}'s kubeconfig may not: ${denied.join(", ")}`,
      {
        hint:
          extra.length > 0 &&
          denied.some((d) => d.includes("reviews") || d.includes("configmaps in kube-system"))
            ? "grant it the hollow-node RBAC ('kubemark-cluster create' binds system:auth-delegator and extension-apiserver-authentication-reader for the kubelet endpoints) or use an admin kubeconfig"
            : "grant it the hollow-node RBAC ('kubemark-cluster setup' creates it) or use an admin kubeconfig",
      },
    );
  }
  const skipped: SkippedTraffic[] = [];
  if (traffic === "kubelet" && !nodeIdentities) {
    for (const o of OPTIONAL_ACCESS) if (!(await mayI(client, o.access))) skipped.push(o.skip);
  }
  return skipped;
}
