/*
 * The log of a hollow container, as the kubelet endpoint serves it. Hollow nodes run no processes,
 * so a container's log is a few honest lines derived from what its node knows (when it started,
 * when init containers completed, when it terminated): pure functions of the pod's state and of
 * the query the API server sends (follow, tailLines, timestamps, limitBytes, sinceSeconds).
 */
import { GONE_STAGE, STAGES, type HostedStage } from "./pod-stage.ts";

/** A container of a pod a hollow node runs. */
export interface HostedContainer {
  readonly name: string;
  /** Image as written in the pod spec. */
  readonly image: string;
  /** An init container with `restartPolicy: Always`: it keeps running beside the main containers. */
  readonly sidecar: boolean;
}

/** What a hollow node knows of one pod it runs (a read-only snapshot). */
export interface HostedPod {
  readonly node: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly containers: readonly HostedContainer[];
  readonly initContainers: readonly HostedContainer[];
  /** "new" until the node has written the pod's first status. */
  readonly stage: HostedStage;
  /** RFC 3339: when the pod started (init containers start then). */
  readonly startedAt: string;
  /** RFC 3339: when the main containers started. */
  readonly runningAt: string;
  /** RFC 3339: when the containers finished (succeeded, failed or terminated stages), if known. */
  readonly finishedAt: string | undefined;
  /** Exit code of the containers' last run (succeeded, failed, back-off), if they exited. */
  readonly exitCode?: number | undefined;
}

/** One line of a container's log. */
export interface LogLine {
  /** RFC 3339. */
  readonly time: string;
  readonly message: string;
}

/** A container's log, or why there is none. */
export type ContainerLog =
  | {
      readonly kind: "lines";
      readonly lines: readonly LogLine[];
      /** The container has exited: nothing more will be written (a follow ends). */
      readonly exited: boolean;
    }
  /** The pod has no such container (HTTP 404). */
  | { readonly kind: "not-found"; readonly message: string }
  /** The container has not started yet (HTTP 400, as the kubelet answers). */
  | { readonly kind: "waiting"; readonly message: string };

const NO_PROCESSES = "kubemark-cluster hollow nodes run no processes";

function startedLine(pod: HostedPod, c: HostedContainer, init: boolean, time: string): LogLine {
  return {
    time,
    message:
      `hollow ${init ? "init container" : "container"} ${c.name} of ${pod.namespace}/${pod.name} ` +
      `started on node ${pod.node} (image ${c.image || "none"}); ${NO_PROCESSES}`,
  };
}

function exitLine(pod: HostedPod, c: HostedContainer, init: boolean): LogLine {
  const stopped = pod.stage === GONE_STAGE;
  const code = stopped || init ? 0 : (pod.exitCode ?? 0);
  const why = stopped ? "stopped: the pod is being deleted" : code === 0 ? "completed" : "failed";
  return {
    time: pod.finishedAt ?? pod.runningAt,
    message: `hollow ${init ? "init container" : "container"} ${c.name} ${why} (exit code ${code})`,
  };
}

