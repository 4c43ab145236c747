import type { NodeShape } from "./config.ts";

/** Labels that mark a node as simulated by kubemark-cluster. */
export const FLEET_LABEL = "kubemark-cluster.io/fleet";
/** Label with the node's shape name. */
export const SHAPE_LABEL = "kubemark-cluster.io/shape";
/** Runtime name reported in nodeInfo and container ids. */
export const RUNTIME_NAME = "hollow";
/** Runtime version reported in nodeInfo. */
export const RUNTIME_VERSION = "hollow://0.1.0";

/** What makes one simulated node itself. */
export interface NodeIdentity {
  readonly name: string;
  readonly shape: NodeShape;
  /** Unique InternalIP. */
  readonly ip: string;
  readonly kubeletVersion: string;
  readonly kubeletPort: number;
  /**
   * The address of the process's kubelet endpoint when it serves one (every node of the process
   * shares the one listener), reported as the node's `InternalDNS` address: the InternalIP is
   * simulated, the `Hostname` stays the node name as a kubelet reports it, and the local control
   * plane's API server dials InternalDNS first.
   */
  readonly endpointAddress?: string | undefined;
  readonly fleet: string;
  readonly nodeLabels: Readonly<Record<string, string>>;
}

/** A node condition as the kubelet reports it. */
export interface NodeCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

/** The labels a kubelet sets on its Node, plus the fleet's and the shape's. */
export function nodeLabels(id: NodeIdentity): Record<string, string> {
  return {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": id.name,
    "kubernetes.io/os": "linux",
    ...id.nodeLabels,
    ...id.shape.labels,
    [FLEET_LABEL]: id.fleet,
    [SHAPE_LABEL]: id.shape.name,
  };
}

/** Capacity (= allocatable) of a shape, as the hollow kubelet reports it. */
export function nodeCapacity(shape: NodeShape): Record<string, string> {
  return {
    cpu: shape.cpu,
    memory: shape.memory,
    pods: String(shape.maxPods),
    "ephemeral-storage": shape.ephemeralStorage,
    ...shape.extendedResources,
  };
}

/** The four conditions of a healthy kubelet, with kubelet reasons and messages. */
export function healthyConditions(heartbeat: string, since: string): NodeCondition[] {
  const c = (type: string, status: "True" | "False", reason: string, message: string): NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: heartbeat,
    lastTransitionTime: since,
  });
  return [
    c("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    c("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
  ];
}

/** The node status a hollow kubelet reports at `now` (conditions true since `since`). */
export function renderNodeStatus(id: NodeIdentity, now: string, since: string): Record<string, unknown> {
  const capacity = nodeCapacity(id.shape);
  return {
    capacity,
    allocatable: capacity,
    conditions: healthyConditions(now, since),
    addresses: [
      { type: "InternalIP", address: id.ip },
      { type: "Hostname", address: id.name },
      ...(id.endpointAddress ? [{ type: "InternalDNS", address: id.endpointAddress }] : []),
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: id.kubeletPort } },
    nodeInfo: {
      machineID: "",
      systemUUID: "",
      bootID: "",
      kernelVersion: "6.1.0-hollow",
      osImage: "kubemark-cluster hollow node",
      containerRuntimeVersion: RUNTIME_VERSION,
      kubeletVersion: id.kubeletVersion,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

/** The Node a hollow kubelet registers (POST body). */
export function renderNode(id: NodeIdentity, now: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: id.name,
      labels: nodeLabels(id),
      annotations: { "volumes.kubernetes.io/controller-managed-attach-detach": "true" },
    },
    spec: {
      providerID: `kubemark://${id.name}`,
      ...(id.shape.taints.length > 0 ? { taints: id.shape.taints } : {}),
    },
    status: renderNodeStatus(id, now, now),
  };
}

/**
 * Labels a registered Node lacks compared with what this kubelet would set (a restarted kubelet
 * reconciles its default labels onto an existing Node). Empty when nothing needs patching.
 */
export function missingLabels(
  id: NodeIdentity,
  current: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const want = nodeLabels(id);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) if (current?.[k] !== v) out[k] = v;
  return out;
}

/** The Lease a kubelet keeps in `kube-node-lease` (PUT/POST body). */
export function renderLease(init: {
  name: string;
  nodeUid: string;
  durationSeconds: number;
  renewTime: string;
  resourceVersion?: string | undefined;
}): Record<string, unknown> {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: init.name,
      namespace: "kube-node-lease",
      ...(init.resourceVersion ? { resourceVersion: init.resourceVersion } : {}),
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: init.name, uid: init.nodeUid }],
    },
    spec: {
      holderIdentity: init.name,
      leaseDurationSeconds: init.durationSeconds,
      renewTime: init.renewTime,
    },
  };
}

/** The CSINode a kubelet registers for its node (no CSI drivers on a hollow node). */
export function renderCsiNode(name: string, nodeUid: string): Record<string, unknown> {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "CSINode",
    metadata: { name, ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: nodeUid }] },
    spec: { drivers: [] },
  };
}

/** RFC 3339 with seconds, as the API server stores Time fields. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** RFC 3339 with microseconds, as MicroTime fields (Lease renewTime) are written. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}
