import { test } from "node:test";
import assert from "node:assert/strict";
import { aboveBaseline, reportLines } from "./report.ts";
import type { Row } from "./types.ts";

function row(nodes: number, over: Partial<Row> = {}): Row {
  return {
    nodes,
    traffic: "kubelet",
    leaseContentType: "application/vnd.kubernetes.protobuf",
    identity: "kubeconfig",
    proxy: true,
    registerSeconds: 12.34,
    rssMB: 140,
    cpuSecondsPerMinute: 0.6,
    watches: 9,
    staleLeases: 0,
    lateRenewals: 0,
    leaseLatenessP99Seconds: 0.25,
    leaseLatencyP99Seconds: 0.1,
    renewals: 6,
    engineCores: 0.01,
    apiserverCores: null,
    etcdCores: null,
    serverLeasePutP99Seconds: null,
    renewGapSeconds: { p50: 10.2, p99: 10.9, max: 11, samples: 5 },
    renewVisibleP99Seconds: 0.05,
    leasePutFailures: 0,
    watchErrors: 0,
    stealPercent: 0,
    ...over,
  };
}

const BASE = row(1);

test("per-node figures are above the 1-node process: memory over the other n-1 nodes, CPU over n", () => {
  const [r] = aboveBaseline(BASE, [row(1001, { rssMB: 140 + 100, cpuSecondsPerMinute: 0.6 + 6 })]);
  assert.equal(r?.rssPerNodeKB, (100 * 1024) / 1000);
  assert.ok(Math.abs((r?.mCpuPerNode ?? 0) - 100 / 1001) < 1e-12); // 6 CPU-s a minute over 1001 nodes
  assert.equal(r?.nodes, 1001);
});

test("the printed report: baseline, one table line per size, burst and soak lines, the JSON's path", () => {
  const table = aboveBaseline(BASE, [
    row(50, {
      rssMB: 150,
      cpuSecondsPerMinute: 0.9,
      renewals: 300,
      lateRenewals: 2,
      apiserverCores: 0.31,
      etcdCores: 0.05,
      serverLeasePutP99Seconds: 0.025,
      stealPercent: 1.25,
    }),
    row(1000, {
      proxy: false,
      traffic: "minimal",
      rssMB: 300,
      renewGapSeconds: { p50: null, p99: null, max: null, samples: 0 },
      renewVisibleP99Seconds: null,
      rssPerPodKB: 20.5,
      podsRunning: 2000,
      burstLateness: { renewals: 100, over1s: 3, p99Seconds: 2, maxBoundSeconds: 5, seconds: 45.4 },
      soak: {
        rssMB: [300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311],
        growthAfter10MinPercent: 0.647,
        staleLeasesAtEnd: 0,
      },
    }),
  ]);
  assert.deepEqual(reportLines(BASE, table, "/repo/results/x.json"), [
    "baseline (1 node): RSS 140.0 MB",
    "| nodes | traffic | register s | RSS MB | KB/node | mCPU/node | stale leases | renewals | >1s late | lateness p99 s | renew latency p99 s | server PUT p99 s | renewTime gap p50/p99/max s | seen after p99 s | lease PUT failures | watch errors | steal % | cores engine/apiserver/etcd | KB/pod |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    "| 50 | kubelet+proxy | 12.3 | 150.0 | 209.0 | 0.100 | 0 | 300 | 2 | 0.25 | 0.10 | 0.03 | 10.20/10.90/11.00 | 0.05 | 0 | 0 | 1.3 | 0.01/0.31/0.05 | - |",
    "| 1000 | minimal | 12.3 | 300.0 | 164.0 | 0.000 | 0 | 6 | 0 | 0.25 | 0.10 | - | -/-/- | - | 0 | 0 | 0.0 | 0.01/-/- | 20.5 |",
    "pod burst at 1000 nodes (2000 pods, 45.4 s): 100 renewals, 3 over 1 s late, lateness p99 <= 2.00 s, worst <= 5.00 s (bucket bounds)",
    "soak at 1000 nodes: RSS 300.0 -> 309.0 (10 min) -> 311.0 MB (12 min); growth after the first 10 min 0.6 %; stale leases at the end 0",
    "JSON: /repo/results/x.json",
  ]);
});

test("connections and the API server's figures per node, above the 1-node run's", () => {
  const base = row(1, {
    identity: "node",
    engineConnections: 6,
    apiserver: { goroutines: 1000, rssMB: 400, cores: 0.05 },
    load1: 1.5,
  });
  const table = aboveBaseline(base, [
    row(1001, {
      identity: "node",
      connections: "per-node",
      engineConnections: 4006,
      apiserver: { goroutines: 9000, rssMB: 500, cores: 0.15 },
      load1: 2.25,
    }),
  ]);
  const p = table[0]!.apiserverPerNode!;
  assert.equal(table[0]!.connectionsPerNode, 4);
  assert.equal(p.goroutines, 8);
  assert.equal(p.rssKB, 102.4);
  assert.ok(Math.abs(p.mCpu - 0.1) < 1e-12);
  const lines = reportLines(base, table, "/x.json");
  assert.equal(
    lines[0],
    "baseline (1 node): RSS 140.0 MB, 6 connections to the API server; API server RSS 400.0 MB, 1000 goroutines",
  );
  assert.ok(
    lines.includes("| 1001 | node | per-node | 4006 | 4.00 | 500.0 | 102.4 | 9000 | 8.00 | 0.100 | 2.25 |"),
  );
});
