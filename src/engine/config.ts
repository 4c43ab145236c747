import { DEFAULT_POD_START_LATENCY, type PodStartLatency } from "./container-run.ts";
import type { CsiConfig } from "./csi/csi-names.ts";
import type { Taint } from "./quantity.ts";
import { DEFAULT_USAGE, type UsageDefaults } from "./usage/usage-defaults.ts";

/** One kind of simulated machine. A fleet mixes shapes by weight (see {@link assignShapes}). */
export interface NodeShape {
  /** Shape name, recorded on each node as the label `kubemark-cluster.io/shape`. */
  readonly name: string;
  /** Relative share of the fleet (default 1). */
  readonly weight: number;
  /** Capacity = allocatable; defaults as kubemark: cpu 1, memory 4026531840, pods 110, ephemeral-storage 0. */
  readonly cpu: string;
  readonly memory: string;
  readonly maxPods: number;
  readonly ephemeralStorage: string;
  /** Extra resources, e.g. `{"nvidia.com/gpu": "8"}` (kubemark's `--extended-resources`). */
  readonly extendedResources: Readonly<Record<string, string>>;
  /** Labels on top of the kubelet's own and the fleet's `--node-labels`. */
  readonly labels: Readonly<Record<string, string>>;
  /** Taints registered with the node (the kubelet's `--register-with-taints`). */
  readonly taints: readonly Taint[];
  /** The usage model of the shape's nodes (a fleet profile's `usage:`); undefined = the fleet's {@link EngineConfig.usage}. */
  readonly usage?: UsageDefaults | undefined;
  /** The pod models of the shape's nodes (a fleet profile's `pods:`); undefined = the fleet's. */
  readonly pods?: Pick<EngineConfig, "jobRunMs" | "podStartLatency"> | undefined;
}

/** How much API traffic each simulated node makes. */
export type TrafficProfile = "kubelet" | "minimal";

/** Everything the engine needs; built once at the edge from flags and files, then read-only. */
export interface EngineConfig {
  /** Node names, in order; shapes are assigned by position. */
  readonly nodeNames: readonly string[];
  /** Fleet-wide ordinal of the first node (node IPs and fallback pod CIDRs are picked by ordinal). */
  readonly firstIndex: number;
  readonly shapes: readonly NodeShape[];
  /** Labels every node gets (default `hollow-node=true`). */
  readonly nodeLabels: Readonly<Record<string, string>>;
  /** Fleet name, set on every node as `kubemark-cluster.io/fleet` so tools can tell which nodes are whose. */
  readonly fleet: string;
  /** Reported kubelet version; undefined = the API server's own version. */
  readonly kubeletVersion: string | undefined;
  readonly traffic: TrafficProfile;
  /** Simulate kube-proxy's watches too (default true). */
  readonly proxy: boolean;
  /**
   * Post the kubelet's Events (Pulled, Created, Started, Killing, BackOff, Unhealthy, the node's at
   * start) as a real kubelet does, in `kubelet` traffic (default true). Upstream kubemark posts
   * none (its recorder is a fake): false matches it.
   */
  readonly events: boolean;
  /** Lease duration in seconds (kubelet default 40); renewed every quarter of it. */
  readonly leaseDurationSeconds: number;
  /** How often node status is recomputed (kubelet `nodeStatusUpdateFrequency`, 10 s). */
  readonly statusUpdateMs: number;
  /** How often an unchanged status is still reported (kubelet `nodeStatusReportFrequency`, 5 min). */
  readonly statusReportMs: number;
  /** Fraction of random jitter on every interval (default 0.04, as the kubelet's lease loop). */
  readonly jitter: number;
  /**
   * Run time of a Job's pods whose image and command tell nothing of it (default 5 s); see
   * `podOutcome` in container-run.ts for the whole run model.
   */
  readonly jobRunMs: number;
  /**
   * How long a pod takes to start (`--pod-sandbox-latency`; default fitted to upstream kubemark,
   * see `DEFAULT_POD_START_LATENCY` in container-run.ts): the sandbox, then the containers. A pod's
   * `kubemark-cluster.io/sandbox-latency` annotation overrides it.
   */
  readonly podStartLatency: PodStartLatency;
  /**
   * Each node's usage model (`--usage-defaults`, default {@link DEFAULT_USAGE}), unless its shape
   * in the fleet profile has its own; a pod's usage annotations override it.
   */
  readonly usage: UsageDefaults;
  /** Pool that node InternalIPs are taken from, one per node (default 100.64.0.0/10). */
  readonly nodeIpPool: string;
  /**
   * Every node's InternalIP, as the kubelet's `--node-ip` (undefined: a unique one per node from
   * `nodeIpPool`); also its pods' hostIP and its hostNetwork pods' IP (node-ip.ts).
   */
  readonly nodeIp?: string | undefined;
  /** Pool pod IPs come from when a node has no `spec.podCIDR` (default 172.16.0.0/12, a /24 per node). */
  readonly podIpPool: string;
  /** Requests the whole process may have in flight (default 200). */
  readonly maxInFlight: number;
  /**
   * Encoding of the built-in objects a kubelet sends and reads (Leases, Nodes, CSINodes, Events;
   * kube-proxy's Events; Pods; TokenRequests; the kubelet's and kube-proxy's watches), as the kubelet's
   * `--kube-api-content-type`: protobuf (the kubelet's default, cheaper for the API server to read
   * and write) or JSON. Patch bodies are JSON either way (their answers come in protobuf).
   */
  readonly leaseContentType: "protobuf" | "json";
  /** Per-node client rate limit like a hollow kubelet's client (QPS 10, burst 20); 0 disables it. */
  readonly nodeQps: number;
  readonly nodeBurst: number;
  /** Delete this process's Nodes and Leases on SIGTERM/SIGINT. */
  readonly deleteNodesOnExit: boolean;
  /**
   * Base port of the nodes' kubelet HTTPS endpoints (0 = none): node i of the process listens on
   * `kubeletPort + i` and reports it as its `daemonEndpoints.kubeletEndpoint.Port` (kubelet-api/).
   */
  readonly kubeletPort: number;
  /**
   * IP address the kubelet endpoints listen on; with the endpoints on, every node reports it as its
   * `InternalDNS` address so the API server dials it, unless it is the node's InternalIP
   * (`nodeIp`) already (default 127.0.0.1).
   */
  readonly kubeletAddress: string;
  /**
   * The kubelet's `--client-ca-file`: the CA of the client certificates the endpoints accept;
   * undefined = the API server's (ConfigMap kube-system/extension-apiserver-authentication).
   */
  readonly clientCaFile?: string | undefined;
  /** Directory for one log file per node (`<dir>/<node>.log`), as kubemark's `-log-file`; undefined = none. */
  readonly logDir?: string | undefined;
  /** Port of the Prometheus metrics endpoint (0 = none). */
  readonly metricsPort: number;
  /**
   * Kubelet requests left out because the identity may not make them (a least-privilege
   * ServiceAccount cannot read Secrets or mint tokens cluster-wide, as a Node-authorized kubelet
   * can for its own pods): TokenRequests, and watches of referenced Secrets or ConfigMaps.
   */
  readonly skipped: readonly SkippedTraffic[];
  /**
   * The fleet's hollow CSI driver (csi/): its node side in every node (CSINode, volumes attached
   * and mounted before containers start) and, where `controller`, the elected controller side
   * (provisioning, attach, expansion). Undefined = no driver (`--csi-driver ""`).
   */
  readonly csi: CsiConfig | undefined;
}

