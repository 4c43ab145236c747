/*
 * The kubelet's `/stats/summary` for one hollow node (#19), in the shape of
 * k8s.io/kubelet/pkg/apis/stats/v1alpha1 (Summary, NodeStats, PodStats, ContainerStats), from
 * its usage model. The figures a usage model does not give are derived, as documented below;
 * filesystem and volume stats are left out (a hollow node has no disks to measure).
 */
import type { ContainerUsage, NodeUsageSample, PodUsage } from "../usage/node-usage.ts";
import type { NodeUsage } from "../usage/node-usage.ts";
import type { NodeApiView } from "./node-view.ts";

/**
 * Memory figures derived from the modelled working set: the anonymous memory (rss) is 80 % of
 * it, and the cgroup's usage adds 25 % of inactive page cache on top (working set = usage -
 * inactive file, as cAdvisor computes it). A minor page fault per millisecond of CPU time keeps
 * `pageFaults` a counter; nothing is read from a disk, so no major faults.
 */
export const RSS_OF_WORKING_SET = 0.8;
export const CACHE_OF_WORKING_SET = 0.25;

/** `/proc/sys/kernel/pid_max` of a 64-bit Linux, and the node's own processes besides one per container. */
const MAX_PID = 4_194_304;
const SYSTEM_PROCESSES = 100;

/** A time as metav1.Time marshals it (RFC 3339, whole seconds, UTC). */
function rfc3339(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

interface Figures {
  readonly cpuNs: number;
  readonly cpuNanoCores: number;
  readonly memoryBytes: number;
}

function cpuStats(time: string, f: Figures): object {
  return {
    time,
    usageNanoCores: Math.floor(f.cpuNanoCores),
    usageCoreNanoSeconds: Math.floor(f.cpuNs),
  };
}

function memoryStats(time: string, f: Figures, limitBytes: number | undefined): object {
  const ws = f.memoryBytes;
  return {
    time,
    ...(limitBytes === undefined ? {} : { availableBytes: Math.max(0, limitBytes - ws) }),
    usageBytes: Math.round(ws * (1 + CACHE_OF_WORKING_SET)),
    workingSetBytes: ws,
    rssBytes: Math.round(ws * RSS_OF_WORKING_SET),
    pageFaults: Math.floor(f.cpuNs / 1e6),
    majorPageFaults: 0,
  };
}

function network(time: string, rxBytes: number, txBytes: number): object {
  const eth0 = { name: "eth0", rxBytes, rxErrors: 0, txBytes, txErrors: 0 };
  return { time, ...eth0, interfaces: [eth0] };
}

function containerStats(time: string, c: ContainerUsage, cpuAndMemoryOnly: boolean): object {
  return {
    name: c.name,
    startTime: rfc3339(c.startedAtMs),
    cpu: cpuStats(time, c),
    memory: memoryStats(time, c, c.memoryLimitBytes),
    ...(cpuAndMemoryOnly ? {} : { swap: { time, swapUsageBytes: 0 } }),
  };
}

function podStats(time: string, p: PodUsage, cpuAndMemoryOnly: boolean): object {
  return {
    podRef: { name: p.name, namespace: p.namespace, uid: p.uid },
    startTime: rfc3339(p.startedAtMs),
    containers: p.containers.map((c) => containerStats(time, c, cpuAndMemoryOnly)),
    cpu: cpuStats(time, p),
    memory: memoryStats(time, p, p.memoryLimitBytes),
    ...(cpuAndMemoryOnly
      ? {}
      : {
          network: network(time, p.rxBytes, p.txBytes),
          swap: { time, swapUsageBytes: 0 },
          process_stats: { process_count: p.containers.length },
        }),
  };
}

/** The `pods` system container: what the node's pods use, gone ones' CPU time included. */
function podsSystemContainer(time: string, view: NodeApiView, s: NodeUsageSample, systemNs: number): object {
  let memory = 0;
  let nanoCores = 0;
  for (const p of s.pods) {
    memory += p.memoryBytes;
    nanoCores += p.cpuNanoCores;
  }
  const f = { cpuNs: Math.max(0, s.cpuNs - systemNs), cpuNanoCores: nanoCores, memoryBytes: memory };
  return {
    name: "pods",
    startTime: rfc3339(view.startedAtMs),
    cpu: cpuStats(time, f),
    memory: memoryStats(time, f, view.memoryCapacityBytes),
  };
}

/**
 * `/stats/summary` (`?only_cpu_and_memory=true`: the kubelet's GetCPUAndMemoryStats, which
 * leaves out network, swap, rlimit and process stats). Node memory's `availableBytes` is
 * against the node's capacity.
 */
export function renderStatsSummary(
  view: NodeApiView,
  nowMs: number,
  model: NodeUsage,
  opts: { readonly onlyCpuAndMemory?: boolean } = {},
): string {
  const s = model.sample(view, nowMs);
  const only = opts.onlyCpuAndMemory === true;
  const time = rfc3339(s.atMs);
  const systemNs = model.systemCpuNs(view, s.atMs);
  const node = {
    nodeName: view.name,
    systemContainers: [podsSystemContainer(time, view, s, systemNs)],
    startTime: rfc3339(view.startedAtMs),
    cpu: cpuStats(time, s),
    memory: memoryStats(time, s, view.memoryCapacityBytes),
    ...(only
      ? {}
      : {
          network: network(time, s.rxBytes, s.txBytes),
          rlimit: { time, maxpid: MAX_PID, curproc: SYSTEM_PROCESSES + s.runningContainers },
          swap: { time, swapUsageBytes: 0 },
        }),
  };
  return JSON.stringify({ node, pods: s.pods.map((p) => podStats(time, p, only)) });
}
