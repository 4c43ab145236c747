/** Where a fleet's engine runs when not told, and how its pods reach the target API server. */
import { SERVICE_IP } from "../../controlplane/cluster-state.ts";
import type { Endpoint } from "../endpoints.ts";
import type { FleetMode } from "../spec.ts";

/**
 * Where the engine runs when `create` is not told: as local processes against the project's own
 * control plane when it has no real workers (no kubelet could run the pods), else as pods.
 */
export function defaultMode(hosting: Pick<Endpoint, "localCluster" | "localWorkers">): FleetMode {
  return hosting.localCluster !== undefined && hosting.localWorkers === 0 ? "local" : "in-cluster";
}

/**
 * The target API server address as hollow-node pods reach it. Pods on a local cluster's real
 * workers cannot reach this machine's loopback; the workers' relay serves every local API server
 * port at the Service address, which every local API server certificate names.
 */
export function podReachableServer(hosting: Pick<Endpoint, "localWorkers">, server: string): string {
  if (hosting.localWorkers === 0) return server;
  const m = /^https:\/\/(127\.0\.0\.1|localhost):(\d+)\/?$/.exec(server);
  return m ? `https://${SERVICE_IP}:${m[2]}` : server;
}
