import type { Field, ProtoType, Schema } from "./protobuf-schema.ts";

/*
 * A core/v1 Pod as the kubelet's pod watch and its pod reads deliver it, in protobuf: the read
 * schema holds every Pod field engine code reads, and nothing else (the rest of a pod, often most
 * of its bytes, is skipped unread). Field numbers are those of k8s.io/api core/v1 and
 * apimachinery meta/v1 generated.proto (v0.36); `omitEmpty` and `inline` follow the JSON tags of
 * core/v1 types.go, so a decoded pod is the JSON answer's, field for field (protobuf-pod.test.ts).
 *
 * How the list was derived: the engine reads a pod as it arrives in onPod and adopt
 * (pod-lifecycle.ts: uid, nodeName, deletionTimestamp, generation, status phase/podIP/startTime,
 * hostNetwork), in slimPod and what it calls (pod-object.ts; commandOutcome, probeGate, stopModel:
 * image, command, args, probe timings, preStop exec, restartPolicy, imagePullPolicy, resources,
 * volumeMounts; the Job owner; the kubemark-cluster.io/ annotations, sandboxLatencyMs's too), in
 * referencedObjects and tokenRequests (ConfigMap and Secret volumes, projections, env and envFrom,
 * imagePullSecrets, service-account tokens), podClaims (csi/volume-decisions.ts: PVC and generic
 * ephemeral volumes, volumeMounts and volumeDevices), the Watcher (resourceVersion, annotations),
 * and the status manager's GET before each status PATCH (status-manager.ts: the uid, and the
 * status compared field by field with the one the engine writes, renderPodStatus in
 * pod-status.ts). Everything else of the engine reads the slim pod. Not read, so not here: labels,
 * ports, probe handlers (no IntOrString port is read), resizePolicy, env values, inline CSI,
 * emptyDir and other volume sources, status fields the engine never writes.
 */

const S = (n: number): Field => ({ n, t: "string" });
/** A string JSON leaves out when empty (not a pointer, omitempty). */
const S0 = (n: number): Field => ({ n, t: "string", omitEmpty: true });
const I32 = (n: number): Field => ({ n, t: "int32" });
const I32_0 = (n: number): Field => ({ n, t: "int32", omitEmpty: true });
const I64 = (n: number): Field => ({ n, t: "int64" });
const I64_0 = (n: number): Field => ({ n, t: "int64", omitEmpty: true });
const B = (n: number): Field => ({ n, t: "bool" });
const B0 = (n: number): Field => ({ n, t: "bool", omitEmpty: true });
const TIME = (n: number): Field => ({ n, t: "time" });
const MSG = (n: number, t: Schema): Field => ({ n, t });
const INLINE = (n: number, t: Schema): Field => ({ n, t, inline: true });
const LIST = (n: number, t: Field["t"]): Field => ({ n, t, list: true });
const MAP = (n: number, t: Field["t"]): Field => ({ n, t, map: true });

/** A ConfigMap or Secret reference whose LocalObjectReference (field 1) JSON writes inline. */
const NAMED: Schema = { localObjectReference: INLINE(1, { name: S0(1) }) };

/** ResourceRequirements' requests and limits. */
const RESOURCES: Schema = { limits: MAP(1, "quantity"), requests: MAP(2, "quantity") };

/** The probe fields that time it (probes.ts); its handler is not read. */
const PROBE: Schema = {
  initialDelaySeconds: I32_0(2),
  periodSeconds: I32_0(4),
  successThreshold: I32_0(5),
  failureThreshold: I32_0(6),
};

const CONTAINER: Schema = {
  name: S(1),
  image: S0(2),
  command: LIST(3, "string"),
  args: LIST(4, "string"),
  env: LIST(7, { valueFrom: MSG(3, { configMapKeyRef: MSG(3, NAMED), secretKeyRef: MSG(4, NAMED) }) }),
  resources: MSG(8, RESOURCES),
  volumeMounts: LIST(9, { name: S(1), readOnly: B0(2), mountPath: S(3) }),
  livenessProbe: MSG(10, PROBE),
  readinessProbe: MSG(11, PROBE),
  lifecycle: MSG(12, { preStop: MSG(2, { exec: MSG(1, { command: LIST(1, "string") }) }) }),
  imagePullPolicy: S0(14),
  envFrom: LIST(19, { configMapRef: MSG(2, NAMED), secretRef: MSG(3, NAMED) }),
  volumeDevices: LIST(21, { name: S(1) }),
  startupProbe: MSG(22, PROBE),
  restartPolicy: S(24),
};

