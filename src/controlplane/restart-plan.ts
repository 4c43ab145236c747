import { COMPONENTS, type Component } from "./cluster-state.ts";

/** What `up` found of one component of an existing cluster. */
export interface ObservedComponent {
  readonly component: Component;
  readonly running: boolean;
  readonly healthy: boolean;
  /** The health probe's answer or error ("not running" when it does not run). */
  readonly detail: string;
}

/** What `up` does with one component of an existing cluster. */
export type ComponentAction =
  | { readonly action: "keep" }
  | { readonly action: "start"; readonly reason: string }
  /**
   * It runs but is unhealthy while a component it depends on is restarted (an API server whose
   * etcd died): wait for it to recover once that one is back, and restart it only if it does not.
   */
  | { readonly action: "recheck"; readonly reason: string };

/**
 * Decides what `up` restarts in a cluster that is not wholly healthy: only the components that are
 * not running, or not healthy, or named in `mustRestart` (with the reason, e.g. changed flags).
 * Healthy components keep running, so their pids, caches and connections survive.
 */
export function restartPlan(
  observed: readonly ObservedComponent[],
  mustRestart: ReadonlyMap<Component, string> = new Map(),
): Record<Component, ComponentAction> {
  const plan = {} as Record<Component, ComponentAction>;
  let upstreamRestarted = false;
  for (const c of COMPONENTS) {
    const s = observed.find((o) => o.component === c);
    const forced = mustRestart.get(c);
    let a: ComponentAction;
    if (forced !== undefined) a = { action: "start", reason: forced };
    else if (!s || !s.running) a = { action: "start", reason: "not running" };
    else if (s.healthy) a = { action: "keep" };
    else if (upstreamRestarted) a = { action: "recheck", reason: `unhealthy: ${s.detail}` };
    else a = { action: "start", reason: `unhealthy: ${s.detail}` };
    plan[c] = a;
    if (a.action !== "keep") upstreamRestarted = true;
  }
  return plan;
}
