/*
 * The parts of a Pod the engine reads, and the slim copy of it the engine keeps while it runs it
 * (plus what the pod references: ConfigMaps, Secrets, service-account tokens).
 */
import {
  PROBE_FAIL_AFTER_ANNOTATION,
  PROBE_FLAP_PERIOD_ANNOTATION,
  NO_GATE,
  probeGate,
  type FailingProbeTiming,
  type ProbeGate,
  type ProbeTiming,
} from "./probes.ts";
import { commandOutcome, type RunOutcome } from "./container-run.ts";
import { STOPS_PROMPTLY, stopModel, type StopModel } from "./container-stop.ts";

/**
 * The prefix of the pod annotations the engine's models read (run time, exit code, stop time,
 * probe failures, init failures, ...): {@link slimPod} keeps every annotation under it, so a new
 * per-pod model knob needs no change here.
 */
export const MODEL_ANNOTATION_PREFIX = "kubemark-cluster.io/";

/** The timing fields of a probe that its failure model reads. */
function probeTiming(p: FailingProbeTiming | undefined): FailingProbeTiming | undefined {
  if (!p) return undefined;
  const { initialDelaySeconds, periodSeconds, failureThreshold } = p;
  return {
    ...(initialDelaySeconds !== undefined ? { initialDelaySeconds } : {}),
    ...(periodSeconds !== undefined ? { periodSeconds } : {}),
    ...(failureThreshold !== undefined ? { failureThreshold } : {}),
  };
}

/** The parts of a Pod the engine reads (JSON as the API server sends it). */
export interface PodObject {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec: {
    nodeName?: string;
    hostNetwork?: boolean;
    restartPolicy?: string;
    terminationGracePeriodSeconds?: number;
    serviceAccountName?: string;
    containers: ContainerSpec[];
    initContainers?: ContainerSpec[];
    volumes?: VolumeSpec[];
    imagePullSecrets?: { name: string }[];
  };
  status?: { phase?: string; podIP?: string; startTime?: string };
}

/** A container of a pod spec (the fields the engine reads). */
export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  /** What the image and command tell of the run ({@link commandOutcome}), kept by {@link slimPod}. */
  run?: RunOutcome;
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
  resources?: ContainerResources;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  /** How it stops when killed ({@link stopModel}), kept by {@link slimPod}. */
  stop?: StopModel;
  startupProbe?: ProbeTiming;
  readinessProbe?: FailingProbeTiming;
  livenessProbe?: FailingProbeTiming;
  /** When the probes let the kubelet report it started and ready ({@link probeGate}), kept by {@link slimPod}. */
  gate?: ProbeGate;
  restartPolicy?: string;
  /** Kept only when `Always` (the kubelet then pulls the image at each start). */
  imagePullPolicy?: string;
  env?: { valueFrom?: { configMapKeyRef?: { name: string }; secretKeyRef?: { name: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
}

/** A container's requests and limits (quantities as the API spells them). */
export interface ContainerResources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

/** A volume of a pod spec (the fields the engine reads). */
export interface VolumeSpec {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  projected?: {
    sources?: {
      configMap?: { name: string };
      secret?: { name: string };
      serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
    }[];
  };
}

/** The ConfigMaps and Secrets a pod references (the kubelet watches each of them). */
export function referencedObjects(pod: PodObject): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const v of pod.spec.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) configMaps.add(s.configMap.name);
      if (s.secret?.name) secrets.add(s.secret.name);
    }
  }
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    }
    for (const e of c.envFrom ?? []) {
      if (e.configMapRef?.name) configMaps.add(e.configMapRef.name);
      if (e.secretRef?.name) secrets.add(e.secretRef.name);
    }
  }
  for (const s of pod.spec.imagePullSecrets ?? []) secrets.add(s.name);
  return { configMaps, secrets };
}

const interned = new Map<string, string>();

/**
 * One shared copy of a string that recurs across pods (namespaces, container names, images):
 * every watch event parses fresh copies. Bounded, so a stream of unique values cannot grow it.
 */
export function intern(s: string): string {
  const have = interned.get(s);
  if (have !== undefined) return have;
  if (interned.size < 10_000) interned.set(s, s);
  return s;
}

/** Requests and limits with their (recurring) names and quantities shared. */
function slimResources(r: ContainerResources): ContainerResources {
  const map = (m: Record<string, string>): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) out[intern(k)] = intern(v);
    return out;
  };
  return {
    ...(r.requests ? { requests: map(r.requests) } : {}),
    ...(r.limits ? { limits: map(r.limits) } : {}),
  };
}

/** A key of a container's resources, to tell a resize (an in-place change of them). */
export function resourcesKey(pod: PodObject): string {
  return pod.spec.containers.map((c) => JSON.stringify(c.resources ?? {})).join("|");
}

