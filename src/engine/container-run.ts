/*
 * How long a hollow container runs and how it exits, and what the kubelet does when it exits:
 * pure functions of the pod spec, its annotations and the fleet's defaults.
 */

/** How a container run ends: after `afterMs` with `exitCode`; `afterMs` null = never on its own. */
export interface RunOutcome {
  readonly afterMs: number | null;
  readonly exitCode: number;
}

/** Runs until stopped (a server, `pause`, `sleep infinity`). */
export const RUNS_FOREVER: RunOutcome = { afterMs: null, exitCode: 0 };

/** Annotation: every container of the pod exits after that many seconds (overrides the model). */
export const RUN_SECONDS_ANNOTATION = "kubemark-cluster.io/run-seconds";
/** Annotation: the exit code the pod's containers exit with (default 0; with the run time it has). */
export const EXIT_CODE_ANNOTATION = "kubemark-cluster.io/exit-code";

/** Shells whose `-c` script the model reads (and which, as PID 1, ignore SIGTERM). */
export const SHELLS = new Set(["sh", "bash", "ash", "dash", "zsh", "busybox"]);
const UNITS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };

/** The last part of a path. */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** `sleep`'s operands (GNU and busybox: `N[smhd]`, summed; `infinity`) in ms, or undefined. */
function sleepMs(operands: readonly string[]): number | null | undefined {
  if (operands.length === 0) return undefined;
  let total = 0;
  for (const op of operands) {
    if (op === "infinity" || op === "inf") return null;
    const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(op);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]! * 1000;
  }
  return total;
}

/** One simple command: the ms it takes (null: forever), its exit code, whether it ends the script. */
type Step = { ms: number | null; exitCode: number; ends?: boolean } | undefined;

function simpleCommand(argv: readonly string[]): Step {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) return { ms: 0, exitCode: 0 };
  switch (basename(cmd)) {
    case "sleep": {
      const ms = sleepMs(rest);
      return ms === undefined ? undefined : { ms, exitCode: 0 };
    }
    case "true":
    case ":":
    case "echo":
    case "date":
    case "env":
    case "hostname":
      return { ms: 0, exitCode: 0 };
    case "false":
      return { ms: 0, exitCode: 1 };
    case "exit": {
      const code = rest.length === 0 ? 0 : Number(rest[0]);
      return Number.isInteger(code) ? { ms: 0, exitCode: code & 255, ends: true } : undefined;
    }
    case "pause":
      return { ms: null, exitCode: 0 };
    default:
      return undefined;
  }
}

/**
 * A shell script of simple commands joined by `;`, `&&` or newlines (no loops, pipes,
 * substitutions or `||`): the sum of its sleeps and the exit code of the last command run;
 * undefined when it does anything else.
 */
