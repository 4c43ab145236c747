/** What bench/engine-scale.ts prints: the per-node figures above the baseline, the table, and the burst and soak lines. */
import type { Row, TableRow } from "./types.ts";

/** Each size's per-node figures above the 1-node process `base` (its runtime and libraries). */
export function aboveBaseline(base: Row, rows: readonly Row[]): TableRow[] {
  return rows.map((r) => {
    const a = r.apiserver;
    const b = base.apiserver;
    const conns = r.engineConnections;
    const baseConns = base.engineConnections;
    return {
      ...r,
      rssPerNodeKB: ((r.rssMB - base.rssMB) * 1024) / (r.nodes - 1),
      mCpuPerNode: ((r.cpuSecondsPerMinute - base.cpuSecondsPerMinute) / 60 / r.nodes) * 1000,
      apiserverPerNode:
        a && b
          ? {
              rssKB: ((a.rssMB - b.rssMB) * 1024) / (r.nodes - 1),
              mCpu: ((a.cores - b.cores) * 1000) / (r.nodes - 1),
              goroutines: (a.goroutines - b.goroutines) / (r.nodes - 1),
            }
          : null,
      connectionsPerNode:
        conns !== undefined && conns !== null && baseConns !== undefined && baseConns !== null
          ? (conns - baseConns) / (r.nodes - 1)
          : null,
    };
  });
}

const f = (x: number | null | undefined, d = 1): string =>
  x === null || x === undefined ? "-" : x.toFixed(d);

/** The printed report, one string per line: baseline, Markdown table, burst and soak lines, where the JSON went. */
export function reportLines(base: Row, table: readonly TableRow[], file: string): string[] {
  const lines: string[] = [];
  const ba = base.apiserver;
  // Connections and the API server's own figures: rows measured before they were are left as they were.
  const serverSide = [base, ...table].some((r) => r.apiserver || typeof r.engineConnections === "number");
  lines.push(
    serverSide
      ? `baseline (1 node): RSS ${f(base.rssMB)} MB, ${base.engineConnections ?? "-"} connections to the API server; API server RSS ${f(ba?.rssMB)} MB, ${ba?.goroutines ?? "-"} goroutines`
      : `baseline (1 node): RSS ${f(base.rssMB)} MB`,
  );
  lines.push(
    "| nodes | traffic | register s | RSS MB | KB/node | mCPU/node | stale leases | renewals | >1s late | lateness p99 s | renew latency p99 s | server PUT p99 s | renewTime gap p50/p99/max s | seen after p99 s | lease PUT failures | watch errors | steal % | cores engine/apiserver/etcd | KB/pod |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of table) {
    lines.push(
      `| ${r.nodes} | ${r.traffic}${r.proxy ? "+proxy" : ""} | ${f(r.registerSeconds)} | ${f(r.rssMB)} | ${f(r.rssPerNodeKB)} | ${f(r.mCpuPerNode, 3)} | ${r.staleLeases} | ${r.renewals} | ${r.lateRenewals} | ${f(r.leaseLatenessP99Seconds, 2)} | ${f(r.leaseLatencyP99Seconds, 2)} | ${f(r.serverLeasePutP99Seconds, 2)} | ${f(r.renewGapSeconds.p50, 2)}/${f(r.renewGapSeconds.p99, 2)}/${f(r.renewGapSeconds.max, 2)} | ${f(r.renewVisibleP99Seconds, 2)} | ${r.leasePutFailures ?? "-"} | ${r.watchErrors ?? "-"} | ${f(r.stealPercent)} | ${f(r.engineCores, 2)}/${f(r.apiserverCores, 2)}/${f(r.etcdCores, 2)} | ${f(r.rssPerPodKB)} |`,
    );
  }
  if (serverSide)
    lines.push(
      "| nodes | identity | connections | engine conns | conns/node | apiserver RSS MB | apiserver KB/node | goroutines | goroutines/node | apiserver mCPU/node | load 1m |",
    );
  if (serverSide) lines.push("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of serverSide ? table : []) {
    const a = r.apiserver;
    const p = r.apiserverPerNode;
    lines.push(
      `| ${r.nodes} | ${r.identity} | ${r.connections ?? "default"} | ${r.engineConnections ?? "-"} | ${f(r.connectionsPerNode, 2)} | ${f(a?.rssMB)} | ${f(p?.rssKB)} | ${a?.goroutines ?? "-"} | ${f(p?.goroutines, 2)} | ${f(p?.mCpu, 3)} | ${f(r.load1, 2)} |`,
    );
  }
  for (const r of table) {
    if (r.burstLateness) {
      const b = r.burstLateness;
      lines.push(
        `pod burst at ${r.nodes} nodes (${r.podsRunning} pods, ${f(b.seconds)} s): ${b.renewals} renewals, ${b.over1s} over 1 s late, lateness p99 <= ${f(b.p99Seconds, 2)} s, worst <= ${f(b.maxBoundSeconds, 2)} s (bucket bounds)`,
      );
    }
    if (r.soak) {
      const s = r.soak;
      lines.push(
        `soak at ${r.nodes} nodes: RSS ${f(s.rssMB[0])} -> ${f(s.rssMB[9])} (10 min) -> ${f(s.rssMB.at(-1))} MB (${s.rssMB.length} min); growth after the first 10 min ${f(s.growthAfter10MinPercent)} %; stale leases at the end ${s.staleLeasesAtEnd}`,
      );
    }
  }
  lines.push(`JSON: ${file}`);
  return lines;
}
