/**
 * The FleetSpec the fleet's unit tests build objects from: an in-cluster fleet of 1,200 kubelet-
 * faithful hollow nodes in 3 shards of 500 (the last of 200), pointed at another cluster's API
 * server. A test that needs a variation spreads it (`{ ...inClusterSpec, mode: "local" }`).
 */
import type { FleetSpec } from "../spec.ts";

/** An in-cluster fleet "kubemark" of 1,200 nodes, 500 per shard, kubelet traffic with the proxy. */
export const inClusterSpec: FleetSpec = {
  namespace: "kubemark",
  fleet: "kubemark",
  nodes: 1200,
  nodesPerShard: 500,
  namePrefix: "hollow-node",
  kubeletVersion: undefined,
  mode: "in-cluster",
  engine: "hollow-node",
  image: "docker.io/library/node:24-slim",
  prebuiltEngine: false,
  twoCluster: false,
  targetServer: "https://10.0.0.1:6443",
  traffic: "kubelet",
  proxy: true,
};
