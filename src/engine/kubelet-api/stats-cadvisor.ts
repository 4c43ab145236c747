/*
 * `/metrics/cadvisor` for one hollow node (#19), as a kubelet serves cAdvisor's Prometheus
 * collector (google/cadvisor lib/metrics/prometheus.go and prometheus_machine.go, registered by
 * pkg/kubelet/server/server.go with containerPrometheusLabelsFunc): the series Prometheus scrapes
 * for container dashboards, from the same usage model as `/metrics/resource`. Pure: a view, a
 * time and the node's model in, Prometheus text out.
 *
 * The cgroups listed: the root `/` (the node), `/kubepods.slice` (all pods), each pod's cgroup
 * (`container=""`, its pod and namespace) and each running container's
 * (`cri-containerd-<id>.scope` under its pod's, with `container`, `image` and `name`, the
 * runtime's container id, as the pod status reports it). Labels as the kubelet's label function
 * gives them: `container`, `id` (the cgroup), `image`, `name`, `namespace`, `pod`, blank when not
 * known. Not modelled: the node's system slices, the pause containers, the QoS-level slices,
 * `container_spec_*`, disk I/O, filesystem, process and task-state series.
 */
import { containerId, normalizeImage } from "../pod-status.ts";
import type { ContainerUsage, PodUsage } from "../usage/node-usage.ts";
import type { NodeUsage } from "../usage/node-usage.ts";
import type { NodeApiView } from "./node-view.ts";
import { CACHE_OF_WORKING_SET, RSS_OF_WORKING_SET } from "./stats-summary.ts";
import { promFloat } from "./stats-endpoints.ts";

/** Share of CPU time spent in user mode (the rest is system time): user and system add up to usage. */
export const USER_CPU_SHARE = 0.8;
/** Mean packet size of the modelled traffic: packets are bytes / this. */
export const PACKET_BYTES = 1024;

/** One cgroup's labels and figures. */
interface Cgroup {
  readonly container: string;
  readonly id: string;
  readonly image: string;
  readonly name: string;
  readonly namespace: string;
  readonly pod: string;
  readonly startSeconds: number;
  /** Cumulative CPU time in whole nanoseconds, as a cgroup's counter. */
  readonly cpuNs: number;
  readonly memoryBytes: number;
  /** Bytes on `eth0`; undefined for a cgroup without a network of its own (containers, `/kubepods.slice`). */
  readonly rxBytes: number | undefined;
  readonly txBytes: number | undefined;
}

/** The kubelet's (systemd driver) cgroup of a pod, by its QoS class, as `pod<uid>` with `_` for `-`. */
export function podCgroup(p: PodUsage): string {
  const uid = p.uid.replaceAll("-", "_");
  let anything = false;
  let guaranteed = p.containers.length > 0;
  for (const c of p.containers) {
    const req = [c.cpuRequestMilli, c.memoryRequestBytes];
    const lim = [c.cpuLimitMilli, c.memoryLimitBytes];
    if (req.some((v) => v !== undefined) || lim.some((v) => v !== undefined)) anything = true;
    if (lim.some((v) => v === undefined) || c.cpuRequestMilli !== c.cpuLimitMilli) guaranteed = false;
    if (c.memoryRequestBytes !== c.memoryLimitBytes) guaranteed = false;
  }
  if (guaranteed) return `/kubepods.slice/kubepods-pod${uid}.slice`;
  const qos = anything ? "burstable" : "besteffort";
  return `/kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${uid}.slice`;
}

/** The runtime's id of a container (64 hex digits), as its status's `containerID` after the scheme. */
function runtimeId(c: ContainerUsage): string {
  const id = containerId(c.pod.uid, c.name);
  return id.slice(id.indexOf("://") + 3);
}

const esc = (v: string): string =>
  v.includes("\\") || v.includes('"') || v.includes("\n")
    ? v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")
    : v;

