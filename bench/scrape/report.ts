/** What bench/scrape.ts prints and writes as Markdown beside its JSON. */
import type { ScrapeResult } from "./types.ts";

const f = (x: number | null | undefined, d = 1): string =>
  x === null || x === undefined ? "-" : Number.isFinite(x) ? x.toFixed(d) : String(x);

/** How long each poll's list took, "2.0, 13.2, ..." (polls of an older run know only their arrival). */
function listSeconds(polls: ScrapeResult["polls"]): string {
  const secs = polls.map((p) =>
    p.sentUnixSeconds === undefined ? NaN : p.atUnixSeconds - p.sentUnixSeconds,
  );
  return secs.every(Number.isFinite) && secs.length > 0 ? secs.map((s) => f(s)).join(", ") : "-";
}

/** The report as Markdown lines: the two windows side by side, metrics-server's figures, the verdict. */
export function reportLines(r: ScrapeResult, command: string, load: string): string[] {
  const { idle: i, scraped: s, metricsServer: m } = r;
  const idleMCpu = r.idleAfter
    ? (i.engineMCpuPerNode + r.idleAfter.engineMCpuPerNode) / 2
    : i.engineMCpuPerNode;
  const perMin = (n: number, secs: number): string => f((n / r.nodes / secs) * 300, 2);
  return [
    `# metrics-server scraping ${r.nodes.toLocaleString("en")} hollow nodes (${r.when})`,
    "",
    `\`${command}\`; load before the run: ${load}`,
    "",
    `Every node Ready after ${f(r.readySeconds)} s. Windows of ${f(i.seconds, 0)} s; metrics-server at --metric-resolution=${r.resolutionSeconds}s.`,
    "",
    "| window | engine mCPU/node | engine cores | engine RSS MB | KB/node | API server cores | metrics-server cores | metrics-server RSS MB | steal % |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    `| idle | ${f(i.engineMCpuPerNode, 3)} | ${f(i.engineCores, 3)} | ${f(i.engineRssMB)} | ${f(i.engineRssPerNodeKB)} | ${f(i.apiserverCores, 3)} | - | - | ${f(i.stealPercent)} |`,
    `| scraped | ${f(s.engineMCpuPerNode, 3)} | ${f(s.engineCores, 3)} | ${f(s.engineRssMB)} | ${f(s.engineRssPerNodeKB)} | ${f(s.apiserverCores, 3)} | ${f(s.metricsServerCores, 3)} | ${f(s.metricsServerRssMB)} | ${f(s.stealPercent)} |`,
    ...(r.idleAfter
      ? [
          `| idle after (metrics-server paused) | ${f(r.idleAfter.engineMCpuPerNode, 3)} | ${f(r.idleAfter.engineCores, 3)} | ${f(r.idleAfter.engineRssMB)} | ${f(r.idleAfter.engineRssPerNodeKB)} | ${f(r.idleAfter.apiserverCores, 3)} | - | - | ${f(r.idleAfter.stealPercent)} |`,
        ]
      : []),
    "",
    `Engine CPU scraped / idle: ${f(r.engineCpuRatio, 3)} (target <= 1.10${r.idleAfter ? "; idle: the mean of the windows before and after" : ""}); serving the scrape: ` +
      `${f(s.engineMCpuPerNode - idleMCpu, 3)} mCPU and ${f(r.engineRssDeltaPerNodeKB)} KB per node.`,
    `Warm-up: ${r.warmup.ok} requests to kubelets ok and ${r.warmup.failed} failed from metrics-server's start until every node was listed.`,
    `metrics-server: ${m.ticks.count} rounds, duration mean ${f(m.ticks.meanSeconds, 2)} s, p99 <= ${f(m.ticks.p99BoundSeconds)} s, worst <= ${f(m.ticks.maxBoundSeconds)} s; ` +
      `${m.kubeletRequestsOk} requests to kubelets ok, ${m.kubeletRequestsFailed} failed, mean ${f((m.kubeletRequests.meanSeconds ?? NaN) * 1000)} ms, p99 <= ${f(m.kubeletRequests.p99BoundSeconds, 3)} s; ` +
      `${m.nodesReached} nodes reached, the stalest ${f(m.stalestNodeAgeSeconds, 0)} s ago; points stored ${JSON.stringify(m.storedPoints)}.`,
    `Metrics API: every node listed ${f(r.allListedAfterSeconds)} s after metrics-server's start; polls in the window listed ` +
      `${r.polls.map((p) => p.listed).join(", ") || "-"} nodes in ${listSeconds(r.polls)} s each; kubectl top nodes listed ${r.topNodes ?? "-"}.`,
    `Reviews by the engine: ${r.reviews.inWindow.subjectAccessReviews} SubjectAccessReviews and ${r.reviews.inWindow.tokenReviews} TokenReviews in the window ` +
      `(${perMin(r.reviews.inWindow.subjectAccessReviews, r.reviews.windowSeconds)} per node per 5 min); since metrics-server's start ` +
      `(${f(r.reviews.sinceMetricsServerStart.seconds, 0)} s) ${r.reviews.sinceMetricsServerStart.subjectAccessReviews} and ${r.reviews.sinceMetricsServerStart.tokenReviews}.`,
    `Keeps up: ${r.keepsUp.keepsUp ? "yes" : `no (${r.keepsUp.reasons.join("; ")})`}.`,
  ];
}
