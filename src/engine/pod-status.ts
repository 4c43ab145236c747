/*
 * What status a hollow kubelet gives a pod, as pure functions of the pod, its stage and the time.
 * Shapes follow what a kubelet writes (a kubelet's pod status manager).
 */
import { RUNTIME_NAME } from "./node-object.ts";
import {
  NO_GATE,
  PROBE_FAIL_AFTER_ANNOTATION,
  PROBE_FLAP_PERIOD_ANNOTATION,
  probeGate,
  type FailingProbeTiming,
  type ProbeGate,
  type ProbeTiming,
} from "./probes.ts";
import {
  EXIT_CODE_ANNOTATION,
  INIT_FAILURES_ANNOTATION,
  RUN_SECONDS_ANNOTATION,
  STOPS_PROMPTLY,
  STOP_SECONDS_ANNOTATION,
  commandOutcome,
  podOutcome,
  stopModel,
  type RunOutcome,
  type StopModel,
} from "./container-run.ts";

export { RUN_SECONDS_ANNOTATION };

/** The pod annotations the run model reads (kept by {@link slimPod}). */
const RUN_ANNOTATIONS = [
  RUN_SECONDS_ANNOTATION,
  EXIT_CODE_ANNOTATION,
  STOP_SECONDS_ANNOTATION,
  PROBE_FAIL_AFTER_ANNOTATION,
  PROBE_FLAP_PERIOD_ANNOTATION,
  INIT_FAILURES_ANNOTATION,
] as const;

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

/**
 * Where a hollow pod is in its life: `backoff` is between runs of containers that exited and are
 * restarted (CrashLoopBackOff); `succeeded` and `failed` are its ends after the containers exit;
 * `terminated` is the end of a deleted pod.
 */
export type PodStage =
  "creating" | "initializing" | "running" | "backoff" | "succeeded" | "failed" | "terminated";

/** Facts about the pod's run, fixed when it starts. */
export interface PodRun {
  readonly hostIP: string;
  readonly podIP: string;
  /** When the pod was first seen (startTime, init containers' start). */
  readonly startedAt: string;
  /** When the main containers started. */
  readonly runningAt: string;
  /** When containers finished (succeeded/failed/terminated stages). */
  readonly finishedAt?: string;
  /** The exit code of the finished containers (succeeded/failed; default 0). */
  readonly exitCode?: number;
  /** How often the containers were restarted. */
  readonly restarts?: number;
  /** The containers' previous run, once they were restarted or are waiting to be. */
  readonly lastRun?: { readonly exitCode: number; readonly startedAt: string; readonly finishedAt: string };
  /** While in `backoff`: how long the kubelet waits before it restarts them (ms). */
  readonly backoffMs?: number;
  /** Running, but the startup probe has not passed yet (`started: false`). */
  readonly notStarted?: boolean;
  /** Running, but the readiness probe has not passed yet (`ready: false`). */
  readonly unready?: boolean;
  /** While initializing (or failed in init): the init container that runs or failed (default 0). */
  readonly initIndex?: number;
  /** That init container's restarts and previous run. */
  readonly initRestarts?: number;
  readonly initLastRun?: {
    readonly exitCode: number;
    readonly startedAt: string;
    readonly finishedAt: string;
  };
  /** When the current init container's latest run started (after a restart). */
  readonly initRunningAt?: string;
  /** The pod failed in its init containers (restartPolicy Never): they never completed. */
  readonly initFailed?: boolean;
  /** When the readiness probe last changed the containers' readiness (default: when they started running). */
  readonly readyAt?: string;
}

/**
 * How long the pod runs before its containers exit on their own, in ms ({@link podOutcome}: the
 * annotation, then what the image and command tell, then Job pods for `jobRunMs`); undefined =
 * runs until deleted.
 */
export function runDurationMs(pod: PodObject, jobRunMs: number): number | undefined {
  return podOutcome(pod, { jobRunMs }).afterMs ?? undefined;
}

/** A Go duration as the kubelet prints it in messages (`10s`, `1m20s`, `5m0s`). */
function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
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
 * has every init container Completed and every container running and ready; `backoff` has the
 * containers waiting in CrashLoopBackOff after their last run; `succeeded`, `failed` and
 * `terminated` have every container terminated (phase Succeeded, or Failed with the exit code).
 * Restarted containers carry their restart count and their previous run as `lastState`.
 */
