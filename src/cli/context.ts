import type { Clock } from "../kernel/clock.ts";
import type { Paths } from "../kernel/paths.ts";

/** What every verb receives from the entry point: the environment snapshot and where to write. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly paths: Paths;
  readonly clock: Clock;
  readonly stdout: (text: string) => void;
  /** True when stderr is a terminal (progress bars) and CI is not set. */
  readonly tty: boolean;
  /** Aborted by the first SIGINT/SIGTERM: long operations stop and undo what they started. */
  readonly signal: AbortSignal;
}
