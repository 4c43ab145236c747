/*
 * In-place pod resize as a kubelet (v1.33 on, the allocation manager and status manager) decides
 * and reports it: a change of a running pod's container resources (PATCH pods/<name>/resize) is
 * allocated when it fits the node, then applied; otherwise it stays pending, Infeasible when it
 * exceeds the node's allocatable, Deferred when it fits that but not what the other pods leave.
 * Pure functions of the resources, the node's allocatable and the time.
 */
import type { ContainerResources } from "./pod-object.ts";
import { quantityNumber } from "./quantity.ts";

/** How long applying an allocated resize takes: the kubelet sees it applied at its next relist. */
export const RESIZE_APPLY_MS = 1_000;

/** CPU (millicores) and memory (bytes) requests, as the kubelet compares them. */
export interface Requests {
  readonly cpuMilli: number;
  readonly memory: number;
}

/** A quantity (`500m`, `2`, `16Gi`, `1e3`) times `scale`, rounded up as Quantity.MilliValue/Value do; 0 if unreadable. */
export function quantityValue(q: string | undefined, scale: number): number {
  const n = quantityNumber(q);
  return n === undefined ? 0 : Math.ceil(n * scale - 1e-9);
}

/** A pod's CPU and memory requests: the sum over its running containers' (main and sidecars). */
export function podRequests(resources: readonly (ContainerResources | undefined)[]): Requests {
  let cpuMilli = 0;
  let memory = 0;
  for (const r of resources) {
    cpuMilli += quantityValue(r?.requests?.cpu, 1000);
    memory += quantityValue(r?.requests?.memory, 1);
  }
  return { cpuMilli, memory };
}

/** Adds requests. */
export function addRequests(a: Requests, b: Requests): Requests {
  return { cpuMilli: a.cpuMilli + b.cpuMilli, memory: a.memory + b.memory };
}

/** What the kubelet decides of a resize: allocate it, or leave it pending (why, in its words). */
export type ResizeDecision =
  | { readonly fit: true }
  | { readonly fit: false; readonly reason: "Infeasible" | "Deferred"; readonly message: string };

/**
 * The allocation manager's canResizePod: a pod whose requests would exceed the node's
 * allocatable is Infeasible (memory named first); one that fits it but not beside what the other
 * pods have allocated (`used`) is Deferred (the scheduler's fit message, CPU first); else it fits.
 */
export function resizeDecision(desired: Requests, allocatable: Requests, used: Requests): ResizeDecision {
  if (desired.memory > allocatable.memory)
    return infeasible(`memory, requested: ${desired.memory}, capacity: ${allocatable.memory}`);
  if (desired.cpuMilli > allocatable.cpuMilli)
    return infeasible(`cpu, requested: ${desired.cpuMilli}, capacity: ${allocatable.cpuMilli}`);
  if (used.cpuMilli + desired.cpuMilli > allocatable.cpuMilli)
    return deferred("cpu", desired.cpuMilli, used.cpuMilli, allocatable.cpuMilli);
  if (used.memory + desired.memory > allocatable.memory)
    return deferred("memory", desired.memory, used.memory, allocatable.memory);
  return { fit: true };
}

const infeasible = (what: string): ResizeDecision => ({
  fit: false,
  reason: "Infeasible",
  message: `Node didn't have enough capacity: ${what}`,
});

const deferred = (name: string, requested: number, used: number, capacity: number): ResizeDecision => ({
  fit: false,
  reason: "Deferred",
  message: `Node didn't have enough resource: ${name}, requested: ${requested}, used: ${used}, capacity: ${capacity}`,
});

/** A resize condition the pod reports (status True), with the generation it was decided for. */
export interface ResizeCondition {
  readonly reason?: string;
  readonly message?: string;
  /** When it was last evaluated, and when its reason last changed. */
  readonly probedAt: string;
  readonly since: string;
  readonly generation: number | undefined;
}

/**
 * A resized pod's resources and conditions (kept only for pods that were resized): what the node
 * allocated to each main container, what they run with (the allocation once applied), the
 * pending and in-progress conditions, and conditions to delete from the pod's status.
 */
export interface ResizeState {
  allocated: (ContainerResources | undefined)[];
  actual: (ContainerResources | undefined)[];
  pending?: ResizeCondition | undefined;
  inProgress?: ResizeCondition | undefined;
  cleared?: string[] | undefined;
}

/** The pending condition after a decision at `now`: its transition time kept while its reason is. */
export function pendingCondition(
  before: ResizeCondition | undefined,
  d: { reason: string; message: string },
  now: string,
  generation: number | undefined,
): ResizeCondition {
  return {
    reason: d.reason,
    message: d.message,
    probedAt: now,
    since: before?.reason === d.reason ? before.since : now,
    generation,
  };
}

/** A key of a list of container resources, to tell whether two allocations differ. */
export function resourcesListKey(rs: readonly (ContainerResources | undefined)[]): string {
  return rs.map((r) => JSON.stringify(r ?? {})).join("|");
}

/** The pod conditions a resize shows (PodResizePending, PodResizeInProgress), as the kubelet writes them. */
export function resizeConditions(rs: ResizeState | undefined): Record<string, unknown>[] {
  if (!rs) return [];
  const out: Record<string, unknown>[] = [];
  const add = (type: string, c: ResizeCondition | undefined): void => {
    if (!c) return;
    out.push({
      type,
      status: "True",
      ...(c.reason ? { reason: c.reason } : {}),
      ...(c.message ? { message: c.message } : {}),
      lastProbeTime: c.probedAt,
      lastTransitionTime: c.since,
      ...(c.generation !== undefined ? { observedGeneration: c.generation } : {}),
    });
  };
  add("PodResizePending", rs.pending);
  add("PodResizeInProgress", rs.inProgress);
  return out;
}

/**
 * The strategic-merge directives that delete resize conditions from the pod's status (as the
 * kubelet's status patch does when one is cleared): those cleared since the last write, and every
 * one when the pod has ended (a terminal pod shows none).
 */
export function resizeDeletes(rs: ResizeState | undefined, ended: boolean): Record<string, unknown>[] {
  if (!rs) return [];
  const types = new Set(rs.cleared ?? []);
  if (ended) {
    if (rs.pending) types.add("PodResizePending");
    if (rs.inProgress) types.add("PodResizeInProgress");
  }
  return [...types].map((type) => ({ type, $patch: "delete" }));
}
