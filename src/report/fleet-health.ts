/**
 * Hollow-fleet health over a window: Lease freshness now, renewal gaps seen while the report
 * watched the Leases, and NotReady transitions the node lifecycle controller recorded as events.
 */
import { quantileOfSorted } from "../kernel/quantile.ts";
import type { Verdict } from "./api-latency.ts";

/** The Lease fields read. */
export interface LeaseTimes {
  readonly metadata: { name: string };
  readonly spec?: { renewTime?: string; leaseDurationSeconds?: number };
}

/** The Node fields read. */
export interface NodeReadiness {
  readonly metadata: { name: string };
  readonly status?: { conditions?: ReadonlyArray<{ type: string; status: string }> };
}

/** The Event fields read (core/v1 Event). */
export interface NodeEvent {
  readonly involvedObject?: { kind?: string; name?: string };
  readonly reason?: string;
  readonly count?: number;
  readonly firstTimestamp?: string | null;
  readonly lastTimestamp?: string | null;
  readonly eventTime?: string | null;
  readonly metadata?: { creationTimestamp?: string };
}

/** A kubelet's Lease duration, when a Lease does not say. */
export const DEFAULT_LEASE_SECONDS = 40;

/** How current the fleet's Leases are now. */
export interface LeaseFreshness {
  readonly nodes: number;
  readonly missing: readonly string[];
  /** Leases not renewed within their duration. */
  readonly stale: readonly string[];
  readonly p99AgeSeconds: number | undefined;
  readonly maxAgeSeconds: number | undefined;
  readonly limitSeconds: number;
  readonly verdict: Verdict;
}

/** Lease age (now - renewTime) of each node, against its leaseDurationSeconds. */
export function leaseFreshness(
  nodes: readonly string[],
  leases: readonly LeaseTimes[],
  nowMs: number,
): LeaseFreshness {
  const byName = new Map(leases.map((l) => [l.metadata.name, l]));
  const missing: string[] = [];
  const stale: string[] = [];
  const ages: number[] = [];
  let limit = DEFAULT_LEASE_SECONDS;
  for (const n of nodes) {
    const l = byName.get(n);
    const renewed = Date.parse(l?.spec?.renewTime ?? "");
    if (!l || !Number.isFinite(renewed)) {
      missing.push(n);
      continue;
    }
    const duration = l.spec?.leaseDurationSeconds ?? DEFAULT_LEASE_SECONDS;
    limit = duration;
    const age = Math.max(0, (nowMs - renewed) / 1000);
    ages.push(age);
    if (age > duration) stale.push(n);
  }
  ages.sort((a, b) => a - b);
  return {
    nodes: nodes.length,
    missing,
    stale,
    p99AgeSeconds: quantileOfSorted(ages, 0.99),
    maxAgeSeconds: ages[ages.length - 1],
    limitSeconds: limit,
    verdict: nodes.length === 0 ? "NO DATA" : missing.length + stale.length === 0 ? "PASS" : "FAIL",
  };
}

/** One renewal seen by the report's watch: the Lease's renewTime before and after. */
export interface RenewalGapInput {
  readonly node: string;
  readonly previousMs: number;
  readonly renewedMs: number;
}

/** Time between consecutive renewals of each Lease while the report watched. */
export interface RenewalGaps {
  readonly observedSeconds: number;
  readonly renewals: number;
  readonly p50Seconds: number | undefined;
  readonly p99Seconds: number | undefined;
  readonly maxSeconds: number | undefined;
  /** The node of the longest gap. */
  readonly worstNode: string | undefined;
  /** A gap longer than the Lease's duration lets the node controller mark the node NotReady. */
  readonly limitSeconds: number;
  readonly verdict: Verdict;
  /** Every gap, ascending (for the plot). */
  readonly gaps: readonly number[];
}

/** Summarises the renewals seen over `observedSeconds`. */
export function renewalGaps(
  seen: readonly RenewalGapInput[],
  observedSeconds: number,
  limitSeconds = DEFAULT_LEASE_SECONDS,
): RenewalGaps {
  const gaps = seen
    .map((g) => ({ node: g.node, s: (g.renewedMs - g.previousMs) / 1000 }))
    .filter((g) => g.s > 0);
  gaps.sort((a, b) => a.s - b.s);
  const values = gaps.map((g) => g.s);
  const max = values[values.length - 1];
  return {
    observedSeconds,
    renewals: values.length,
    p50Seconds: quantileOfSorted(values, 0.5),
    p99Seconds: quantileOfSorted(values, 0.99),
    maxSeconds: max,
    worstNode: gaps[gaps.length - 1]?.node,
    limitSeconds,
    verdict: max === undefined ? "NO DATA" : max <= limitSeconds ? "PASS" : "FAIL",
    gaps: values,
  };
}

/** NotReady transitions in the window and nodes not Ready now. */
export interface NotReadyTransitions {
  readonly transitions: number;
  /** Nodes that had a transition (up to 20). */
  readonly transitionedNodes: readonly string[];
  readonly notReadyNow: readonly string[];
  readonly verdict: Verdict;
}

function eventTime(e: NodeEvent): number {
  return Date.parse(
    e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? "",
  );
}

/** Counts NodeNotReady events of the fleet's nodes last seen in [startMs, endMs]. */
export function notReadyTransitions(
  nodes: readonly NodeReadiness[],
  events: readonly NodeEvent[],
  startMs: number,
  endMs: number,
): NotReadyTransitions {
  const names = new Set(nodes.map((n) => n.metadata.name));
  let transitions = 0;
  const transitioned = new Set<string>();
  for (const e of events) {
    if (e.reason !== "NodeNotReady" || e.involvedObject?.kind !== "Node") continue;
    const name = e.involvedObject.name ?? "";
    const t = eventTime(e);
    if (!names.has(name) || !(t >= Math.floor(startMs / 1000) * 1000 && t <= endMs)) continue;
    transitions += Math.max(1, e.count ?? 1);
    transitioned.add(name);
  }
  const notReadyNow = nodes
    .filter((n) => n.status?.conditions?.find((c) => c.type === "Ready")?.status !== "True")
    .map((n) => n.metadata.name);
  return {
    transitions,
    transitionedNodes: [...transitioned].slice(0, 20),
    notReadyNow,
    verdict: nodes.length === 0 ? "NO DATA" : transitions + notReadyNow.length === 0 ? "PASS" : "FAIL",
  };
}
