/*
 * What status a hollow kubelet gives a pod, as pure functions of the pod, its stage and the time.
 * Shapes follow what a kubelet writes (a kubelet's pod status manager).
 */
import { RUNTIME_NAME } from "./node-object.ts";

/** The parts of a Pod the engine reads (JSON as the API server sends it). */
export interface PodObject {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec: {
    nodeName?: string;
    hostNetwork?: boolean;
    restartPolicy?: string;
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
  restartPolicy?: string;
  env?: { valueFrom?: { configMapKeyRef?: { name: string }; secretKeyRef?: { name: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
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

/** Where a hollow pod is in its life. */
export type PodStage = "creating" | "initializing" | "running" | "succeeded" | "terminated";

/** Annotation that makes any pod finish successfully after that many seconds. */
export const RUN_SECONDS_ANNOTATION = "kubemark-cluster.io/run-seconds";

/** Facts about the pod's run, fixed when it starts. */
export interface PodRun {
  readonly hostIP: string;
  readonly podIP: string;
  /** When the pod was first seen (startTime, init containers' start). */
  readonly startedAt: string;
  /** When the main containers started. */
  readonly runningAt: string;
  /** When containers finished (succeeded/terminated stages). */
  readonly finishedAt?: string;
}

/**
 * How long the pod runs before it completes on its own, in ms: Job pods for `jobRunMs`, pods with
 * the run-seconds annotation for that long; undefined = runs until deleted (as on kubemark).
 */
export function runDurationMs(pod: PodObject, jobRunMs: number): number | undefined {
  const annotated = pod.metadata.annotations?.[RUN_SECONDS_ANNOTATION];
  if (annotated !== undefined) {
    const s = Number(annotated);
    if (Number.isFinite(s) && s >= 0) return s * 1000;
  }
  if (pod.metadata.ownerReferences?.some((o) => o.kind === "Job")) return jobRunMs;
  return undefined;
}

/** Image reference as a container runtime reports it (`nginx` becomes `docker.io/library/nginx:latest`). */
export function normalizeImage(image: string | undefined): string {
  if (!image) return "";
  let ref = image;
  const slash = ref.indexOf("/");
  const first = slash < 0 ? "" : ref.slice(0, slash);
  if (slash < 0) ref = `docker.io/library/${ref}`;
  else if (!first.includes(".") && !first.includes(":") && first !== "localhost") ref = `docker.io/${ref}`;
  const lastPart = ref.slice(ref.lastIndexOf("/") + 1);
  if (!lastPart.includes(":") && !lastPart.includes("@")) ref = `${ref}:latest`;
  return ref;
}

/** A stable fake container id (64 hex digits) for a container of a pod. */
export function containerId(podUid: string, container: string): string {
  // FNV-1a over the inputs, widened to 64 hex characters: unique enough, cheap, deterministic.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const s = `${podUid}/${container}`;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  const part = (n: number): string => n.toString(16).padStart(8, "0");
  return `${RUNTIME_NAME}://${part(h1)}${part(h2)}${part((h1 ^ h2) >>> 0)}${part(Math.imul(h1, 31) >>> 0)}`.padEnd(
    73,
    "0",
  );
}

interface Condition {
  type: string;
  status: "True" | "False";
  reason?: string;
  message?: string;
  lastProbeTime: null;
  lastTransitionTime: string;
  observedGeneration?: number;
}

function condition(
  type: string,
  ok: boolean,
  at: string,
  generation: number | undefined,
  reason?: string,
  message?: string,
): Condition {
  return {
    type,
    status: ok ? "True" : "False",
    ...(reason && !ok ? { reason } : {}),
    ...(message && !ok ? { message } : {}),
    lastProbeTime: null,
    lastTransitionTime: at,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

/** Init containers that run to completion (sidecars, restartPolicy Always, keep running). */
function isSidecar(c: ContainerSpec): boolean {
  return c.restartPolicy === "Always";
}

/**
 * The pod status for a stage. `creating` is the kubelet's first report while it sets up the pod
 * sandbox (Pending, containers waiting in ContainerCreating or PodInitializing, no pod IP yet);
 * `initializing` shows the first init container running; `running`
 * has every init container Completed and every container running and ready; `succeeded` and
 * `terminated` have every container terminated with exit code 0 (phase Succeeded).
 */
export function renderPodStatus(pod: PodObject, stage: PodStage, run: PodRun): Record<string, unknown> {
  const gen = pod.metadata.generation;
  const inits = pod.spec.initContainers ?? [];
  const done = stage === "succeeded" || stage === "terminated";
  const creating = stage === "creating";
  const initialized = stage !== "initializing" && !(creating && inits.length > 0);
  const ready = stage === "running";
  const finishedAt = run.finishedAt ?? run.runningAt;
  const notInit = inits.filter((c) => !isSidecar(c)).map((c) => c.name);
  const notReady = pod.spec.containers.map((c) => c.name);
  const conditions: Condition[] = [
    condition("PodReadyToStartContainers", !done && !creating, done ? finishedAt : run.startedAt, gen),
    condition(
      "Initialized",
      initialized,
      initialized ? run.runningAt : run.startedAt,
      gen,
      "ContainersNotInitialized",
      `containers with incomplete status: [${notInit.join(" ")}]`,
    ),
    condition(
      "Ready",
      ready,
      ready ? run.runningAt : done ? finishedAt : run.startedAt,
      gen,
      done ? "PodCompleted" : "ContainersNotReady",
      done ? undefined : `containers with unready status: [${notReady.join(" ")}]`,
    ),
    condition(
      "ContainersReady",
      ready,
      ready ? run.runningAt : done ? finishedAt : run.startedAt,
      gen,
      done ? "PodCompleted" : "ContainersNotReady",
      done ? undefined : `containers with unready status: [${notReady.join(" ")}]`,
    ),
    condition("PodScheduled", true, run.startedAt, gen),
  ];
  const status = (c: ContainerSpec, state: Record<string, unknown>, isReady: boolean, started: boolean) => ({
    name: c.name,
    state,
    lastState: {},
    ready: isReady,
    started,
    restartCount: 0,
    image: normalizeImage(c.image),
    imageID: normalizeImage(c.image),
    containerID: containerId(pod.metadata.uid, c.name),
  });
  const completed = (from: string, to: string): Record<string, unknown> => ({
    terminated: { exitCode: 0, reason: "Completed", startedAt: from, finishedAt: to },
  });
  let initFirstPending = stage === "initializing";
  const initContainerStatuses = inits.map((c) => {
    if (creating) return status(c, { waiting: { reason: "PodInitializing" } }, false, false);
    if (stage === "initializing") {
      if (initFirstPending) {
        initFirstPending = false;
        return status(c, { running: { startedAt: run.startedAt } }, false, true);
      }
      return status(c, { waiting: { reason: "PodInitializing" } }, false, false);
    }
    if (isSidecar(c)) {
      return done
        ? status(c, completed(run.startedAt, finishedAt), false, false)
        : status(c, { running: { startedAt: run.startedAt } }, true, true);
    }
    return status(c, completed(run.startedAt, run.runningAt), false, false);
  });
  const containerStatuses = pod.spec.containers.map((c) => {
    if (creating) {
      const reason = inits.length > 0 ? "PodInitializing" : "ContainerCreating";
      return status(c, { waiting: { reason } }, false, false);
    }
    if (stage === "initializing") return status(c, { waiting: { reason: "PodInitializing" } }, false, false);
    if (done) return status(c, completed(run.runningAt, finishedAt), false, false);
    return status(c, { running: { startedAt: run.runningAt } }, true, true);
  });
  return {
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    phase: stage === "initializing" || creating ? "Pending" : done ? "Succeeded" : "Running",
    conditions,
    hostIP: run.hostIP,
    hostIPs: [{ ip: run.hostIP }],
    // The sandbox, and with it the pod IP, exists once the kubelet is past `creating`.
    ...(creating ? {} : { podIP: run.podIP, podIPs: [{ ip: run.podIP }] }),
    startTime: run.startedAt,
    ...(inits.length > 0 ? { initContainerStatuses } : {}),
    containerStatuses,
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

function slimContainer(c: ContainerSpec): ContainerSpec {
  return {
    name: intern(c.name),
    ...(c.image !== undefined ? { image: intern(c.image) } : {}),
    ...(c.restartPolicy !== undefined ? { restartPolicy: intern(c.restartPolicy) } : {}),
  };
}

/**
 * The part of a pod the engine keeps while it runs it: what its status, its TokenRequests, its run
 * time and the kubelet endpoint need, with the pod's status and everything else left out. A pod
 * as the API server sends it is several kilobytes once parsed; this is a few hundred bytes.
 */
export function slimPod(pod: PodObject): PodObject {
  const m = pod.metadata;
  const run = m.annotations?.[RUN_SECONDS_ANNOTATION];
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
      ...(run !== undefined ? { annotations: { [RUN_SECONDS_ANNOTATION]: run } } : {}),
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
      ...(s.serviceAccountName !== undefined ? { serviceAccountName: intern(s.serviceAccountName) } : {}),
      containers: s.containers.map(slimContainer),
      ...(s.initContainers && s.initContainers.length > 0
        ? { initContainers: s.initContainers.map(slimContainer) }
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
