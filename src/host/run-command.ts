import { spawn } from "node:child_process";
import { KubemarkError } from "../kernel/errors.ts";

/** Result of a finished command. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link runCommand}. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the command after this many milliseconds (default: no limit). */
  timeoutMs?: number;
  /** Text written to the command's stdin. */
  input?: string;
  /** Called with each chunk of stderr as it arrives (for progress). */
  onStderr?: (chunk: string) => void;
}

/**
 * Runs a command to completion and collects its output. Never throws for a non-zero exit (the
 * caller decides what that means); throws MISSING_TOOL when the program is not installed.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    }
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => {
      err.push(b);
      opts.onStderr?.(b.toString("utf8"));
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (e.code === "ENOENT") {
        reject(
          new KubemarkError("MISSING_TOOL", `${file} is not installed (not found on PATH)`, { cause: e }),
        );
      } else {
        reject(new KubemarkError("INTERNAL", `cannot run ${file}: ${e.message}`, { cause: e }));
      }
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    // A command that exits without reading its input closes the pipe: not an error of the caller's.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** Last `n` non-empty lines of a text, for error messages. */
export function lastLines(text: string, n: number): string {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(-n)
    .join("\n");
}