/** The log lines container `name` of `pod` has written so far. */
export function containerLog(pod: HostedPod, name: string): ContainerLog {
  // In back-off the last run has exited: its log is what the kubelet serves until the restart.
  const facts = STAGES[pod.stage];
  const done = facts.exited;
  const main = pod.containers.find((c) => c.name === name);
  if (main) {
    const reason = facts.logWaitingReason;
    if (reason !== undefined) {
      return {
        kind: "waiting",
        message: `container "${name}" in pod "${pod.name}" is waiting to start: ${reason}`,
      };
    }
    const lines: LogLine[] = [];
    const inits = pod.initContainers.filter((c) => !c.sidecar).map((c) => c.name);
    if (inits.length > 0) {
      lines.push({
        time: pod.runningAt,
        message: `init containers ${inits.join(", ")} of ${pod.namespace}/${pod.name} completed (exit code 0)`,
      });
    }
    lines.push(startedLine(pod, main, false, pod.runningAt));
    if (done) lines.push(exitLine(pod, main, false));
    return { kind: "lines", lines, exited: done };
  }
  const index = pod.initContainers.findIndex((c) => c.name === name);
  const init = pod.initContainers[index];
  if (!init) return { kind: "not-found", message: `container "${name}" not found in pod "${pod.name}"` };
  // As the pod status shows it: while initializing, the first init container runs and the rest wait.
  if (!facts.sandbox || (facts.initRunning && index > 0)) {
    return {
      kind: "waiting",
      message: `container "${name}" in pod "${pod.name}" is waiting to start: PodInitializing`,
    };
  }
  const lines = [startedLine(pod, init, true, pod.startedAt)];
  if (facts.initRunning) return { kind: "lines", lines, exited: false };
  if (!init.sidecar) {
    lines.push({ time: pod.runningAt, message: `hollow init container ${name} completed (exit code 0)` });
    return { kind: "lines", lines, exited: true };
  }
  if (done) lines.push(exitLine(pod, init, true));
  return { kind: "lines", lines, exited: done };
}

/** The kubelet's container-log query, validated. */
export interface LogQuery {
  readonly follow: boolean;
  /** Only the last n lines (undefined = all). */
  readonly tailLines: number | undefined;
  /** Stop after this many bytes (undefined = no limit). */
  readonly limitBytes: number | undefined;
  /** Prefix every line with its RFC 3339 time. */
  readonly timestamps: boolean;
  /** The previous instance of the container (hollow containers never restart: there is none). */
  readonly previous: boolean;
  /** Only lines at or after this time (epoch ms; from sinceSeconds or sinceTime). */
  readonly sinceMs: number | undefined;
}

/** Parses the query of a `/containerLogs/...` request; `now` resolves sinceSeconds. */
export function parseLogQuery(q: URLSearchParams, now: number): LogQuery | { error: string } {
  const bool = (k: string): boolean => q.get(k) === "true" || q.get(k) === "1";
  const int = (k: string, min: number): number | undefined | { error: string } => {
    const v = q.get(k);
    if (v === null || v === "") return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      return { error: `${k} must be an integer of at least ${min}, got "${v}"` };
    return n;
  };
  const tailLines = int("tailLines", 0);
  const limitBytes = int("limitBytes", 1);
  const sinceSeconds = int("sinceSeconds", 1);
  for (const v of [tailLines, limitBytes, sinceSeconds]) if (typeof v === "object") return v;
  let sinceMs = typeof sinceSeconds === "number" ? now - sinceSeconds * 1000 : undefined;
  const sinceTime = q.get("sinceTime");
  if (sinceTime) {
    const t = Date.parse(sinceTime);
    if (Number.isNaN(t)) return { error: `sinceTime must be an RFC 3339 time, got "${sinceTime}"` };
    sinceMs = t;
  }
  return {
    follow: bool("follow"),
    tailLines: tailLines as number | undefined,
    limitBytes: limitBytes as number | undefined,
    timestamps: bool("timestamps"),
    previous: bool("previous"),
    sinceMs,
  };
}

/** The lines a request starts with: those since `sinceMs`, then the last `tailLines` of them. */
export function selectLines(lines: readonly LogLine[], q: LogQuery): LogLine[] {
  const since = q.sinceMs;
  const recent = since === undefined ? [...lines] : lines.filter((l) => Date.parse(l.time) >= since);
  return q.tailLines === undefined ? recent : recent.slice(Math.max(0, recent.length - q.tailLines));
}

/** Log lines as text: one per line, prefixed with their time when `timestamps` is set. */
export function formatLines(lines: readonly LogLine[], timestamps: boolean): string {
  return lines.map((l) => (timestamps ? `${l.time} ${l.message}\n` : `${l.message}\n`)).join("");
}
