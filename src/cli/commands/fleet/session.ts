import type { Command } from "commander";
import type { FleetDeps } from "../../../fleet/context.ts";
import { DEFAULT_FLEET_NAMESPACE, scopeFlags } from "../../../fleet/command-hint.ts";
import { openSession, type Session } from "../../../fleet/session.ts";
import { validateNamespace } from "../../../fleet/spec.ts";
import type { CliContext } from "../../context.ts";
import { ProgressView } from "../../progress.ts";

/** Flags every fleet verb takes (kubectl's names). */
export interface ScopeFlags {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  targetKubeconfig?: string;
  targetContext?: string;
  output?: string;
}

/** Adds the flags that pick the fleet's clusters and namespace. */
export function withScope(cmd: Command): Command {
  return cmd
    .option(
      "--kubeconfig <path>",
      "kubeconfig of the hosting cluster (default $KUBECONFIG, ~/.kube/config, else the local cluster of 'up')",
    )
    .option("--context <name>", "kubeconfig context of the hosting cluster")
    .option("-n, --namespace <ns>", "namespace of the hollow-node workload", DEFAULT_FLEET_NAMESPACE)
    .option(
      "--target-kubeconfig <path>",
      "kubeconfig of the cluster the nodes register into, when it is not the hosting one",
    )
    .option(
      "--target-context <name>",
      "context of the target cluster (in --target-kubeconfig, else in --kubeconfig)",
    );
}

/** ` -n NS` (and kubeconfig flags) for suggested commands, empty for the defaults. */
export function scopeHint(f: ScopeFlags): string {
  return scopeFlags(f);
}

/**
 * Runs `fn` with a session of the clusters the scope flags name and a progress view that shows
 * the session's events, then closes both.
 */
export async function withSession<T>(
  c: CliContext,
  f: ScopeFlags,
  quiet: boolean,
  fn: (s: Session, p: ProgressView) => Promise<T>,
): Promise<T> {
  const progress = new ProgressView({ tty: c.tty, quiet });
  const deps: FleetDeps = {
    env: c.env,
    stateDir: c.paths.stateDir,
    clock: c.clock,
    onEvent: (e) => progress.fleet(e),
    signal: c.signal,
  };
  const s = await openSession(deps, {
    hosting: { kubeconfig: f.kubeconfig, context: f.context },
    target: { kubeconfig: f.targetKubeconfig, context: f.targetContext },
    namespace: validateNamespace(f.namespace),
  });
  try {
    return await fn(s, progress);
  } finally {
    progress.stop();
    await s.close();
  }
}
