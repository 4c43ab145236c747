/**
 * Real worker nodes of a local cluster (`up --workers N`): per worker a containerd, a kubelet of
 * the control plane's release, a bridge network for its pods, node credentials signed by the
 * cluster CA; for all of them a relay that makes the API server reachable at the `kubernetes`
 * Service address (REFERENCE 4d). This file names them (addresses, names, labels);
 * start-workers.ts starts them, stop-workers.ts undoes all of it, worker-nodes.ts hands both to
 * the control plane's `up` and `down`.
 */
import { HOLLOW_NODE_REPOSITORY } from "./image.ts";

/** Workers' own addresses: 10.254.0.2, .3, ... (kubelets serve there). */
export const NODE_NETWORK = "10.254.0.0/24";
/** Port-less bridge holding the workers' addresses and the Service address. */
export const NODE_BRIDGE = "kmcnodes";
/** Label every real worker Node carries. */
export const WORKER_LABEL = "kubemark-cluster.io/worker";

/** The hollow-node image tag built for this package version. */
export function hollowNodeImageTag(version: string): string {
  return `${HOLLOW_NODE_REPOSITORY}:${version}`;
}

/** Name of a cluster's worker `i` (the Node name). */
export function workerName(cluster: string, i: number): string {
  return `${cluster}-worker-${i}`;
}

/** Worker `i`'s address in {@link NODE_NETWORK}. */
export function workerIP(i: number): string {
  return `10.254.0.${i + 2}`;
}

/** Name of worker `i`'s pod bridge. */
export function bridgeName(i: number): string {
  return `kmcbr${i}`;
}
