import { BadInputError } from "../kernel/errors.ts";
import { shardRange } from "../engine/shard.ts";
import type { FleetProfile } from "./fleet-profile.ts";

/** Label of the Nodes hollow nodes register (kubemark's, which the seed's commands expect). */
export const HOLLOW_LABEL = "hollow-node";
/** Label upstream tooling and the seed's troubleshooting commands select hollow-node pods by. */
export const WORKLOAD_LABEL = { name: "hollow-node" } as const;
/** Field manager of every object the CLI applies. */
export const FIELD_MANAGER = "kubemark-cluster";
/** Name of the workload objects (StatefulSet, Service, ServiceAccount, ConfigMaps). */
export const WORKLOAD_NAME = "hollow-node";

/** Where a fleet's engine runs. */
export type FleetMode = "local" | "in-cluster";
/** What simulates the nodes. */
export type FleetEngine = "hollow-node" | "kubemark";

/** Stock public image the in-cluster engine runs on (the engine itself comes in a ConfigMap). */
export const DEFAULT_NODE_IMAGE = "docker.io/library/node:24-slim";
/** Where the Dockerfile's image keeps the bundled engine. */
export const PREBUILT_ENGINE_PATH = "/opt/hollow-node/hollow-node.mjs";

/**
 * Node.js flags the engine runs with everywhere (local processes, pods, the image, ./hollow-node):
 * a small young generation (its garbage is short-lived request data) and an old generation that
 * grows by 20% instead of V8's default factor. Measured with bench/engine-scale.ts at 5,000 nodes
 * with the hollow proxy: 112.7 KB RSS per node without them, 45.5 KB with them, for 0.075 instead
 * of 0.054 mCPU per node.
 */
export const ENGINE_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=4", "--heap-growing-percent=20"];

/**
 * Nodes per engine process (local) or pod (in-cluster), from the benchmark (results/): one
 * process holds 5,000 idle nodes at 75-110 KB and 0.05-0.13 mCPU each over a ~150 MB baseline.
 * Local fleets use 1,000 per process so both cores of a small machine work; in a cluster 500 per
 * pod (~200 MB, 0.1 CPU) spreads the load over the hosting nodes.
 */
export const DEFAULT_NODES_PER_SHARD: Record<FleetMode, number> = { local: 1000, "in-cluster": 500 };

/** What a fleet is: stored in the hosting cluster (ConfigMap) and, for local fleets, on disk. */
export interface FleetSpec {
  /** Namespace in the hosting cluster (and in the target, for the ServiceAccount). */
  readonly namespace: string;
  /** Fleet name, the value of the fleet label (kernel/k8s.ts `FLEET_LABEL`) on every Node it registers. */
  readonly fleet: string;
  readonly nodes: number;
  readonly nodesPerShard: number;
  /** Nodes are `<prefix>-<index>`. */
  readonly namePrefix: string;
  /** Simulated kubelet version; undefined = the target API server's. */
  readonly kubeletVersion: string | undefined;
  readonly mode: FleetMode;
  readonly engine: FleetEngine;
  /** Container image (in-cluster): a stock Node.js image for hollow-node, a kubemark image for kubemark. */
  readonly image: string;
  /** The image carries the engine (built from the Dockerfile) instead of taking it from a ConfigMap. */
  readonly prebuiltEngine: boolean;
  /** Hollow nodes register into another cluster than the one hosting them. */
  readonly twoCluster: boolean;
  /** API server the Nodes register into, as the CLI reached it. */
  readonly targetServer: string;
  readonly traffic: "kubelet" | "minimal";
  readonly proxy: boolean;
  /** The fleet profile every engine runs with (`create --profile`); undefined = none. */
  readonly profile?: FleetProfile | undefined;
  /**
   * The fleet's hollow CSI driver (its CSIDriver, StorageClass and the engines' `--csi-*` flags);
   * undefined = none. Specs recorded before this field existed have none.
   */
  readonly storage?: FleetStorage | undefined;
  /**
   * Whose identity the hollow kubelets use: `node`, each its own certificate (system:node:<name>)
   * by the kubelet's TLS bootstrap; `shared`, the fleet's ServiceAccount. Specs recorded before
   * this field existed are `shared` (node-identity.ts `recordedIdentity`).
   */
  readonly identity?: FleetIdentity | undefined;
}

/** Whose identity a fleet's hollow kubelets use (`create --identity`). */
export type FleetIdentity = "node" | "shared";

/** A fleet's hollow CSI driver, as recorded in its spec. */
export interface FleetStorage {
  /** The driver's name (`csiDriverName(fleet)`). */
  readonly driver: string;
  /** The CSIDriver's `attachRequired` (false with `create --no-attach`). */
  readonly attachRequired: boolean;
}

/** Number of engine processes or pods a fleet needs. */
export function shardCount(spec: Pick<FleetSpec, "nodes" | "nodesPerShard">): number {
  return Math.ceil(spec.nodes / spec.nodesPerShard);
}

/** Nodes shard `i` runs. */
export function shardNodes(spec: Pick<FleetSpec, "nodes" | "nodesPerShard">, i: number): number {
  return shardRange(i, spec.nodesPerShard, spec.nodes).count;
}

/** Index of a fleet Node from its name, or undefined when the name is not `<prefix>-<n>`. */
export function nodeIndex(name: string, prefix: string): number | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const rest = name.slice(prefix.length + 1);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

/** Validates a node count given as a command argument (`create 100`, `scale 20`). */
export function parseNodeCount(value: string | undefined, verb: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new BadInputError(
      `${verb} needs the number of nodes`,
      `for example 'kubemark-cluster ${verb} 100'`,
    );
  }
  if (!/^\d+$/.test(value.trim())) {
    throw new BadInputError(
      `${verb}: the number of nodes must be a whole number, got "${value}"`,
      `for example 'kubemark-cluster ${verb} 100'`,
    );
  }
  const n = Number(value);
  const min = verb === "scale" ? 0 : 1;
  if (n < min || n > 100_000) {
    throw new BadInputError(
      `${verb}: the number of nodes must be between ${min} and 100000, got ${n}`,
      n === 0 ? "use 'kubemark-cluster cleanup' to remove every node" : undefined,
    );
  }
  return n;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Validates a namespace name (`-n`). */
export function validateNamespace(ns: string): string {
  if (!DNS_LABEL.test(ns) || ns.length > 63) {
    throw new BadInputError(
      `-n/--namespace must be a DNS label (lower-case letters, digits, '-'), got "${ns}"`,
    );
  }
  return ns;
}
