import type { Field, ProtoType, Schema } from "./protobuf-schema.ts";

/*
 * The built-in types a kubelet (and kube-proxy) writes and reads besides Leases, as codec schemas.
 * Field numbers are those of k8s.io/api core/v1, storage/v1 and events/v1 generated.proto and of
 * apimachinery's meta/v1 generated.proto (v0.36). Write schemas hold every field the engine
 * writes; read schemas only what it reads of the answers.
 */

const S = (n: number): Field => ({ n, t: "string" });
const I32 = (n: number): Field => ({ n, t: "int32" });
const I64 = (n: number): Field => ({ n, t: "int64" });
const B = (n: number): Field => ({ n, t: "bool" });
const TIME = (n: number): Field => ({ n, t: "time" });
const MICRO = (n: number): Field => ({ n, t: "microTime" });
const MSG = (n: number, t: Schema): Field => ({ n, t });
const LIST = (n: number, t: Field["t"]): Field => ({ n, t, list: true });
const MAP = (n: number, t: Field["t"]): Field => ({ n, t, map: true });

/** meta/v1 OwnerReference. */
const OWNER_REFERENCE: Schema = {
  kind: S(1),
  name: S(3),
  uid: S(4),
  apiVersion: S(5),
  controller: B(6),
  blockOwnerDeletion: B(7),
};

/** meta/v1 ObjectMeta, without selfLink and managedFields (a client never writes them). */
const OBJECT_META: Schema = {
  name: S(1),
  generateName: S(2),
  namespace: S(3),
  uid: S(5),
  resourceVersion: S(6),
  generation: I64(7),
  creationTimestamp: TIME(8),
  deletionTimestamp: TIME(9),
  deletionGracePeriodSeconds: I64(10),
  labels: MAP(11, "string"),
  annotations: MAP(12, "string"),
  ownerReferences: LIST(13, OWNER_REFERENCE),
  finalizers: LIST(14, "string"),
};

/** The ObjectMeta fields the engine reads of an answer. */
const META_READ: Schema = {
  name: S(1),
  namespace: S(3),
  uid: S(5),
  resourceVersion: S(6),
  labels: MAP(11, "string"),
  annotations: MAP(12, "string"),
};

/** core/v1 ObjectReference. */
const OBJECT_REFERENCE: Schema = {
  kind: S(1),
  namespace: S(2),
  name: S(3),
  uid: S(4),
  apiVersion: S(5),
  resourceVersion: S(6),
  fieldPath: S(7),
};

/** core/v1 EventSource. */
const EVENT_SOURCE: Schema = { component: S(1), host: S(2) };

/** core/v1 Event and events/v1 Event's series. */
const EVENT_SERIES: Schema = { count: I32(1), lastObservedTime: MICRO(2) };

/** A core/v1 Event (the kubelet's recorder writes these). */
export const CORE_EVENT: ProtoType = {
  apiVersion: "v1",
  kind: "Event",
  write: {
    metadata: MSG(1, OBJECT_META),
    involvedObject: MSG(2, OBJECT_REFERENCE),
    reason: S(3),
    message: S(4),
    source: MSG(5, EVENT_SOURCE),
    firstTimestamp: TIME(6),
    lastTimestamp: TIME(7),
    count: I32(8),
    type: S(9),
    eventTime: MICRO(10),
    series: MSG(11, EVENT_SERIES),
    action: S(12),
    related: MSG(13, OBJECT_REFERENCE),
    reportingComponent: S(14),
    reportingInstance: S(15),
  },
  read: { metadata: MSG(1, META_READ), count: I32(8) },
};

/** An events.k8s.io/v1 Event (kube-proxy's event client writes these). */
export const EVENTS_V1_EVENT: ProtoType = {
  apiVersion: "events.k8s.io/v1",
  kind: "Event",
  write: {
    metadata: MSG(1, OBJECT_META),
    eventTime: MICRO(2),
    series: MSG(3, EVENT_SERIES),
    reportingController: S(4),
    reportingInstance: S(5),
    action: S(6),
    reason: S(7),
    regarding: MSG(8, OBJECT_REFERENCE),
    related: MSG(9, OBJECT_REFERENCE),
    note: S(10),
    type: S(11),
    deprecatedSource: MSG(12, EVENT_SOURCE),
    deprecatedFirstTimestamp: TIME(13),
    deprecatedLastTimestamp: TIME(14),
    deprecatedCount: I32(15),
  },
  read: { metadata: MSG(1, META_READ) },
};

const TAINT: Schema = { key: S(1), value: S(2), effect: S(3), timeAdded: TIME(4) };

const NODE_CONDITION: Schema = {
  type: S(1),
  status: S(2),
  lastHeartbeatTime: TIME(3),
  lastTransitionTime: TIME(4),
  reason: S(5),
  message: S(6),
};

const NODE_SYSTEM_INFO: Schema = {
  machineID: S(1),
  systemUUID: S(2),
  bootID: S(3),
  kernelVersion: S(4),
  osImage: S(5),
  containerRuntimeVersion: S(6),
  kubeletVersion: S(7),
  kubeProxyVersion: S(8),
  operatingSystem: S(9),
  architecture: S(10),
  swap: MSG(11, { capacity: I64(1) }),
};

const ATTACHED_VOLUME: Schema = { name: S(1), devicePath: S(2) };