export function renderPodStatus(pod: PodObject, stage: PodStage, run: PodRun): Record<string, unknown> {
  const gen = pod.metadata.generation;
  const inits = pod.spec.initContainers ?? [];
  const done = stage === "succeeded" || stage === "failed" || stage === "terminated";
  const backoff = stage === "backoff";
  const creating = stage === "creating";
  const initialized = stage !== "initializing" && !run.initFailed && !(creating && inits.length > 0);
  const ready = stage === "running" && !run.unready;
  const finishedAt = run.finishedAt ?? run.runningAt;
  const notInit = inits.filter((c) => !isSidecar(c)).map((c) => c.name);
  const notReady = pod.spec.containers.map((c) => c.name);
  // When the containers stopped being ready: the end of their run (done, or waiting to restart),
  // or their start while the probes have not passed.
  const unreadySince = done
    ? finishedAt
    : backoff && run.lastRun
      ? run.lastRun.finishedAt
      : stage === "running"
        ? (run.readyAt ?? run.runningAt)
        : run.startedAt;
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
      ready ? (run.readyAt ?? run.runningAt) : unreadySince,
      gen,
      done ? "PodCompleted" : "ContainersNotReady",
      done ? undefined : `containers with unready status: [${notReady.join(" ")}]`,
    ),
    condition(
      "ContainersReady",
      ready,
      ready ? (run.readyAt ?? run.runningAt) : unreadySince,
      gen,
      done ? "PodCompleted" : "ContainersNotReady",
      done ? undefined : `containers with unready status: [${notReady.join(" ")}]`,
    ),
    condition("PodScheduled", true, run.startedAt, gen),
  ];
  const terminated = (code: number, from: string, to: string): Record<string, unknown> => ({
    terminated: {
      exitCode: code,
      reason: code === 0 ? "Completed" : "Error",
      startedAt: from,
      finishedAt: to,
    },
  });
  const last = run.lastRun;
  /** Restarts of a container: the main ones', or the current init container's. */
  type Restarts = { count: number; last: PodRun["lastRun"] };
  const mainRestarts: Restarts = { count: run.restarts ?? 0, last };
  const initRestarts: Restarts = { count: run.initRestarts ?? 0, last: run.initLastRun };
  const status = (
    c: ContainerSpec,
    state: Record<string, unknown>,
    isReady: boolean,
    started: boolean,
    main: boolean | Restarts = false,
  ) => {
    const r = main === true ? mainRestarts : main === false ? undefined : main;
    return {
      name: c.name,
      state,
      lastState: r?.last ? terminated(r.last.exitCode, r.last.startedAt, r.last.finishedAt) : {},
      ready: isReady,
      started,
      restartCount: r?.count ?? 0,
      image: normalizeImage(c.image),
      imageID: normalizeImage(c.image),
      containerID: containerId(pod.metadata.uid, c.name),
      // A created container reports the resources it runs with (the kubelet's in-place resize
      // status: the spec's, as a resize is applied at once), and what the node allocated to it.
      ...("running" in state || "terminated" in state
        ? {
            resources: c.resources ?? {},
            ...(c.resources?.requests ? { allocatedResources: c.resources.requests } : {}),
          }
        : {}),
      ...(c.volumeMounts
        ? {
            volumeMounts: c.volumeMounts.map((m) => ({
              name: m.name,
              mountPath: m.mountPath,
              ...(m.readOnly ? { readOnly: true } : {}),
              recursiveReadOnly: "Disabled",
            })),
          }
        : {}),
    };
  };
  const completed = (from: string, to: string): Record<string, unknown> => terminated(0, from, to);
  const current = run.initIndex ?? 0;
  const initContainerStatuses = inits.map((c, i) => {
    if (creating) return status(c, { waiting: { reason: "PodInitializing" } }, false, false);
    if (stage === "initializing" || run.initFailed) {
      if (i < current) return status(c, completed(run.startedAt, run.startedAt), false, false);
      if (i > current) return status(c, { waiting: { reason: "PodInitializing" } }, false, false);
      if (run.initFailed) {
        const to = finishedAt;
        return status(
          c,
          terminated(run.exitCode ?? 1, run.initLastRun?.finishedAt ?? run.startedAt, to),
          false,
          false,
          initRestarts,
        );
      }
      if (run.backoffMs !== undefined) {
        const message = `back-off ${goDuration(run.backoffMs)} restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
        return status(c, { waiting: { reason: "CrashLoopBackOff", message } }, false, false, initRestarts);
      }
      const since =
        run.initLastRun && (run.initRestarts ?? 0) > 0 ? (run.initRunningAt ?? run.startedAt) : run.startedAt;
      return status(c, { running: { startedAt: since } }, false, true, initRestarts);
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
    if (stage === "initializing" || run.initFailed)
      return status(c, { waiting: { reason: "PodInitializing" } }, false, false);
    if (backoff) {
      const message = `back-off ${goDuration(run.backoffMs ?? 0)} restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
      return status(c, { waiting: { reason: "CrashLoopBackOff", message } }, false, false, true);
    }
    const code = run.exitCode ?? 0;
    if (done) return status(c, terminated(code, run.runningAt, finishedAt), false, false, true);
    return status(c, { running: { startedAt: run.runningAt } }, ready, !run.notStarted, true);
  });
  return {
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
    phase:
      stage === "initializing" || creating
        ? "Pending"
        : stage === "failed"
          ? "Failed"
          : done
            ? "Succeeded"
            : "Running",
    conditions,
    hostIP: run.hostIP,
    hostIPs: [{ ip: run.hostIP }],
    // The sandbox, and with it the pod IP, exists once the kubelet is past `creating`.
    ...(creating ? {} : { podIP: run.podIP, podIPs: [{ ip: run.podIP }] }),
    startTime: run.startedAt,
    // Pod-level resources (none set: empty, as a kubelet of 1.34 on reports it).
    resources: {},
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
  for (const key of RUN_ANNOTATIONS) {
    const v = m.annotations?.[key];
    if (v !== undefined) kept[key] = v;
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
