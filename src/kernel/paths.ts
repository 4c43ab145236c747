import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where kubemark-cluster keeps files on this machine. Computed from an environment snapshot passed
 * in by the entry point (config is read at the edge, never at import time).
 */
export interface Paths {
  /** Per-user cache: built binaries and Go build scratch modules. `$KUBEMARK_CACHE_DIR`, else `$XDG_CACHE_HOME/kubemark-cluster`, else `~/.cache/kubemark-cluster`. */
  cacheDir: string;
  /** Per-user state: one directory per local cluster and per local hollow-node fleet. `$KUBEMARK_STATE_DIR`, else `$XDG_STATE_HOME/kubemark-cluster`, else `~/.local/state/kubemark-cluster`. */
  stateDir: string;
}

/** Resolves {@link Paths} from environment variables (and optional overrides from flags). */
export function resolvePaths(
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<Paths> = {},
): Paths {
  const home = env["HOME"] ?? homedir();
  const cacheDir =
    overrides.cacheDir ??
    env["KUBEMARK_CACHE_DIR"] ??
    join(env["XDG_CACHE_HOME"] ?? join(home, ".cache"), "kubemark-cluster");
  const stateDir =
    overrides.stateDir ??
    env["KUBEMARK_STATE_DIR"] ??
    join(env["XDG_STATE_HOME"] ?? join(home, ".local", "state"), "kubemark-cluster");
  return { cacheDir, stateDir };
}