/** A core/v1 Node: what a kubelet registers, and what the engine reads back of it. */
export const NODE: ProtoType = {
  apiVersion: "v1",
  kind: "Node",
  write: {
    metadata: MSG(1, OBJECT_META),
    spec: MSG(2, {
      podCIDR: S(1),
      externalID: S(2),
      providerID: S(3),
      unschedulable: B(4),
      taints: LIST(5, TAINT),
      podCIDRs: LIST(7, "string"),
    }),
    status: MSG(3, {
      capacity: MAP(1, "quantity"),
      allocatable: MAP(2, "quantity"),
      phase: S(3),
      conditions: LIST(4, NODE_CONDITION),
      addresses: LIST(5, { type: S(1), address: S(2) }),
      daemonEndpoints: MSG(6, { kubeletEndpoint: MSG(1, { Port: I32(1) }) }),
      nodeInfo: MSG(7, NODE_SYSTEM_INFO),
      volumesInUse: LIST(9, "string"),
      volumesAttached: LIST(10, ATTACHED_VOLUME),
    }),
  },
  // The engine reads the Node's identity and labels, its pod CIDR, the conditions it compares
  // with its own and the volumes (node-handle.ts's NodeObject, csi/node-info.ts).
  read: {
    metadata: MSG(1, META_READ),
    spec: MSG(2, { podCIDR: S(1) }),
    status: MSG(3, {
      conditions: LIST(4, { type: S(1), status: S(2), reason: S(5), message: S(6) }),
      volumesInUse: LIST(9, "string"),
      volumesAttached: LIST(10, ATTACHED_VOLUME),
    }),
  },
};

const CSI_NODE_SPEC: Schema = {
  drivers: LIST(1, {
    name: S(1),
    nodeID: S(2),
    topologyKeys: LIST(3, "string"),
    allocatable: MSG(4, { count: I32(1) }),
  }),
};

/**
 * A storage/v1 CSINode. The engine PUTs back what it read (with its driver added), so it reads
 * the whole object a client may write.
 */
export const CSI_NODE: ProtoType = {
  apiVersion: "storage.k8s.io/v1",
  kind: "CSINode",
  write: { metadata: MSG(1, OBJECT_META), spec: MSG(2, CSI_NODE_SPEC) },
  read: { metadata: MSG(1, OBJECT_META), spec: MSG(2, CSI_NODE_SPEC) },
};

/**
 * A type watched for where its stream stands only (the kubelet's Service, RuntimeClass, CSIDriver,
 * ConfigMap and Secret watches, kube-proxy's ServiceCIDR one): the engine reads the
 * objects' identity, resourceVersion and the bookmarks' annotations, and skips the rest (a
 * Secret's data is never decoded).
 */
export function watchedOnly(apiVersion: string, kind: string): ProtoType {
  return { apiVersion, kind, write: {}, read: { metadata: MSG(1, META_READ) } };
}

/**
 * A core/v1 Node as the CLI's fleet census reads it (fleet/fleet-watch.ts): its name, age,
 * conditions and kubelet version. In protobuf the API server serves every Node event to it from
 * the encoding it makes for the controllers' and scheduler's informers anyway, where a JSON watch
 * costs one more encoding of each.
 */
export const NODE_CENSUS: ProtoType = {
  apiVersion: "v1",
  kind: "Node",
  write: {},
  read: {
    // Annotations: a WatchList's end bookmark says so in one.
    metadata: MSG(1, {
      name: S(1),
      resourceVersion: S(6),
      creationTimestamp: TIME(8),
      annotations: MAP(12, "string"),
    }),
    status: MSG(3, {
      conditions: LIST(4, { type: S(1), status: S(2) }),
      nodeInfo: MSG(7, { kubeletVersion: S(7) }),
    }),
  },
};

/** A coordination/v1 Lease as a watcher of renewals reads it: its name and renewTime. */
export const LEASE_RENEWAL: ProtoType = {
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  write: {},
  read: {
    metadata: MSG(1, { name: S(1), resourceVersion: S(6), annotations: MAP(12, "string") }),
    spec: MSG(2, { renewTime: MICRO(4) }),
  },
};

/** A core/v1 Service as kube-proxy's watch reads it: its identity and its ports. */
export const SERVICE: ProtoType = {
  apiVersion: "v1",
  kind: "Service",
  write: {},
  read: { metadata: MSG(1, META_READ), spec: MSG(2, { ports: LIST(1, { name: S(1), port: I32(3) }) }) },
};

/** A discovery/v1 EndpointSlice as kube-proxy's watch reads it: its Service and its endpoints' readiness. */
export const ENDPOINT_SLICE: ProtoType = {
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  write: {},
  read: { metadata: MSG(1, META_READ), endpoints: LIST(2, { conditions: MSG(2, { ready: B(1) }) }) },
};

/**
 * An authentication.k8s.io/v1 TokenRequest (a pod's projected service-account token) as the
 * kubelet's token manager writes it. Of the answer only the expiry is read: the token itself, a
 * secret, is never decoded.
 */
export const TOKEN_REQUEST: ProtoType = {
  apiVersion: "authentication.k8s.io/v1",
  kind: "TokenRequest",
  write: {
    metadata: MSG(1, OBJECT_META),
    spec: MSG(2, {
      audiences: LIST(1, "string"),
      boundObjectRef: MSG(3, { kind: S(1), apiVersion: S(2), name: S(3), uid: S(4) }),
      expirationSeconds: I64(4),
    }),
  },
  read: { metadata: MSG(1, META_READ), status: MSG(3, { expirationTimestamp: TIME(2) }) },
};

/**
 * The request field that sends `type` in protobuf as a kubelet's client does, or nothing with
 * `--kube-api-content-type application/json` (`protobuf` false).
 */
export function protoOf(protobuf: boolean, type: ProtoType): { proto?: ProtoType } {
  return protobuf ? { proto: type } : {};
}
