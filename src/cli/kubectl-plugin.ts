/**
 * Entry point of the kubectl plugin `kubectl-kubemark`: the same CLI, whose help and hints name
 * it `kubectl kubemark` (kubectl runs an executable `kubectl-kubemark` on PATH for `kubectl kubemark`).
 */
import { main } from "./main.ts";

/** How users type the CLI as a kubectl plugin. */
export const PLUGIN_NAME = "kubectl kubemark";

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), PLUGIN_NAME);
}