function script(text: string): RunOutcome | undefined {
  if (/[|`$()<>{}]|\b(while|for|if|until|case)\b/.test(text)) return undefined;
  // Commands and the separators after them: [cmd, sep, cmd, sep, ..., cmd].
  const parts = text.split(/(;|&&|\n)/);
  let ms = 0;
  let exitCode = 0;
  for (let i = 0; i < parts.length; i += 2) {
    const argv = parts[i]!.trim().split(/\s+/).filter(Boolean);
    if (argv.length === 0) continue;
    const step = simpleCommand(argv);
    if (step === undefined) return undefined;
    if (step.ms === null) return RUNS_FOREVER;
    ms += step.ms;
    exitCode = step.exitCode;
    if (step.ends) break;
    // `a && b`: a failing `a` ends the chain (and, the chain being the whole script, the run).
    if (exitCode !== 0 && parts[i + 1] === "&&") break;
  }
  return { afterMs: ms, exitCode };
}

/** Images whose entrypoint sleeps until it is stopped (the pod sandbox image, used by scale tests' pods). */
function isPauseImage(image: string | undefined): boolean {
  if (!image) return false;
  const name = basename(image.split("@")[0]!).split(":")[0]!;
  return name === "pause";
}

/**
 * What a container's image and command tell of its run, as far as they tell it: `pause` images
 * and `sleep infinity` never exit; `sleep N` (also inside `sh -c`) exits 0 after N s; `true`,
 * `exit 0` at once; `false`, `exit K` fail with 1 or K. Undefined when they do not tell (a server
 * image, a script the model does not read).
 */
export function commandOutcome(c: {
  image?: string | undefined;
  command?: readonly string[] | undefined;
  args?: readonly string[] | undefined;
}): RunOutcome | undefined {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  if (argv.length === 0) return isPauseImage(c.image) ? RUNS_FOREVER : undefined;
  const shell = basename(argv[0]!);
  if (SHELLS.has(shell)) {
    // `sh -c SCRIPT`, also `busybox sh -c SCRIPT`.
    const at = argv.indexOf("-c");
    if (at < 0 || at + 1 >= argv.length) return undefined;
    return script(argv[at + 1]!);
  }
  const step = simpleCommand(argv);
  if (step === undefined) return undefined;
  return step.ms === null ? RUNS_FOREVER : { afterMs: step.ms, exitCode: step.exitCode };
}

/** The fleet's defaults for containers whose spec tells nothing. */
export interface RunDefaults {
  /** How long a Job's pod runs (`--job-run-seconds`); other pods run until deleted. */
  readonly jobRunMs: number;
}

/**
 * How the pod's main containers run, in order of precedence: the pod's annotations (an explicit
 * override: run seconds, exit code), what each container's image and command tell
 * ({@link commandOutcome}), then the fleet default (Job pods exit 0 after `jobRunMs`, other pods
 * run until deleted). The pod ends when its last container ends; a container that never exits
 * keeps the pod running; the exit code is the first container's non-zero code, else 0.
 */
export function podOutcome(pod: RunPod, defaults: RunDefaults): RunOutcome {
  const annotated = annotatedOutcome(pod);
  if (annotated.all) return annotated.all;
  const fallback = fallbackOutcome(pod, defaults, annotated.exitCode);
  let afterMs = 0;
  let exitCode = 0;
  for (const c of pod.spec.containers) {
    const run = c.run ?? commandOutcome(c) ?? fallback;
    if (run.afterMs === null) return RUNS_FOREVER;
    afterMs = Math.max(afterMs, run.afterMs);
    if (exitCode === 0) exitCode = run.exitCode;
  }
  return { afterMs, exitCode };
}

/** What {@link podOutcome} reads of a pod. */
type RunPod = {
  metadata: { annotations?: Record<string, string>; ownerReferences?: { kind: string }[] };
  spec: {
    containers: readonly (Parameters<typeof commandOutcome>[0] & { run?: RunOutcome | undefined })[];
  };
};

/** The annotations' exit code, and the outcome of every container when they set the run time. */
function annotatedOutcome(pod: RunPod): { exitCode: number; all: RunOutcome | undefined } {
  const a = pod.metadata.annotations;
  const annotatedCode = Number(a?.[EXIT_CODE_ANNOTATION] ?? "0");
  const exitCode = Number.isInteger(annotatedCode) ? annotatedCode & 255 : 0;
  const seconds = a?.[RUN_SECONDS_ANNOTATION];
  const s = Number(seconds);
  const all =
    seconds !== undefined && Number.isFinite(s) && s >= 0 ? { afterMs: s * 1000, exitCode } : undefined;
  return { exitCode, all };
}

/** The fleet default for a container whose spec tells nothing: a Job's pods exit, others run. */
function fallbackOutcome(pod: RunPod, defaults: RunDefaults, exitCode: number): RunOutcome {
  const isJob = pod.metadata.ownerReferences?.some((o) => o.kind === "Job") ?? false;
  return isJob ? { afterMs: defaults.jobRunMs, exitCode } : RUNS_FOREVER;
}

/**
 * Each main container's own outcome when a pod's containers do not all run alike (one exits,
 * another serves until deleted): the kubelet then restarts, back-offs and reports each container
 * on its own. Undefined for a single container, when the run-seconds annotation sets one outcome
 * for all, or when every container would run alike: the pod's containers then run together
 * ({@link podOutcome}), which costs no per-container state.
 */
export function containerOutcomes(pod: RunPod, defaults: RunDefaults): RunOutcome[] | undefined {
  if (pod.spec.containers.length < 2) return undefined;
  const annotated = annotatedOutcome(pod);
  if (annotated.all) return undefined;
  const fallback = fallbackOutcome(pod, defaults, annotated.exitCode);
  const outs = pod.spec.containers.map((c) => c.run ?? commandOutcome(c) ?? fallback);
  const first = outs[0]!;
  return outs.every((o) => o.afterMs === first.afterMs && o.exitCode === first.exitCode) ? undefined : outs;
}

/** What the kubelet does when the pod's containers exit with `exitCode` under its restartPolicy. */
export function afterExit(
  restartPolicy: string | undefined,
  exitCode: number,
): "succeed" | "fail" | "restart" {
  const policy = restartPolicy ?? "Always";
  if (policy === "Always") return "restart";
  if (exitCode === 0) return "succeed";
  return policy === "OnFailure" ? "restart" : "fail";
}

/** The kubelet's container restart back-off: 10 s, doubling to 5 min (flowcontrol.Backoff). */
export const BACKOFF = { initialMs: 10_000, maxMs: 300_000 } as const;

/**
 * How long after the `exits`-th exit in a row (1-based) the kubelet restarts the container: the
 * first exit restarts at once (the back-off entry is created then), the second after 10 s, then
 * 20 s, 40 s ... up to 5 min. A run longer than twice the maximum (10 min) starts a new streak, as
 * the kubelet's back-off entry expires.
 */
export function restartDelayMs(exits: number): number {
  if (exits <= 1) return 0;
  return Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** (exits - 2));
}

/** Whether a run that lasted `ranMs` resets the back-off streak (the kubelet's entry expired). */
export function resetsBackoff(ranMs: number): boolean {
  return ranMs > 2 * BACKOFF.maxMs;
}

/** Annotation: the pod's first init container fails that many times, then succeeds. */
export const INIT_FAILURES_ANNOTATION = "kubemark-cluster.io/init-failures";

/** An init container that fails: which (index among all init containers), how often, how. */
export interface InitFailure {
  readonly index: number;
  /** How many runs fail before one succeeds (Infinity: every run). */
  readonly times: number;
  readonly exitCode: number;
  /** How long each failing run takes. */
  readonly runMs: number;
}

/**
 * The init container that fails, if any: the first regular (non-sidecar) init container
 * `init-failures` times by annotation (exit code 1, or the exit-code annotation), else the first
 * whose command exits non-zero, on every run.
 */
export function initFailure(pod: {
  metadata: { annotations?: Record<string, string> };
  spec: {
    initContainers?: readonly (Parameters<typeof commandOutcome>[0] & {
      restartPolicy?: string | undefined;
      run?: RunOutcome | undefined;
    })[];
  };
}): InitFailure | undefined {
  const inits = pod.spec.initContainers ?? [];
  const regular = inits.map((c, index) => ({ c, index })).filter(({ c }) => c.restartPolicy !== "Always");
  const a = pod.metadata.annotations;
  const times = Number(a?.[INIT_FAILURES_ANNOTATION]);
  if (Number.isInteger(times) && times > 0 && regular[0]) {
    const code = Number(a?.[EXIT_CODE_ANNOTATION] ?? "1");
    return {
      index: regular[0].index,
      times,
      exitCode: Number.isInteger(code) && code !== 0 ? code & 255 : 1,
      runMs: 0,
    };
  }
  for (const { c, index } of regular) {
    const run = c.run ?? commandOutcome(c);
    if (run && run.afterMs !== null && run.exitCode !== 0)
      return { index, times: Infinity, exitCode: run.exitCode, runMs: run.afterMs };
  }
  return undefined;
}

/**
 * Annotation: how long the pod's sandbox takes to be ready, from the pod being seen (or its
 * volumes mounted): a duration (`300ms`, `0.3s`, `0` = at once) or a range drawn uniformly
 * (`250ms-350ms`); overrides the fleet's `--pod-sandbox-latency`.
 */
export const SANDBOX_LATENCY_ANNOTATION = "kubemark-cluster.io/sandbox-latency";

/** A latency drawn uniformly from `minMs` to `maxMs` (equal: fixed). */
export interface LatencyRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * The start-up latency model: the pod sandbox is ready `sandbox` after the pod is seen (or after
 * its volumes are mounted), then its containers start `containersMs` later. A sandbox latency of
 * 0 starts the pod at once (no sandbox-ready status of its own, no container delay).
 */
export interface PodStartLatency {
  readonly sandbox: LatencyRange;
  readonly containersMs: number;
}

/**
 * Default fitted to upstream kubemark v1.36.3 (the real kubelet over its fake runtime), measured
 * with its audit log and a watch on a local control plane, pods created 1 s apart: the status
 * showing the sandbox ready (PodReadyToStartContainers True) was written 0.29-0.34 s after the
 * pod's creation (0.316 s typical), Running ~12 ms after that.
 */
export const DEFAULT_POD_START_LATENCY: PodStartLatency = {
  sandbox: { minMs: 290, maxMs: 340 },
  containersMs: 10,
};

/** No start-up latency: the pod runs as soon as its first status is written. */
export const NO_POD_START_LATENCY: PodStartLatency = { sandbox: { minMs: 0, maxMs: 0 }, containersMs: 0 };

/** `300ms`, `0.3s`, `1m`, `0` (a bare number is seconds) in ms; undefined when not a duration. */
function durationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}

/** A latency or range (`300ms`, `250ms-350ms`, `0`); undefined when malformed or inverted. */
export function parseLatencyRange(text: string): LatencyRange | undefined {
  const parts = text.split("-");
  if (parts.length > 2) return undefined;
  const min = durationMs(parts[0]!);
  const max = parts.length === 2 ? durationMs(parts[1]!) : min;
  if (min === undefined || max === undefined || max < min) return undefined;
  return { minMs: min, maxMs: max };
}

/**
 * The pod's sandbox latency (ms): its annotation when well-formed, else the fleet's range, drawn
 * with `random` (uniform in [0, 1)).
 */
export function sandboxLatencyMs(
  pod: { metadata: { annotations?: Record<string, string> } },
  fleet: LatencyRange,
  random: () => number,
): number {
  const own = pod.metadata.annotations?.[SANDBOX_LATENCY_ANNOTATION];
  const range = (own !== undefined ? parseLatencyRange(own) : undefined) ?? fleet;
  if (range.maxMs === range.minMs) return range.minMs;
  return Math.round(range.minMs + random() * (range.maxMs - range.minMs));
}
