/**
 * What the benchmarks read from /proc: a process's resident memory and CPU time, the machine's CPU
 * ticks (and how many the hypervisor stole), and a one-line description of the machine. Both
 * benchmarks sample through here, so "RSS" and "CPU seconds" mean the same in their results.
 */
import { readFile } from "node:fs/promises";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
export const CLK_TCK = 100;

/** Resident memory (bytes) and CPU time (user + system, seconds) of one or more processes. */
export interface ProcStats {
  rss: number;
  cpu: number;
}

/** Resident memory in bytes from the text of /proc/<pid>/status (its VmRSS line; 0 without one). */
export function rssFromStatus(status: string): number {
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

/**
 * CPU seconds (utime + stime) from the text of /proc/<pid>/stat. The command name in parentheses
 * may hold spaces and parentheses itself, so the fields are counted from the last ")".
 */
export function cpuSecondsFromStat(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** RSS and CPU time of one process; rejects when it is gone (its /proc entry cannot be read). */
export async function processStats(pid: number): Promise<ProcStats> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rss = rssFromStatus(status);
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return { rss, cpu: cpuSecondsFromStat(stat) };
}

/** RSS and CPU time summed over a set of processes; processes that have exited count zero. */
export async function summedProcessStats(pids: readonly number[]): Promise<ProcStats> {
  let rss = 0;
  let cpu = 0;
  for (const pid of pids) {
    try {
      const s = await processStats(pid);
      rss += s.rss;
      cpu += s.cpu;
    } catch {
      // exited
    }
  }
  return { rss, cpu };
}

/** The machine's CPU time so far, in ticks over all CPUs, and the part the hypervisor took. */
export interface MachineTicks {
  total: number;
  steal: number;
}

/** {@link MachineTicks} from the text of /proc/stat (its first, all-CPU line). */
export function machineTicksFromStat(procStat: string): MachineTicks {
  const line = procStat.split("\n", 1)[0] ?? "";
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}

/**
 * The machine's CPU ticks so far (/proc/stat) and how many of them the hypervisor took (steal):
 * on a VM, stolen time stalls every process at once, the engine's timers included.
 */
export async function machineTicks(): Promise<MachineTicks> {
  return machineTicksFromStat(await readFile("/proc/stat", "utf8"));
}

/** The share (%) of the machine's CPU ticks between two readings that the hypervisor stole. */
export function stealPercentBetween(t0: MachineTicks, t1: MachineTicks): number {
  return t1.total > t0.total ? (100 * (t1.steal - t0.steal)) / (t1.total - t0.total) : 0;
}

/** "N cores, M GiB" from the text of /proc/cpuinfo and /proc/meminfo. */
export function describeMachine(cpuinfo: string, meminfo: string): string {
  const cores = cpuinfo.split("\n").filter((l) => l.startsWith("processor")).length;
  const gib = Math.round(Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0) / 1048576);
  return `${cores} cores, ${gib} GiB`;
}

/** This machine's cores and memory, as {@link describeMachine} says them. */
export async function machineDescription(): Promise<string> {
  return describeMachine(await readFile("/proc/cpuinfo", "utf8"), await readFile("/proc/meminfo", "utf8"));
}