/** Kubelet requests the engine can leave out when its identity is not allowed to make them. */
export type SkippedTraffic = "tokens" | "secrets" | "configmaps";

/** The default shape: what an upstream hollow kubelet reports. */
export const DEFAULT_SHAPE: NodeShape = {
  name: "default",
  weight: 1,
  cpu: "1",
  memory: "4026531840",
  maxPods: 110,
  ephemeralStorage: "0",
  extendedResources: {},
  labels: {},
  taints: [],
};

/**
 * The config that hollow-node's flag defaults produce, for the given nodes (flags.test.ts checks
 * the two agree). Used where an engine is built without flags, as in tests.
 */
export function defaultEngineConfig(
  nodeNames: readonly string[],
  over: Partial<EngineConfig> = {},
): EngineConfig {
  return {
    nodeNames,
    firstIndex: 0,
    shapes: [DEFAULT_SHAPE],
    nodeLabels: { "hollow-node": "true" },
    fleet: "default",
    kubeletVersion: undefined,
    traffic: "kubelet",
    proxy: true,
    events: true,
    leaseDurationSeconds: 40,
    statusUpdateMs: 10_000,
    statusReportMs: 300_000,
    jitter: 0.04,
    jobRunMs: 5_000,
    podStartLatency: DEFAULT_POD_START_LATENCY,
    usage: DEFAULT_USAGE,
    nodeIpPool: "100.64.0.0/10",
    podIpPool: "172.16.0.0/12",
    maxInFlight: 200,
    leaseContentType: "protobuf",
    nodeQps: 10,
    nodeBurst: 20,
    deleteNodesOnExit: false,
    kubeletPort: 0,
    kubeletAddress: "127.0.0.1",
    metricsPort: 0,
    skipped: [],
    csi: undefined,
    ...over,
  };
}

/**
 * Gives each node index a shape so that every prefix of the fleet follows the weights as closely
 * as possible (smooth weighted round robin): 80/20 gives 4 of one, 1 of the other, repeating.
 */
export function assignShapes(count: number, shapes: readonly NodeShape[]): NodeShape[] {
  if (shapes.length === 1) return new Array<NodeShape>(count).fill(shapes[0]!);
  const total = shapes.reduce((s, x) => s + x.weight, 0);
  const current = shapes.map(() => 0);
  const out: NodeShape[] = [];
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let s = 0; s < shapes.length; s++) {
      current[s]! += shapes[s]!.weight;
      if (current[s]! > current[best]!) best = s;
    }
    current[best]! -= total;
    out.push(shapes[best]!);
  }
  return out;
}
