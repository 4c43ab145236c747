import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpuSecondsFromStat,
  describeMachine,
  machineTicks,
  machineTicksFromStat,
  processStats,
  stealPercentBetween,
  rssFromStatus,
  summedProcessStats,
} from "./proc-stats.ts";

test("/proc/<pid>/status: VmRSS in bytes, 0 without the line (a zombie)", () => {
  assert.equal(
    rssFromStatus("Name:\tnode\nVmPeak:\t 900 kB\nVmRSS:\t  143360 kB\nThreads: 11\n"),
    143360 * 1024,
  );
  assert.equal(rssFromStatus("Name:\tnode\nState:\tZ (zombie)\n"), 0);
});

test("/proc/<pid>/stat: utime + stime in seconds, counted from the last ')' of the command name", () => {
  // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
  const rest = "S 1 2 3 0 -1 4194304 10 0 0 0 250 130 0 0 20 0 11 0";
  assert.equal(cpuSecondsFromStat(`1234 (node) ${rest}`), 3.8);
  assert.equal(cpuSecondsFromStat(`1234 (a) b (c)) ${rest}`), 3.8);
});

test("/proc/stat: all CPUs' ticks and the steal among them", () => {
  const stat = "cpu  100 5 50 800 10 0 5 30 0 0\ncpu0 50 2 25 400 5 0 2 15 0 0\n";
  assert.deepEqual(machineTicksFromStat(stat), { total: 1000, steal: 30 });
});

test("steal share between two readings; 0 when no tick passed", () => {
  assert.equal(stealPercentBetween({ total: 1000, steal: 30 }, { total: 1400, steal: 50 }), 5);
  assert.equal(stealPercentBetween({ total: 1000, steal: 30 }, { total: 1000, steal: 30 }), 0);
});

test("cores and memory from /proc/cpuinfo and /proc/meminfo", () => {
  const cpuinfo = "processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\nmodel name\t: x\n";
  assert.equal(describeMachine(cpuinfo, "MemTotal:       24575000 kB\nMemFree: 1 kB\n"), "2 cores, 23 GiB");
});

test("this process: memory and CPU read from /proc; a gone process fails alone, counts zero in a sum", async () => {
  const self = await processStats(process.pid);
  assert.ok(self.rss > 10 * 1024 * 1024, `RSS ${self.rss}`);
  assert.ok(self.cpu > 0, `CPU ${self.cpu}`);
  const exited = spawnSync("true").pid;
  await assert.rejects(processStats(exited));
  const sum = await summedProcessStats([process.pid, exited]);
  assert.ok(sum.rss >= self.rss && sum.cpu >= self.cpu);
  assert.deepEqual(await summedProcessStats([exited]), { rss: 0, cpu: 0 });
  const ticks = await machineTicks();
  assert.ok(ticks.total > 0 && ticks.steal >= 0 && ticks.steal <= ticks.total);
});
