/**
 * Where a benchmark writes its results: `--out` as the user meant it. An absolute path is taken
 * as given; a relative one from the directory the user ran the command in (`npm run` starts
 * scripts in the package root and passes that directory as INIT_CWD); without `--out`, the
 * default under the repository's results/.
 */
import { isAbsolute, join, resolve } from "node:path";

/** A path the user gave on the command line, made absolute from the directory they ran it in. */
export function resolveUserPath(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string {
  return isAbsolute(path) ? resolve(path) : resolve(env["INIT_CWD"] || cwd, path);
}

/** Resolves `--out` (or the default, relative to `root`) to an absolute path. */
export function resolveOutPath(
  out: string | undefined,
  defaultUnderRoot: string,
  root: string,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string {
  if (out === undefined || out === "") return join(root, defaultUnderRoot);
  return resolveUserPath(out, env, cwd);
}