const VOLUME: Schema = {
  name: S(1),
  volumeSource: INLINE(2, {
    secret: MSG(6, { secretName: S0(1) }),
    persistentVolumeClaim: MSG(10, { claimName: S(1), readOnly: B0(2) }),
    configMap: MSG(19, NAMED),
    projected: MSG(26, {
      sources: LIST(1, {
        secret: MSG(1, NAMED),
        configMap: MSG(3, NAMED),
        serviceAccountToken: MSG(4, { audience: S0(1), expirationSeconds: I64(2), path: S(3) }),
      }),
    }),
    // Only whether there is one: its claim is `<pod>-<volume>`.
    ephemeral: MSG(29, {}),
  }),
};

const CONTAINER_STATE: Schema = {
  waiting: MSG(1, { reason: S0(1), message: S0(2) }),
  running: MSG(2, { startedAt: TIME(1) }),
  terminated: MSG(3, {
    exitCode: I32(1),
    reason: S0(3),
    startedAt: TIME(5),
    finishedAt: TIME(6),
    containerID: S0(7),
  }),
};

const CONTAINER_STATUS: Schema = {
  name: S(1),
  state: MSG(2, CONTAINER_STATE),
  lastState: MSG(3, CONTAINER_STATE),
  ready: B(4),
  restartCount: I32(5),
  image: S(6),
  imageID: S(7),
  containerID: S0(8),
  started: B(9),
  allocatedResources: MAP(10, "quantity"),
  resources: MSG(11, RESOURCES),
  volumeMounts: LIST(12, { name: S(1), mountPath: S(2), readOnly: B0(3), recursiveReadOnly: S(4) }),
};

/** A core/v1 Pod; the engine never writes one in protobuf (status PATCH bodies are JSON). */
export const POD: ProtoType = {
  apiVersion: "v1",
  kind: "Pod",
  write: {},
  read: {
    metadata: MSG(1, {
      name: S0(1),
      namespace: S0(3),
      uid: S0(5),
      resourceVersion: S0(6),
      generation: I64_0(7),
      deletionTimestamp: TIME(9),
      deletionGracePeriodSeconds: I64(10),
      annotations: MAP(12, "string"),
      ownerReferences: LIST(13, { kind: S(1), name: S(3), controller: B(6) }),
    }),
    spec: MSG(2, {
      volumes: LIST(1, VOLUME),
      containers: LIST(2, CONTAINER),
      restartPolicy: S0(3),
      terminationGracePeriodSeconds: I64(4),
      serviceAccountName: S0(8),
      nodeName: S0(10),
      hostNetwork: B0(11),
      imagePullSecrets: LIST(15, { name: S0(1) }),
      initContainers: LIST(20, CONTAINER),
    }),
    status: MSG(3, {
      phase: S0(1),
      conditions: LIST(2, {
        type: S(1),
        status: S(2),
        lastProbeTime: TIME(3),
        lastTransitionTime: TIME(4),
        reason: S0(5),
        message: S0(6),
        observedGeneration: I64_0(7),
      }),
      hostIP: S0(5),
      podIP: S0(6),
      startTime: TIME(7),
      containerStatuses: LIST(8, CONTAINER_STATUS),
      qosClass: S0(9),
      initContainerStatuses: LIST(10, CONTAINER_STATUS),
      podIPs: LIST(12, { ip: S(1) }),
      hostIPs: LIST(16, { ip: S(1) }),
      observedGeneration: I64_0(17),
      allocatedResources: MAP(19, "quantity"),
      resources: MSG(20, RESOURCES),
    }),
  },
};
