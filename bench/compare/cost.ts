/** A cost row from two /proc samples around an idle window, and what the nodes cost the API server. */
import { dispatchedBetween, type ApiserverSnapshot } from "../lib/apiserver-metrics.ts";
import type { ProcStats } from "../lib/proc-stats.ts";
import type { ApiserverCost, CostRow, SystemName } from "./types.ts";

/** What was sampled at the start and the end of an idle window of `seconds`. */
export interface IdleWindow {
  seconds: number;
  /** The system's processes at the start and the end. */
  system: readonly [ProcStats, ProcStats];
  apiserver: readonly [ProcStats, ProcStats];
  etcd: readonly [ProcStats, ProcStats];
  /** Nodes whose Lease was seen stale during the window. */
  missedLeases: number;
}

/**
 * The cost of `n` idle nodes of a system over a window: memory at the end, CPU over the window
 * per node, and the control plane's cores. `note` (when given) says what the figures cover.
 */
export function costRow(
  system: SystemName,
  n: number,
  readySeconds: number | null,
  w: IdleWindow,
  note?: string,
): CostRow {
  const [s0, s1] = w.system;
  const [a0, a1] = w.apiserver;
  const [e0, e1] = w.etcd;
  const cpuPerNodeMinute = ((s1.cpu - s0.cpu) / n / w.seconds) * 60;
  return {
    system,
    nodes: n,
    readySeconds,
    rssMB: s1.rss / 1048576,
    rssPerNodeKB: s1.rss / 1024 / n,
    cpuSecondsPerNodeMinute: cpuPerNodeMinute,
    mCpuPerNode: (cpuPerNodeMinute / 60) * 1000,
    missedLeases: w.missedLeases,
    apiserverCpuCores: (a1.cpu - a0.cpu) / w.seconds,
    etcdCpuCores: (e1.cpu - e0.cpu) / w.seconds,
    apiserverRssMB: a1.rss / 1048576,
    ...(note === undefined ? {} : { note }),
  };
}

/** The API server before a system started: its memory, its /metrics, and its idle CPU (cores). */
export interface ApiserverBaseline {
  rss: number;
  metrics: ApiserverSnapshot;
  cores: number;
}

/**
 * What `n` nodes cost the API server: memory and goroutines at the end of the idle window over the
 * baseline, per node; CPU over the window less the baseline's idle cores, per node; and the
 * requests APF dispatched in the window (`window[0]` and `[1]`, `seconds` apart) by flow schema.
 */
export function apiserverCost(
  n: number,
  base: ApiserverBaseline,
  end: { rss: number; cores: number },
  window: readonly [ApiserverSnapshot, ApiserverSnapshot],
  seconds: number,
): ApiserverCost {
  const [m0, m1] = window;
  const heap =
    m1.heapInuseBytes === undefined || base.metrics.heapInuseBytes === undefined
      ? null
      : (m1.heapInuseBytes - base.metrics.heapInuseBytes) / 1024 / n;
  return {
    baselineRssMB: base.rss / 1048576,
    rssPerNodeKB: (end.rss - base.rss) / 1024 / n,
    heapPerNodeKB: heap,
    baselineGoroutines: base.metrics.goroutines,
    goroutines: m1.goroutines,
    goroutinesPerNode: (m1.goroutines - base.metrics.goroutines) / n,
    baselineCores: base.cores,
    mCpuPerNode: ((end.cores - base.cores) * 1000) / n,
    flows: dispatchedBetween(m0, m1, seconds),
  };
}
