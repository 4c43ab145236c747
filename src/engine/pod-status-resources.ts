/*
 * A pod's own resources as a v1.36 kubelet reports them in its status (`status.allocatedResources`
 * and `status.resources`, InPlacePodLevelResourcesVerticalScaling): the pod's requests and limits
 * as component-helpers' PodRequests and PodLimits count them (the containers and sidecars summed,
 * an init container's own when larger), what the kubelet reports for a pod that is not running. A
 * real kubelet reads a running pod's back from its pod cgroup; a hollow node has none.
 */
import type { ContainerSpec, PodObject } from "./pod-object.ts";
import { quantityNumber } from "./quantity.ts";

type ResourceList = Record<string, string>;

/** Quantities summed: as written when one, the same suffix kept when they share it, else plain units. */
export function sumQuantities(qs: readonly string[]): string {
  if (qs.length === 1) return qs[0]!;
  const suffix = (q: string): string => /[a-zA-Z]+$/.exec(q)?.[0] ?? "";
  const s = suffix(qs[0]!);
  if (qs.every((q) => suffix(q) === s && /^\d+[a-zA-Z]*$/.test(q)))
    return `${qs.reduce((a, q) => a + Number(q.slice(0, q.length - s.length)), 0)}${s}`;
  const total = qs.reduce((a, q) => a + (quantityNumber(q) ?? 0), 0);
  return Number.isInteger(total) ? String(total) : `${Math.ceil(total * 1000)}m`;
}

/** The larger of two quantities (the first when equal or unreadable). */
function maxQuantity(a: string, b: string): string {
  return (quantityNumber(b) ?? 0) > (quantityNumber(a) ?? 0) ? b : a;
}

function add(into: Record<string, string[]>, list: ResourceList | undefined): void {
  for (const [k, v] of Object.entries(list ?? {})) (into[k] ??= []).push(v);
}

/**
 * The pod's requests (or limits): the main containers and sidecars summed; each regular init
 * container, with the sidecars started before it, counted when larger (PodRequests/PodLimits).
 */
function podTotals(pod: PodObject, kind: "requests" | "limits"): ResourceList {
  const running: Record<string, string[]> = {};
  for (const c of pod.spec.containers) add(running, c.resources?.[kind]);
  const sidecars: Record<string, string[]> = {};
  const initMax: ResourceList = {};
  for (const c of pod.spec.initContainers ?? []) {
    if (c.restartPolicy === "Always") {
      add(sidecars, c.resources?.[kind]);
      add(running, c.resources?.[kind]);
      continue;
    }
    // A regular init container runs beside the sidecars started before it.
    const during: Record<string, string[]> = structuredClone(sidecars);
    add(during, c.resources?.[kind]);
    for (const [k, vs] of Object.entries(during)) {
      const v = sumQuantities(vs);
      initMax[k] = initMax[k] === undefined ? v : maxQuantity(initMax[k], v);
    }
  }
  const out: ResourceList = {};
  for (const [k, vs] of Object.entries(running)) out[k] = sumQuantities(vs);
  for (const [k, v] of Object.entries(initMax)) out[k] = out[k] === undefined ? v : maxQuantity(out[k], v);
  return out;
}

/** The pod-level `allocatedResources` and `resources` of a v1.36 kubelet's status. */
export function podLevelResources(pod: PodObject): {
  readonly allocatedResources: ResourceList | undefined;
  readonly resources: { requests?: ResourceList; limits?: ResourceList };
} {
  const requests = podTotals(pod, "requests");
  const limits = podTotals(pod, "limits");
  const has = (l: ResourceList): boolean => Object.keys(l).length > 0;
  return {
    allocatedResources: has(requests) ? requests : undefined,
    resources: { ...(has(limits) ? { limits } : {}), ...(has(requests) ? { requests } : {}) },
  };
}

/**
 * The pod's QoS class, as the kubelet sets it in every status (v1qos.GetPodQOS): BestEffort
 * without any CPU or memory request or limit, Guaranteed when every container limits both and
 * requests what it limits (a request left out is the limit), else Burstable.
 */
export function qosClass(pod: PodObject): "Guaranteed" | "Burstable" | "BestEffort" {
  const all: ContainerSpec[] = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  const set = (l: ResourceList | undefined): boolean =>
    l?.["cpu"] !== undefined || l?.["memory"] !== undefined;
  if (!all.some((c) => set(c.resources?.requests) || set(c.resources?.limits))) return "BestEffort";
  const guaranteed = all.every((c) =>
    ["cpu", "memory"].every((k) => {
      const limit = c.resources?.limits?.[k];
      const request = c.resources?.requests?.[k] ?? limit;
      return limit !== undefined && quantityNumber(request) === quantityNumber(limit);
    }),
  );
  return guaranteed ? "Guaranteed" : "Burstable";
}
