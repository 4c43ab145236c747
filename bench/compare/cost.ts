/** A cost row from two /proc samples around an idle window. */
import type { ProcStats } from "../lib/proc-stats.ts";
import type { CostRow, SystemName } from "./types.ts";

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
