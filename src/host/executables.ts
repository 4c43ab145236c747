/** Executables on this machine: whether a file may be run, and where a program is on PATH. */
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** True when `path` exists and this process may execute it. */
export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of the executable `name` on `env`'s PATH, if there is one. */
export async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env["PATH"] ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (await isExecutable(p)) return p;
  }
  return undefined;
}
