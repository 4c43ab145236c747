/*
 * What one hollow node's kubelet API answers from (#19): the contract between the per-node
 * authenticated endpoints (which route and authorize a request for one node) and the stats
 * endpoints (which render `/metrics/resource`, `/stats/summary` and `/metrics` from the usage
 * models). A node answers for itself alone: its own pods, its own figures.
 */
import type { HostedPod } from "../container-log.ts";

/** A container as the usage model sees it: what it asked for and when its current run started. */
export interface UsageContainer {
  readonly name: string;
  /** `resources.requests.cpu` in millicores; undefined when unset. */
  readonly cpuRequestMilli: number | undefined;
  /** `resources.limits.cpu` in millicores; undefined when unset. */
  readonly cpuLimitMilli: number | undefined;
  /** `resources.requests.memory` in bytes; undefined when unset. */
  readonly memoryRequestBytes: number | undefined;
  /** `resources.limits.memory` in bytes; undefined when unset. */
  readonly memoryLimitBytes: number | undefined;
  /** When the container's current run started (ms since the epoch); undefined when it is not running. */
  readonly startedAtMs: number | undefined;
  /** The container's image as the spec names it (`/metrics/cadvisor`'s `image` label); undefined when unset. */
  readonly image?: string | undefined;
}

/** A pod as the usage model sees it. */
export interface UsagePod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The pod's annotations (the per-pod usage model is given under `kubemark-cluster.io/`). */
  readonly annotations: Readonly<Record<string, string>>;
  /** When the pod started on the node (ms since the epoch). */
  readonly startedAtMs: number;
  /** Running containers, sidecars included (an init container that has exited uses nothing). */
  readonly containers: readonly UsageContainer[];
}

/** One node as its kubelet API answers for it. */
export interface NodeApiView {
  readonly name: string;
  /** Capacity: CPU in millicores and memory in bytes (what the node reports). */
  readonly cpuCapacityMilli: number;
  readonly memoryCapacityBytes: number;
  /** When the node's (simulated) kubelet started, ms since the epoch. */
  readonly startedAtMs: number;
  /** The node's pods that use resources (started and not yet terminated). */
  usagePods(): readonly UsagePod[];
  /** Pod `namespace/name` if this node runs it (container logs). */
  podInfo(namespace: string, name: string): HostedPod | undefined;
  /** The node's pods as Pod objects with the status it reports (the kubelet's `/pods`). */
  listPods(): readonly object[];
}
