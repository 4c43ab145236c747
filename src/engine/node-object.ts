import {
  decodeObject,
  encodeObject,
  protoReader,
  protoWriter,
  readObjectMeta,
  tag,
} from "../client/protobuf.ts";
import { FLEET_LABEL, NODE_LEASE_NAMESPACE } from "../kernel/k8s.ts";
import type { NodeShape } from "./config.ts";

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
  /** InternalIP: unique from the pool, or the `--node-ip` every node of the process shares. */
  readonly ip: string;
  readonly kubeletVersion: string;
  readonly kubeletPort: number;
  /**
   * The address of the process's kubelet endpoint when it serves one (every node of the process
   * shares the one listener), reported as the node's `InternalDNS` address when it is not its
   * InternalIP: a pool's InternalIP is simulated, the `Hostname` stays the node name as a kubelet
   * reports it, and the local control plane's API server dials InternalDNS first.
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
      // The endpoint's address is told apart only where it is not the InternalIP already (a
      // kubelet's --node-ip is where it serves).
      ...(id.endpointAddress && id.endpointAddress !== id.ip
        ? [{ type: "InternalDNS", address: id.endpointAddress }]
        : []),
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

/**
 * The Node a hollow kubelet registers (POST body). `csi` (minimal traffic with a CSI driver): the
 * labels and annotations the CSI node-info manager would add after registration, written at once.
 */
export function renderNode(
  id: NodeIdentity,
  now: string,
  csi?: { labels?: Record<string, string>; annotations?: Record<string, string> },
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: id.name,
      labels: csi?.labels ? { ...nodeLabels(id), ...csi.labels } : nodeLabels(id),
      annotations: { "volumes.kubernetes.io/controller-managed-attach-detach": "true", ...csi?.annotations },
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

/** A node's Lease as the engine writes it (the JSON form; {@link encodeLease} gives the protobuf one). */
export interface LeaseObject {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    ownerReferences: Array<{ apiVersion: string; kind: string; name: string; uid: string }>;
  };
  spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string };
}

