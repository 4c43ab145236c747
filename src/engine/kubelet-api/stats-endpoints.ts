/*
 * The kubelet's metrics endpoints for one hollow node (#19), rendered from its usage model:
 * `/metrics/resource` (what metrics-server scrapes, as the kubelet's resource metrics collector
 * writes it: pkg/kubelet/metrics/collectors/resource_metrics.go) and `/metrics` (a few of the
 * kubelet's own series). Pure: a view, a time and the node's model in, Prometheus text out.
 */
import type { NodeUsage } from "../usage/node-usage.ts";
import type { NodeApiView } from "./node-view.ts";

/** The content type the kubelet answers a scrape without `Accept` with (Prometheus text 0.0.4). */
export const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

/**
 * A number as Go's Prometheus text encoder writes it (`strconv.AppendFloat(f, 'g', -1, 64)`):
 * the shortest digits, in exponent form (two exponent digits at least) below 1e-4 and from 1e6.
 */
export function promFloat(v: number): string {
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  const a = v < 0 ? -v : v;
  if (a >= 1e-4 && a < 1e6) return String(v);
  if (a >= 1e6 && a < 1e21) {
    // String() gives the same shortest digits in plain notation here: move the point (fast path
    // for memory bytes and start times, most of a scrape's numbers).
    const plain = String(a);
    const dot = plain.indexOf(".");
    const intLen = dot < 0 ? plain.length : dot;
    let digits = dot < 0 ? plain : plain.slice(0, dot) + plain.slice(dot + 1);
    let end = digits.length;
    while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
    digits = digits.slice(0, end);
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${v < 0 ? "-" : ""}${mantissa}e+${intLen - 1 < 10 ? "0" : ""}${intLen - 1}`;
  }
  const e = v.toExponential();
  const at = e.indexOf("e");
  const exp = e.slice(at + 2);
  return exp.length >= 2 ? e : `${e.slice(0, at + 2)}0${exp}`;
}

/** A family's HELP and TYPE lines; the kubelet's registry prefixes the help with the stability level. */
function header(name: string, stability: string, help: string, type: "counter" | "gauge"): string {
  return `# HELP ${name} [${stability}] ${help}\n# TYPE ${name} ${type}\n`;
}

const H_CONTAINER_CPU = header(
  "container_cpu_usage_seconds_total",
  "STABLE",
  "Cumulative cpu time consumed by the container in core-seconds",
  "counter",
);
const H_CONTAINER_MEMORY = header(
  "container_memory_working_set_bytes",
  "STABLE",
  "Current working set of the container in bytes",
  "gauge",
);
const H_CONTAINER_START = header(
  "container_start_time_seconds",
  "STABLE",
  "Start time of the container since unix epoch in seconds",
  "gauge",
);
const H_CONTAINER_SWAP = header(
  "container_swap_usage_bytes",
  "ALPHA",
  "Current amount of the container swap usage in bytes. Reported only on non-windows systems",
  "gauge",
);
const H_NODE_CPU = header(
  "node_cpu_usage_seconds_total",
  "STABLE",
  "Cumulative cpu time consumed by the node in core-seconds",
  "counter",
);
const H_NODE_MEMORY = header(
  "node_memory_working_set_bytes",
  "STABLE",
  "Current working set of the node in bytes",
  "gauge",
);
const H_NODE_SWAP = header(
  "node_swap_usage_bytes",
  "ALPHA",
  "Current swap usage of the node in bytes. Reported only on non-windows systems",
  "gauge",
);
const H_POD_CPU = header(
  "pod_cpu_usage_seconds_total",
  "STABLE",
  "Cumulative cpu time consumed by the pod in core-seconds",
  "counter",
);
const H_POD_MEMORY = header(
  "pod_memory_working_set_bytes",
  "STABLE",
  "Current working set of the pod in bytes",
  "gauge",
);
const H_POD_SWAP = header(
  "pod_swap_usage_bytes",
  "ALPHA",
  "Current amount of the pod swap usage in bytes. Reported only on non-windows systems",
  "gauge",
);
const SCRAPE_ERROR =
  header(
    "resource_scrape_error",
    "STABLE",
    "1 if there was an error while getting container metrics, 0 otherwise",
    "gauge",
  ) + "resource_scrape_error 0\n";

/**
 * `/metrics/resource` as a v1.36 kubelet writes it: families sorted by name, series sorted by
 * their label values, labels in name order, a millisecond timestamp on each usage sample (the
 * stats' time) and none on the start time. A container that has not started by `nowMs` is left
 * out (metrics-server takes a start after the sample for a restart and drops the pod), so is a
 * family with no series (the registry drops empty families). Swap usage is 0 (no swap), as on a
 * cgroup v2 node without swap; the deprecated `scrape_error` is hidden since 1.30.
 */
export function renderResourceMetrics(view: NodeApiView, nowMs: number, model: NodeUsage): string {
  const s = model.sample(view, nowMs);
  const ts = ` ${Math.floor(s.atMs)}\n`;
  let cpu = "";
  let memory = "";
  let start = "";
  let swap = "";
  for (const c of s.containers) {
    const labels = `{container="${c.name}",namespace="${c.pod.namespace}",pod="${c.pod.name}"} `;
    cpu += `container_cpu_usage_seconds_total${labels}${promFloat(c.cpuNs / 1e9)}${ts}`;
    memory += `container_memory_working_set_bytes${labels}${promFloat(c.memoryBytes)}${ts}`;
    start += `container_start_time_seconds${labels}${promFloat(c.startedAtMs / 1000)}\n`;
    swap += `container_swap_usage_bytes${labels}0${ts}`;
  }
  let out =
    s.containers.length === 0
      ? ""
      : H_CONTAINER_CPU +
        cpu +
        H_CONTAINER_MEMORY +
        memory +
        H_CONTAINER_START +
        start +
        H_CONTAINER_SWAP +
        swap;
  out +=
    `${H_NODE_CPU}node_cpu_usage_seconds_total ${promFloat(s.cpuNs / 1e9)}${ts}` +
    `${H_NODE_MEMORY}node_memory_working_set_bytes ${promFloat(s.memoryBytes)}${ts}` +
    `${H_NODE_SWAP}node_swap_usage_bytes 0${ts}`;
  if (s.pods.length > 0) {
    cpu = "";
    memory = "";
    swap = "";
    for (const p of s.pods) {
      const labels = `{namespace="${p.namespace}",pod="${p.name}"} `;
      cpu += `pod_cpu_usage_seconds_total${labels}${promFloat(p.cpuNs / 1e9)}${ts}`;
      memory += `pod_memory_working_set_bytes${labels}${promFloat(p.memoryBytes)}${ts}`;
      swap += `pod_swap_usage_bytes${labels}0${ts}`;
    }
    out += H_POD_CPU + cpu + H_POD_MEMORY + memory + H_POD_SWAP + swap;
  }
  return out + SCRAPE_ERROR;
}

/**
 * `/metrics`: a few of the kubelet's own series that a hollow node can report truthfully (its
 * name, its running pods and containers, when it started), in the kubelet's names and help
 * texts. The rest of a kubelet's registry (PLEG, runtime operations, histograms) is not modelled.
 */
export function renderKubeletMetrics(view: NodeApiView, nowMs: number, model: NodeUsage): string {
  const s = model.sample(view, nowMs);
  return (
    header("kubelet_node_name", "ALPHA", "The node's name. The count is always 1.", "gauge") +
    `kubelet_node_name{node="${view.name}"} 1\n` +
    header("kubelet_running_containers", "ALPHA", "Number of containers currently running", "gauge") +
    `kubelet_running_containers{container_state="running"} ${s.runningContainers}\n` +
    header("kubelet_running_pods", "ALPHA", "Number of pods that have a running pod sandbox", "gauge") +
    `kubelet_running_pods ${s.sandboxes}\n` +
    "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n" +
    "# TYPE process_start_time_seconds gauge\n" +
    `process_start_time_seconds ${promFloat(view.startedAtMs / 1000)}\n`
  );
}
