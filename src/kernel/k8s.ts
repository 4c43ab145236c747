/**
 * Kubernetes facts the whole tool shares: the labels it puts on what it makes, the API paths of
 * the objects a kubelet keeps, and what makes a node's Lease fresh. One home, so a path or a label
 * is spelled once.
 */

/** Label on every object of a hollow-node fleet (and on its Nodes): the fleet's name. */
export const FLEET_LABEL = "kubemark-cluster.io/fleet";

/** Namespace of the kubelets' heartbeat Leases. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** Collection path of the nodes' Leases. */
export const NODE_LEASES_PATH = `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`;

/** Path of one node's Lease (named as its Node). */
export function nodeLeasePath(nodeName: string): string {
  return `${NODE_LEASES_PATH}/${nodeName}`;
}

/** Collection path of Nodes. */
export const NODES_PATH = "/api/v1/nodes";

/** Path of one Node. */
export function nodePath(nodeName: string): string {
  return `${NODES_PATH}/${nodeName}`;
}

/** A kubelet's Lease duration when the Lease does not say (the kubelet's default, 40 s). */
export const DEFAULT_LEASE_DURATION_SECONDS = 40;

/** The fields of a Lease that say whether its holder is alive. */
export interface LeaseTimes {
  readonly spec?: { readonly renewTime?: string; readonly leaseDurationSeconds?: number };
}

/**
 * Age in seconds of a Lease's last renewal at `nowMs` (never negative), or undefined when it was
 * never renewed (no or unparsable renewTime).
 */
export function leaseAgeSeconds(lease: LeaseTimes | undefined, nowMs: number): number | undefined {
  const renewed = Date.parse(lease?.spec?.renewTime ?? "");
  if (!Number.isFinite(renewed)) return undefined;
  return Math.max(0, (nowMs - renewed) / 1000);
}

/**
 * Whether a renewed Lease is stale at `nowMs`: older than its leaseDurationSeconds, the point at
 * which the node lifecycle controller stops counting the node as alive.
 */
export function leaseIsStale(lease: LeaseTimes, nowMs: number): boolean {
  const age = leaseAgeSeconds(lease, nowMs);
  return age !== undefined && age > (lease.spec?.leaseDurationSeconds ?? DEFAULT_LEASE_DURATION_SECONDS);
}