/** The Lease a kubelet keeps in `kube-node-lease` (PUT/POST body). */
export function renderLease(init: {
  name: string;
  nodeUid: string;
  durationSeconds: number;
  renewTime: string;
  resourceVersion?: string | undefined;
}): LeaseObject {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: init.name,
      namespace: NODE_LEASE_NAMESPACE,
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

// Field numbers of k8s.io/api coordination/v1 Lease and LeaseSpec, and of apimachinery's
// ObjectMeta, OwnerReference and MicroTime (their generated.proto files).
const LEASE_METADATA = 1;
const LEASE_SPEC = 2;
const META_NAME = 1;
const META_NAMESPACE = 3;
const META_RESOURCE_VERSION = 6;
const META_OWNER_REFERENCES = 13;
const OWNER_KIND = 1;
const OWNER_NAME = 3;
const OWNER_UID = 4;
const OWNER_API_VERSION = 5;
const SPEC_HOLDER = 1;
const SPEC_DURATION = 2;
const SPEC_RENEW_TIME = 4;
const MICRO_SECONDS = 1;
const MICRO_NANOS = 2;
const LEN = 2;
const VARINT = 0;

/** The Lease in Kubernetes' protobuf encoding, as a kubelet sends it (its default content type). */
export function encodeLease(lease: LeaseObject): Uint8Array {
  const { metadata: m, spec } = lease;
  const w = protoWriter();
  w.uint32(tag(LEASE_METADATA, LEN)).fork();
  w.uint32(tag(META_NAME, LEN)).string(m.name);
  w.uint32(tag(META_NAMESPACE, LEN)).string(m.namespace);
  if (m.resourceVersion) w.uint32(tag(META_RESOURCE_VERSION, LEN)).string(m.resourceVersion);
  for (const o of m.ownerReferences) {
    w.uint32(tag(META_OWNER_REFERENCES, LEN)).fork();
    w.uint32(tag(OWNER_KIND, LEN)).string(o.kind);
    w.uint32(tag(OWNER_NAME, LEN)).string(o.name);
    w.uint32(tag(OWNER_UID, LEN)).string(o.uid);
    w.uint32(tag(OWNER_API_VERSION, LEN)).string(o.apiVersion);
    w.ldelim();
  }
  w.ldelim();
  const { seconds, nanos } = splitMicroTime(spec.renewTime);
  w.uint32(tag(LEASE_SPEC, LEN)).fork();
  w.uint32(tag(SPEC_HOLDER, LEN)).string(spec.holderIdentity);
  w.uint32(tag(SPEC_DURATION, VARINT)).int32(spec.leaseDurationSeconds);
  w.uint32(tag(SPEC_RENEW_TIME, LEN)).fork();
  w.uint32(tag(MICRO_SECONDS, VARINT)).int64(seconds);
  if (nanos) w.uint32(tag(MICRO_NANOS, VARINT)).int32(nanos);
  w.ldelim();
  w.ldelim();
  return encodeObject(lease.apiVersion, lease.kind, w.finish());
}

/** Reads a protobuf Lease back into the engine's JSON form (what a test or a reader sees). */
export function decodeLease(bytes: Uint8Array): LeaseObject {
  const { apiVersion, kind, raw } = decodeObject(bytes);
  if (apiVersion !== "coordination.k8s.io/v1" || kind !== "Lease") {
    throw new Error(`expected a coordination.k8s.io/v1 Lease, got ${apiVersion} ${kind}`);
  }
  const meta = readObjectMeta(raw);
  const lease: LeaseObject = {
    apiVersion,
    kind,
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
      ownerReferences: [],
    },
    spec: { holderIdentity: "", leaseDurationSeconds: 0, renewTime: "" },
  };
  const r = protoReader(raw);
  const within = (end: number, each: (key: number) => void): void => {
    while (r.pos < end) each(r.uint32());
  };
  within(r.len, (key) => {
    if (key === tag(LEASE_METADATA, LEN)) {
      within(r.uint32() + r.pos, (k) => {
        if (k !== tag(META_OWNER_REFERENCES, LEN)) return void r.skipType(k & 7);
        const o = { apiVersion: "", kind: "", name: "", uid: "" };
        within(r.uint32() + r.pos, (f) => {
          if (f === tag(OWNER_KIND, LEN)) o.kind = r.string();
          else if (f === tag(OWNER_NAME, LEN)) o.name = r.string();
          else if (f === tag(OWNER_UID, LEN)) o.uid = r.string();
          else if (f === tag(OWNER_API_VERSION, LEN)) o.apiVersion = r.string();
          else r.skipType(f & 7);
        });
        lease.metadata.ownerReferences.push(o);
      });
    } else if (key === tag(LEASE_SPEC, LEN)) {
      within(r.uint32() + r.pos, (k) => {
        if (k === tag(SPEC_HOLDER, LEN)) lease.spec.holderIdentity = r.string();
        else if (k === tag(SPEC_DURATION, VARINT)) lease.spec.leaseDurationSeconds = r.int32();
        else if (k === tag(SPEC_RENEW_TIME, LEN)) {
          let seconds = 0;
          let nanos = 0;
          within(r.uint32() + r.pos, (f) => {
            if (f === tag(MICRO_SECONDS, VARINT)) {
              const v = r.int64();
              seconds = typeof v === "number" ? v : v.high * 2 ** 32 + (v.low >>> 0);
            } else if (f === tag(MICRO_NANOS, VARINT)) nanos = r.int32();
            else r.skipType(f & 7);
          });
          lease.spec.renewTime = joinMicroTime(seconds, nanos);
        } else r.skipType(k & 7);
      });
    } else r.skipType(key & 7);
  });
  return lease;
}

/** Seconds and nanoseconds of a MicroTime string (`2026-01-01T00:00:05.123456Z`). */
function splitMicroTime(s: string): { seconds: number; nanos: number } {
  const m = /^(.*?)(?:\.(\d{1,9}))?Z$/.exec(s);
  const ms = m ? Date.parse(`${m[1]}Z`) : NaN;
  if (!m || !Number.isFinite(ms)) throw new Error(`not a MicroTime: ${s}`);
  return { seconds: Math.floor(ms / 1000), nanos: Number((m[2] ?? "").padEnd(9, "0")) };
}

/** The MicroTime string (microseconds, as the API server writes it) of seconds and nanoseconds. */
function joinMicroTime(seconds: number, nanos: number): string {
  const micro = String(Math.floor(nanos / 1000)).padStart(6, "0");
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, `.${micro}Z`);
}

/**
 * The CSINode a kubelet registers for its node: no drivers until one registers (the fleet's hollow
 * CSI driver, `drivers`, when the node writes it at once).
 */
export function renderCsiNode(
  name: string,
  nodeUid: string,
  drivers: object[] = [],
): Record<string, unknown> {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "CSINode",
    metadata: { name, ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: nodeUid }] },
    spec: { drivers },
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
