import { spawn } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import type { Clock } from "../kernel/clock.ts";

/**
 * A background process started by kubemark-cluster. `startTicks` (field 22 of /proc/PID/stat)
 * tells it apart from an unrelated process that later reuses the same pid, so `down` never
 * signals a stranger.
 */
export interface DaemonRecord {
  readonly pid: number;
  readonly startTicks: number;
}

/** Start time of a process in clock ticks since boot, or undefined when it does not exist. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: split after its closing paren.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = rest[0];
    if (state === "Z" || state === "X") return undefined;
    const ticks = Number(rest[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** True while the recorded process is running (and is still the one that was started). */
export function isDaemonAlive(rec: DaemonRecord): boolean {
  return processStartTicks(rec.pid) === rec.startTicks;
}

/** Options of {@link startDaemon}. */
export interface StartDaemonOptions {
  readonly file: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/**
 * Starts a process in its own session, detached from this one (it outlives the CLI), with output
 * to a log file. Resolves once it has been spawned; rejects if it cannot be.
 */
export function startDaemon(opts: StartDaemonOptions): Promise<DaemonRecord> {
  return new Promise((resolve, reject) => {
    const fd = openSync(opts.logFile, "a");
    const child = spawn(opts.file, opts.args, {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    closeSync(fd);
    child.once("error", reject);
    child.once("spawn", () => {
      const pid = child.pid;
      child.unref();
      if (pid === undefined) {
        reject(new Error(`${opts.file} did not start`));
        return;
      }
      const startTicks = processStartTicks(pid);
      if (startTicks === undefined) {
        reject(new Error(`${opts.file} exited at once (see ${opts.logFile})`));
        return;
      }
      resolve({ pid, startTicks });
    });
  });
}

/**
 * Stops a daemon: SIGTERM, then SIGKILL after `graceMs`, and waits until it has exited (ports and
 * data directories are only reusable then). Returns false when it was not running.
 */
export async function stopDaemon(rec: DaemonRecord, clock: Clock, graceMs = 15_000): Promise<boolean> {
  if (!isDaemonAlive(rec)) return false;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(rec.pid, sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const deadline = clock.now() + graceMs;
  while (isDaemonAlive(rec)) {
    if (clock.now() > deadline) {
      signal("SIGKILL");
      const hard = clock.now() + 10_000;
      while (isDaemonAlive(rec) && clock.now() < hard) await clock.sleep(50);
      break;
    }
    await clock.sleep(50);
  }
  return true;
}