/** The label set with an extra label (`cpu`, `interface`) in its place by name, as client_golang sorts them. */
function labels(g: Cgroup, extra?: readonly [string, string]): string {
  const pairs: [string, string][] = [
    ["container", g.container],
    ["id", g.id],
    ["image", g.image],
    ["name", g.name],
    ["namespace", g.namespace],
    ["pod", g.pod],
  ];
  if (extra) {
    pairs.push([extra[0], extra[1]]);
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
  return `{${pairs.map(([k, v]) => `${k}="${esc(v)}"`).join(",")}}`;
}

/** Series order of client_golang's gatherer: by label values, in label-name order. */
function compareCgroups(a: Cgroup, b: Cgroup): number {
  for (const k of ["container", "id", "image", "name", "namespace", "pod"] as const) {
    if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  }
  return 0;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  /** The value for a cgroup; undefined leaves the cgroup out of the family. */
  readonly value: (g: Cgroup) => number | undefined;
  readonly extra?: readonly [string, string];
  /** Without the sample's timestamp (cAdvisor's spec series). */
  readonly untimed?: boolean;
}

/** User time in whole nanoseconds (cgroup counters are integers): user and system add up to the usage. */
const userNs = (g: Cgroup): number => Math.floor(g.cpuNs * USER_CPU_SHARE);
const ws = (g: Cgroup): number => g.memoryBytes;
const rss = (g: Cgroup): number => Math.round(g.memoryBytes * RSS_OF_WORKING_SET);
const usage = (g: Cgroup): number => Math.round(g.memoryBytes * (1 + CACHE_OF_WORKING_SET));
const packets = (bytes: number | undefined): number | undefined =>
  bytes === undefined ? undefined : Math.floor(bytes / PACKET_BYTES);
const zeroIfNet = (g: Cgroup): number | undefined => (g.rxBytes === undefined ? undefined : 0);
const ETH0 = ["interface", "eth0"] as const;

/** The families served, in name order (the registry's), with cAdvisor's names, help and types. */
const FAMILIES: readonly Family[] = [
  {
    name: "container_cpu_system_seconds_total",
    help: "Cumulative system cpu time consumed in seconds.",
    type: "counter",
    value: (g) => (g.cpuNs - userNs(g)) / 1e9,
  },
  {
    name: "container_cpu_usage_seconds_total",
    help: "Cumulative cpu time consumed in seconds.",
    type: "counter",
    // cAdvisor leaves a cgroup that has used no CPU time yet out of this family.
    value: (g) => (g.cpuNs > 0 ? g.cpuNs / 1e9 : undefined),
    extra: ["cpu", "total"],
  },
  {
    name: "container_cpu_user_seconds_total",
    help: "Cumulative user cpu time consumed in seconds.",
    type: "counter",
    value: (g) => userNs(g) / 1e9,
  },
  {
    name: "container_last_seen",
    help: "Last time a container was seen by the exporter",
    type: "gauge",
    value: () => 0,
  },
  {
    name: "container_memory_cache",
    help: "Number of bytes of page cache memory.",
    type: "gauge",
    value: (g) => usage(g) - rss(g),
  },
  {
    name: "container_memory_failcnt",
    help: "Number of memory usage hits limits",
    type: "counter",
    value: () => 0,
  },
  { name: "container_memory_rss", help: "Size of RSS in bytes.", type: "gauge", value: rss },
  { name: "container_memory_swap", help: "Container swap usage in bytes.", type: "gauge", value: () => 0 },
  {
    name: "container_memory_usage_bytes",
    help: "Current memory usage in bytes, including all memory regardless of when it was accessed",
    type: "gauge",
    value: usage,
  },
  {
    name: "container_memory_working_set_bytes",
    help: "Current working set in bytes.",
    type: "gauge",
    value: ws,
  },
  {
    name: "container_network_receive_bytes_total",
    help: "Cumulative count of bytes received",
    type: "counter",
    value: (g) => g.rxBytes,
    extra: ETH0,
  },
  {
    name: "container_network_receive_errors_total",
    help: "Cumulative count of errors encountered while receiving",
    type: "counter",
    value: zeroIfNet,
    extra: ETH0,
  },
  {
    name: "container_network_receive_packets_dropped_total",
    help: "Cumulative count of packets dropped while receiving",
    type: "counter",
    value: zeroIfNet,
    extra: ETH0,
  },
  {
    name: "container_network_receive_packets_total",
    help: "Cumulative count of packets received",
    type: "counter",
    value: (g) => packets(g.rxBytes),
    extra: ETH0,
  },
  {
    name: "container_network_transmit_bytes_total",
    help: "Cumulative count of bytes transmitted",
    type: "counter",
    value: (g) => g.txBytes,
    extra: ETH0,
  },
  {
    name: "container_network_transmit_errors_total",
    help: "Cumulative count of errors encountered while transmitting",
    type: "counter",
    value: zeroIfNet,
    extra: ETH0,
  },
  {
    name: "container_network_transmit_packets_dropped_total",
    help: "Cumulative count of packets dropped while transmitting",
    type: "counter",
    value: zeroIfNet,
    extra: ETH0,
  },
  {
    name: "container_network_transmit_packets_total",
    help: "Cumulative count of packets transmitted",
    type: "counter",
    value: (g) => packets(g.txBytes),
    extra: ETH0,
  },
  {
    name: "container_start_time_seconds",
    help: "Start time of the container since unix epoch in seconds.",
    type: "gauge",
    value: (g) => g.startSeconds,
    untimed: true,
  },
];

/** The node's cgroups at the model's last sample, in the gatherer's order. */
function cgroups(view: NodeApiView, model: NodeUsage): Cgroup[] {
  const s = model.last;
  const nodeStart = Math.floor(view.startedAtMs / 1000);
  const blank = { container: "", image: "", name: "", namespace: "", pod: "" };
  let podsMemory = 0;
  for (const p of s.pods) podsMemory += p.memoryBytes;
  const out: Cgroup[] = [
    {
      ...blank,
      id: "/",
      startSeconds: nodeStart,
      cpuNs: Math.floor(s.cpuNs),
      memoryBytes: s.memoryBytes,
      rxBytes: s.rxBytes,
      txBytes: s.txBytes,
    },
    {
      ...blank,
      id: "/kubepods.slice",
      startSeconds: nodeStart,
      cpuNs: Math.max(0, Math.floor(s.cpuNs - model.systemCpuNs(view, s.atMs))),
      memoryBytes: podsMemory,
      rxBytes: undefined,
      txBytes: undefined,
    },
  ];
  for (const p of s.pods) {
    const pod = podCgroup(p);
    out.push({
      ...blank,
      id: pod,
      namespace: p.namespace,
      pod: p.name,
      startSeconds: Math.floor(p.startedAtMs / 1000),
      cpuNs: Math.floor(p.cpuNs),
      memoryBytes: p.memoryBytes,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
    });
    for (const c of p.containers) {
      const id = runtimeId(c);
      out.push({
        container: c.name,
        id: `${pod}/cri-containerd-${id}.scope`,
        image: c.image === "" ? "" : normalizeImage(c.image),
        name: id,
        namespace: p.namespace,
        pod: p.name,
        startSeconds: Math.floor(c.startedAtMs / 1000),
        cpuNs: Math.floor(c.cpuNs),
        memoryBytes: c.memoryBytes,
        rxBytes: undefined,
        txBytes: undefined,
      });
    }
  }
  return out.sort(compareCgroups);
}

/**
 * `/metrics/cadvisor`: cAdvisor's container families for the node's cgroups (a millisecond
 * timestamp, the stats' time, on each usage sample; none on the start time), then its machine
 * families (`machine_cpu_cores`, `machine_memory_bytes`: the node's capacity, stamped with the
 * kubelet's start; `boot_id`, `machine_id` and `system_uuid` blank, as the node's status reports them).
 */
export function renderCadvisorMetrics(view: NodeApiView, nowMs: number, model: NodeUsage): string {
  const s = model.sample(view, nowMs);
  const ts = ` ${Math.floor(s.atMs)}\n`;
  const groups = cgroups(view, model);
  let out = "";
  for (const f of FAMILIES) {
    let body = "";
    for (const g of groups) {
      const v = f.name === "container_last_seen" ? Math.floor(s.atMs / 1000) : f.value(g);
      if (v === undefined) continue;
      body += `${f.name}${labels(g, f.extra)} ${promFloat(v)}${f.untimed ? "\n" : ts}`;
    }
    if (body !== "") out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${body}`;
  }
  // Machine info is read once, at the kubelet's start: its samples carry that time.
  const machine = '{boot_id="",machine_id="",system_uuid=""} ';
  const at = ` ${Math.floor(view.startedAtMs)}\n`;
  return (
    out +
    "# HELP machine_cpu_cores Number of logical CPU cores.\n# TYPE machine_cpu_cores gauge\n" +
    `machine_cpu_cores${machine}${promFloat(view.cpuCapacityMilli / 1000)}${at}` +
    "# HELP machine_memory_bytes Amount of memory installed on the machine.\n# TYPE machine_memory_bytes gauge\n" +
    `machine_memory_bytes${machine}${promFloat(view.memoryCapacityBytes)}${at}`
  );
}