function slimContainer(c: ContainerSpec, keepProbes = false): ContainerSpec {
  // The command is read once, here: the slim pod keeps what it tells of the run (shared objects).
  const run = c.run ?? commandOutcome(c);
  const gate = c.gate ?? probeGate(c);
  const stop = c.stop ?? stopModel(c);
  return {
    name: intern(c.name),
    ...(c.image !== undefined ? { image: intern(c.image) } : {}),
    ...(c.restartPolicy !== undefined ? { restartPolicy: intern(c.restartPolicy) } : {}),
    ...(c.imagePullPolicy === "Always" ? { imagePullPolicy: "Always" } : {}),
    ...(run !== undefined ? { run } : {}),
    ...(gate !== NO_GATE ? { gate } : {}),
    ...(stop !== STOPS_PROMPTLY ? { stop } : {}),
    ...(c.resources && (c.resources.requests || c.resources.limits)
      ? { resources: slimResources(c.resources) }
      : {}),
    ...(c.volumeMounts && c.volumeMounts.length > 0
      ? {
          volumeMounts: c.volumeMounts.map((m) => ({
            name: m.name,
            mountPath: intern(m.mountPath),
            ...(m.readOnly ? { readOnly: true } : {}),
          })),
        }
      : {}),
    // Only a pod whose probes are made to fail needs their timing later.
    ...(keepProbes && c.readinessProbe ? { readinessProbe: probeTiming(c.readinessProbe)! } : {}),
    ...(keepProbes && c.livenessProbe ? { livenessProbe: probeTiming(c.livenessProbe)! } : {}),
  };
}

/**
 * The part of a pod the engine keeps while it runs it: what its status, its TokenRequests, its run
 * time and the kubelet endpoint need, with the pod's status and everything else left out. A pod
 * as the API server sends it is several kilobytes once parsed; this is a few hundred bytes.
 */
export function slimPod(pod: PodObject): PodObject {
  const m = pod.metadata;
  const kept: Record<string, string> = {};
  for (const key in m.annotations) {
    if (key.startsWith(MODEL_ANNOTATION_PREFIX)) kept[key] = m.annotations[key]!;
  }
  const jobs = m.ownerReferences?.filter((o) => o.kind === "Job");
  const tokenVolumes: VolumeSpec[] = [];
  for (const v of pod.spec.volumes ?? []) {
    const sources = v.projected?.sources?.filter((s) => s.serviceAccountToken);
    if (sources && sources.length > 0) {
      tokenVolumes.push({
        name: intern(v.name),
        projected: {
          sources: sources.map((s) => ({
            serviceAccountToken: {
              ...(s.serviceAccountToken!.audience !== undefined
                ? { audience: intern(s.serviceAccountToken!.audience) }
                : {}),
              ...(s.serviceAccountToken!.expirationSeconds !== undefined
                ? { expirationSeconds: s.serviceAccountToken!.expirationSeconds }
                : {}),
              path: intern(s.serviceAccountToken!.path),
            },
          })),
        },
      });
    }
  }
  const s = pod.spec;
  return {
    metadata: {
      name: m.name,
      namespace: intern(m.namespace),
      uid: m.uid,
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(m.deletionTimestamp !== undefined ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(m.deletionGracePeriodSeconds !== undefined
        ? { deletionGracePeriodSeconds: m.deletionGracePeriodSeconds }
        : {}),
      ...(Object.keys(kept).length > 0 ? { annotations: kept } : {}),
      ...(jobs && jobs.length > 0
        ? {
            ownerReferences: jobs.map((o) => ({
              kind: o.kind,
              name: o.name,
              controller: o.controller === true,
            })),
          }
        : {}),
    },
    spec: {
      ...(s.nodeName !== undefined ? { nodeName: intern(s.nodeName) } : {}),
      ...(s.hostNetwork ? { hostNetwork: true } : {}),
      ...(s.restartPolicy !== undefined ? { restartPolicy: intern(s.restartPolicy) } : {}),
      ...(s.terminationGracePeriodSeconds !== undefined
        ? { terminationGracePeriodSeconds: s.terminationGracePeriodSeconds }
        : {}),
      ...(s.serviceAccountName !== undefined ? { serviceAccountName: intern(s.serviceAccountName) } : {}),
      containers: s.containers.map((c) =>
        slimContainer(
          c,
          kept[PROBE_FAIL_AFTER_ANNOTATION] !== undefined || kept[PROBE_FLAP_PERIOD_ANNOTATION] !== undefined,
        ),
      ),
      ...(s.initContainers && s.initContainers.length > 0
        ? { initContainers: s.initContainers.map((c) => slimContainer(c)) }
        : {}),
      ...(tokenVolumes.length > 0 ? { volumes: tokenVolumes } : {}),
    },
  };
}

/** Projected service-account tokens the kubelet requests for a pod (one TokenRequest each). */
export function tokenRequests(pod: PodObject): { audience: string | undefined; expirationSeconds: number }[] {
  const out: { audience: string | undefined; expirationSeconds: number }[] = [];
  for (const v of pod.spec.volumes ?? []) {
    for (const s of v.projected?.sources ?? []) {
      if (s.serviceAccountToken) {
        out.push({
          audience: s.serviceAccountToken.audience,
          expirationSeconds: s.serviceAccountToken.expirationSeconds ?? 3600,
        });
      }
    }
  }
  return out;
}
