/** Waiting until exactly the desired Nodes are Ready, as the running engine reports them. */
import { KubeApiError } from "../client/api-error.ts";
import { KubemarkError } from "../kernel/errors.ts";
import type { NodeCensus } from "./census.ts";
import type { FleetContext } from "./context.ts";
import { FleetWatch } from "./fleet-watch.ts";
import type { FleetRuntime } from "./runtime/runtime.ts";
import { nodeIndex, type FleetSpec } from "./spec.ts";

/**
 * How many of the census's Ready Nodes the running engine backs: those whose Lease was renewed
 * after the process (or pod) that runs them started. A Node of a process that crashed stays Ready
 * until the node controller notices (40 s), and a restarted process takes a while to renew every
 * Lease: counting those Nodes would end the wait before the new process has taken them over.
 */
export function readyAfterStart(
  spec: Pick<FleetSpec, "nodes" | "nodesPerShard" | "namePrefix">,
  nodes: ReadonlyArray<{ readonly name: string; readonly ready: boolean }>,
  renewedAt: ReadonlyMap<string, number>,
  shardStartedAt: ReadonlyMap<number, number>,
): number {
  let n = 0;
  for (const node of nodes) {
    const idx = nodeIndex(node.name, spec.namePrefix);
    if (!node.ready || idx === undefined || idx >= spec.nodes) continue;
    const start = shardStartedAt.get(Math.floor(idx / spec.nodesPerShard));
    const renewed = renewedAt.get(node.name);
    if (start !== undefined && renewed !== undefined && renewed > start) n++;
  }
  return n;
}

/** Whether a watch's error ends the wait: the CLI's identity may not read Nodes or Leases. */
function isDenied(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && (err.status === 401 || err.status === 403);
}

/**
 * Waits until exactly the desired Nodes are Ready, reporting progress, with a deadline and stall
 * detection (no new Ready node for `stallMs`: gives up and says why, from the workload's side).
 * Returns the Ready count. The Nodes and Leases come from two watches (fleet-watch.ts), not from
 * lists every poll; the poll wakes early when every desired Node looks Ready.
 */
export async function waitForFleet(
  s: FleetContext,
  runtime: FleetRuntime,
  spec: FleetSpec,
  timeoutMs: number,
  stallMs: number,
): Promise<number> {
  const { clock, onEvent } = s.deps;
  const started = clock.now();
  let best = -1;
  let bestAt = started;
  const interval = Math.min(5_000, Math.max(1_000, spec.nodes));
  // When the watch sees every desired Node Ready, check at once rather than at the interval's end.
  let wake = new AbortController();
  const watch = new FleetWatch(s.target.client, {
    clock,
    fleet: s.fleet,
    namePrefix: spec.namePrefix,
    onReadyCount: (ready) => {
      if (ready >= spec.nodes) wake.abort();
    },
  });
  watch.start();
  try {
    for (;;) {
      if (isDenied(watch.lastError)) throw watch.lastError;
      const census: NodeCensus | undefined = watch.census(spec);
      let current: number | undefined;
      if (census) {
        const renewedAt = census.ready > 0 ? watch.renewals() : new Map<string, number>();
        // Ready as the running engine reports it: a Node stays Ready for a while after its process died.
        if (renewedAt) {
          current =
            census.ready > 0
              ? readyAfterStart(spec, census.nodes, renewedAt, await runtime.startTimes(spec))
              : 0;
        }
      }
      const ready = current ?? best;
      const secs = Math.round((clock.now() - started) / 1000);
      if (census && current !== undefined) {
        onEvent({
          kind: "nodes-ready",
          ready: current,
          desired: spec.nodes,
          registered: census.registered,
          seconds: secs,
        });
        if (current === spec.nodes && census.registered === spec.nodes) return current;
      }
      if (ready > best) {
        best = ready;
        bestAt = clock.now();
      }
      const why = await runtime.diagnose(spec).catch(() => undefined);
      if (why && runtime.diagnosisIsFinal) {
        throw new KubemarkError("START_FAILED", `${best}/${spec.nodes} nodes Ready: ${why}`, {
          hint: "fix the cause and run the same command again (it resumes)",
        });
      }
      if (clock.now() - bestAt > stallMs) {
        throw new KubemarkError(
          "TIMEOUT",
          `no progress for ${Math.round(stallMs / 1000)}s at ${Math.max(best, 0)}/${spec.nodes} nodes Ready${why ? `: ${why}` : ""}`,
          {
            hint: `see '${s.suggest("logs")}' and '${s.suggest("list -o wide")}'; the same command resumes`,
          },
        );
      }
      if (clock.now() - started > timeoutMs) {
        throw new KubemarkError(
          "TIMEOUT",
          `timed out after ${Math.round(timeoutMs / 1000)}s at ${Math.max(best, 0)}/${spec.nodes} nodes Ready${why ? `: ${why}` : ""}`,
          { hint: `raise --timeout, or see '${s.suggest("verify")}'` },
        );
      }
      if (!wake.signal.aborted) {
        try {
          await clock.sleep(interval, AbortSignal.any([s.deps.signal, wake.signal]));
        } catch (err) {
          if (s.deps.signal.aborted) throw err;
        }
      }
      wake = new AbortController();
    }
  } finally {
    watch.stop();
    onEvent({ kind: "wait-ended" });
  }
}
