/**
 * The pod startup latency SLI of SIG scalability: created -> Running, excluding image pulls
 * (hollow nodes pull none, so nothing is subtracted), p50/p90/p99 against 5 s. Read from pod status
 * timestamps, which the API server keeps to the second: each latency is known to +-1 s.
 */
import { quantileOfSorted } from "../kernel/quantile.ts";
import type { Verdict } from "./api-latency.ts";

/** The pod fields the SLI reads. */
export interface PodTimes {
  readonly metadata: { name: string; namespace?: string; creationTimestamp?: string };
  readonly spec?: { nodeName?: string };
  readonly status?: {
    containerStatuses?: ReadonlyArray<{
      restartCount?: number;
      state?: { running?: { startedAt?: string }; terminated?: { startedAt?: string } };
      lastState?: { terminated?: { startedAt?: string } };
    }>;
  };
}

/** The SLO: p99 of pod startup at most 5 s. */
export const POD_STARTUP_LIMIT_SECONDS = 5;

/** Pod startup latencies over a window. */
export interface PodStartup {
  /** Pods created in the window on the fleet's nodes. */
  readonly pods: number;
  /** Of those, pods whose containers have not all started (excluded from the percentiles). */
  readonly notStarted: number;
  readonly p50Seconds: number | undefined;
  readonly p90Seconds: number | undefined;
  readonly p99Seconds: number | undefined;
  readonly maxSeconds: number | undefined;
  readonly limitSeconds: number;
  readonly verdict: Verdict;
  /** Every latency, ascending (for the CDF). */
  readonly latencies: readonly number[];
}

/**
 * When a pod first ran: the latest first start of its containers (a restarted container's first
 * start is its last termination's start, as far as status remembers). Undefined until every
 * container has started.
 */
export function firstRunning(p: PodTimes): number | undefined {
  const cs = p.status?.containerStatuses ?? [];
  if (cs.length === 0) return undefined;
  let latest = -Infinity;
  for (const c of cs) {
    const current = c.state?.running?.startedAt ?? c.state?.terminated?.startedAt;
    const first = (c.restartCount ?? 0) > 0 ? (c.lastState?.terminated?.startedAt ?? current) : current;
    if (!first) return undefined;
    latest = Math.max(latest, Date.parse(first));
  }
  return Number.isFinite(latest) ? latest : undefined;
}

/** Pod startup latencies of the pods created in [startMs, endMs] on `nodes`. */
export function podStartup(
  pods: readonly PodTimes[],
  nodes: ReadonlySet<string>,
  startMs: number,
  endMs: number,
): PodStartup {
  const latencies: number[] = [];
  let count = 0;
  let notStarted = 0;
  for (const p of pods) {
    const created = Date.parse(p.metadata.creationTimestamp ?? "");
    // Creation times are whole seconds: a pod created in the window's first second counts.
    if (!Number.isFinite(created) || created < Math.floor(startMs / 1000) * 1000 || created > endMs) continue;
    if (!p.spec?.nodeName || !nodes.has(p.spec.nodeName)) continue;
    count++;
    const ran = firstRunning(p);
    if (ran === undefined) notStarted++;
    else latencies.push(Math.max(0, (ran - created) / 1000));
  }
  latencies.sort((a, b) => a - b);
  const p99 = quantileOfSorted(latencies, 0.99);
  return {
    pods: count,
    notStarted,
    p50Seconds: quantileOfSorted(latencies, 0.5),
    p90Seconds: quantileOfSorted(latencies, 0.9),
    p99Seconds: p99,
    maxSeconds: latencies[latencies.length - 1],
    limitSeconds: POD_STARTUP_LIMIT_SECONDS,
    verdict: p99 === undefined ? "NO DATA" : p99 <= POD_STARTUP_LIMIT_SECONDS ? "PASS" : "FAIL",
    latencies,
  };
}
