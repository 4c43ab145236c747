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

const SHELLS = new Set(["sh", "bash", "ash", "dash", "zsh", "busybox"]);
const UNITS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 };

function basename(path: string): string {
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
export function podOutcome(
  pod: {
    metadata: { annotations?: Record<string, string>; ownerReferences?: { kind: string }[] };
    spec: {
      containers: readonly (Parameters<typeof commandOutcome>[0] & { run?: RunOutcome | undefined })[];
    };
  },
  defaults: RunDefaults,
): RunOutcome {
  const a = pod.metadata.annotations;
  const annotatedCode = Number(a?.[EXIT_CODE_ANNOTATION] ?? "0");
  const code = Number.isInteger(annotatedCode) ? annotatedCode & 255 : 0;
  const seconds = a?.[RUN_SECONDS_ANNOTATION];
  if (seconds !== undefined) {
    const s = Number(seconds);
    if (Number.isFinite(s) && s >= 0) return { afterMs: s * 1000, exitCode: code };
  }
  const isJob = pod.metadata.ownerReferences?.some((o) => o.kind === "Job") ?? false;
  const fallback: RunOutcome = isJob ? { afterMs: defaults.jobRunMs, exitCode: code } : RUNS_FOREVER;
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

/** Annotation: the pod's containers take that many seconds to stop after SIGTERM (capped by the grace period). */
export const STOP_SECONDS_ANNOTATION = "kubemark-cluster.io/stop-seconds";

/**
 * How a container stops when the kubelet kills it: its preStop hook's time (an exec `sleep N`
 * hook takes N s; other hooks return at once), then after SIGTERM at once, or never (`null`: it
 * ignores SIGTERM and is killed when the grace period ends). A `sleep` or a shell script as the
 * container's process is PID 1 without a signal handler, which ignores SIGTERM; the `pause`
 * image handles it; other images are taken to stop promptly, as most servers do.
 */
export interface StopModel {
  readonly preStopMs: number;
  readonly ignoresTerm: boolean;
}

/** Stops at once on SIGTERM, no hook. */
export const STOPS_PROMPTLY: StopModel = { preStopMs: 0, ignoresTerm: false };

/** The {@link StopModel} of a container from its command and preStop hook. */
export function stopModel(c: {
  command?: readonly string[] | undefined;
  args?: readonly string[] | undefined;
  lifecycle?: { preStop?: { exec?: { command?: readonly string[] } } } | undefined;
}): StopModel {
  const hook = c.lifecycle?.preStop?.exec?.command;
  const hookRun = hook ? commandOutcome({ command: hook }) : undefined;
  // A hook that never returns runs until the grace period ends.
  const preStopMs = hookRun === undefined ? 0 : (hookRun.afterMs ?? Infinity);
  const argv0 = [...(c.command ?? []), ...(c.args ?? [])][0];
  const name = argv0 === undefined ? "" : basename(argv0);
  const ignoresTerm = name === "sleep" || SHELLS.has(name);
  if (preStopMs === 0 && !ignoresTerm) return STOPS_PROMPTLY;
  return { preStopMs, ignoresTerm };
}

/**
 * How long the pod's containers take to stop once the kubelet starts killing them, capped by
 * the grace period: the stop-seconds annotation, else the slowest container's preStop hook plus,
 * for a container that ignores SIGTERM, the rest of the grace period.
 */
export function podStopMs(
  pod: {
    metadata: { annotations?: Record<string, string> };
    spec: { containers: readonly { stop?: StopModel | undefined }[] };
  },
  graceMs: number,
): number {
  const annotated = Number(pod.metadata.annotations?.[STOP_SECONDS_ANNOTATION] ?? NaN);
  if (Number.isFinite(annotated) && annotated >= 0) return Math.min(graceMs, annotated * 1000);
  let ms = 0;
  for (const c of pod.spec.containers) {
    const s = c.stop ?? STOPS_PROMPTLY;
    ms = Math.max(ms, s.ignoresTerm ? graceMs : Math.min(graceMs, s.preStopMs));
  }
  return ms;
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
