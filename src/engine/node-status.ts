import { healthyConditions } from "./node-object.ts";

/** The parts of a Node's status, as the API server has it, that the status reporter compares. */
export interface ObservedNodeStatus {
  conditions?: ReadonlyArray<{ type: string; status: string; reason?: string; message?: string }>;
  /** The kubelet's volumes in use (unique volume names). */
  volumesInUse?: readonly string[];
  /** The attach/detach controller's: volumes attached to the node (the kubelet never writes it). */
  volumesAttached?: ReadonlyArray<{ name: string; devicePath?: string }>;
}

/**
 * How the Node's status on the server differs from what this kubelet would report:
 * - `none`: it is what the kubelet last reported (heartbeat times aside);
 * - `changed`: a condition's reason or message differs, or one is missing (report again, the
 *   conditions keep their transition time);
 * - `transition`: a condition's status differs, e.g. the node lifecycle controller set Ready and
 *   the pressure conditions to `Unknown` after missed heartbeats (report again; the conditions
 *   become true/false anew, so their transition time is now, as the kubelet's condition setters
 *   make it).
 */
export type StatusDrift = "none" | "changed" | "transition";

/** What the healthy conditions look like, heartbeat and transition times aside (shared, read-only). */
const WANTED = healthyConditions("", "");

/**
 * Compares the server's conditions with the four a healthy hollow kubelet reports, as the
 * kubelet's `nodeConditionsHaveChanged` does for the conditions it owns (heartbeat time ignored).
 * Conditions of other owners (e.g. a node-problem-detector's) are not this kubelet's to correct.
 * A status without any conditions field says nothing (e.g. a partial answer) and counts as `none`.
 */
export function statusDrift(observed: ObservedNodeStatus | undefined): StatusDrift {
  const have = observed?.conditions;
  if (!have) return "none";
  let drift: StatusDrift = "none";
  for (const want of WANTED) {
    const c = have.find((x) => x.type === want.type);
    if (!c || c.status !== want.status) return "transition";
    if (c.reason !== want.reason || c.message !== want.message) drift = "changed";
  }
  return drift;
}

/**
 * Whether the periodic status sync PATCHes the node status: when the server's Node differs from
 * what the kubelet computes, when the kubelet's own status changed since its last report (`ownChange`,
 * e.g. it registered again), or when `reportEveryMs` (nodeStatusReportFrequency) has passed since
 * the last report. Otherwise the sync sends nothing.
 */
export function statusReportDue(input: {
  now: number;
  lastReportAt: number;
  reportEveryMs: number;
  drift: StatusDrift;
  ownChange: boolean;
}): boolean {
  return input.drift !== "none" || input.ownChange || input.now - input.lastReportAt >= input.reportEveryMs;
}
