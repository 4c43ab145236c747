/**
 * One scrape run: a local cluster (`up --load-test`), one engine with a kubelet endpoint per node,
 * an idle window, then metrics-server started as `up --metrics-server` starts it, a wait until the
 * metrics API lists every node, and a window of its scraping; the engine, the API server and
 * metrics-server measured over both. The cluster is stopped at the end.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../../src/client/kube-client.ts";
import { loadClusterAccess } from "../../src/client/kubeconfig.ts";
import { cachedBinDir } from "../../src/controlplane/binaries.ts";
import { clusterLayout, readRecord, type ClusterRecord } from "../../src/controlplane/cluster-state.ts";
import { parseKubeVersion } from "../../src/controlplane/kube-version.ts";
import { downCluster, upCluster } from "../../src/controlplane/local-cluster.ts";
import { METRIC_RESOLUTION } from "../../src/controlplane/metrics-server/args.ts";
import { FleetWatch } from "../../src/fleet/fleet-watch.ts";
import { pickKubeletBlock } from "../../src/fleet/kubelet-ports.ts";
import { realClock } from "../../src/kernel/clock.ts";
import { resolvePaths } from "../../src/kernel/paths.ts";
import { waitUntil } from "../../src/kernel/wait.ts";
import { startEngine, type EngineProcess } from "../../test/engine-process.ts";
import { scrape } from "../engine-scale/metrics.ts";
import { machineTicks, processStats, stealPercentBetween, type ProcStats } from "../lib/proc-stats.ts";
import type { ScrapeOptions } from "./args.ts";
import {
  keepsUp,
  metricsServerFigures,
  parseMetricsServer,
  pollOf,
  reviewsMade,
  type MetricsPoll,
  type MetricsServerScrape,
} from "./figures.ts";
import type { ScrapeResult, WindowFigures } from "./types.ts";

const NAME = "bench";
const PREFIX = "scrape";
const RESOLUTION_S = Number.parseInt(METRIC_RESOLUTION, 10);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (s: string): void => void process.stderr.write(`  ${s}\n`);

interface Pids {
  engine: number;
  apiserver: number;
  metricsServer?: number;
}

/** CPU and memory of the engine, the API server and (when running) metrics-server over `ms`, running `during` meanwhile. */
async function measureWindow(
  pids: Pids,
  nodes: number,
  ms: number,
  enginePort: number,
  during: (endAt: number) => Promise<void>,
): Promise<WindowFigures> {
  const stats = async (pid: number | undefined): Promise<ProcStats | undefined> =>
    pid === undefined ? undefined : processStats(pid);
  const m0 = await scrape(enginePort);
  const [e0, a0, s0, t0] = [
    await stats(pids.engine),
    await stats(pids.apiserver),
    await stats(pids.metricsServer),
    await machineTicks(),
  ];
  const start = Date.now();
  await during(start + ms);
  const rest = start + ms - Date.now();
  if (rest > 0) await sleep(rest);
  const secs = (Date.now() - start) / 1000;
  const [e1, a1, s1, t1] = [
    await stats(pids.engine),
    await stats(pids.apiserver),
    await stats(pids.metricsServer),
    await machineTicks(),
  ];
  const m1 = await scrape(enginePort);
  const cores = (x0?: ProcStats, x1?: ProcStats): number | null =>
    x0 && x1 ? (x1.cpu - x0.cpu) / secs : null;
  const r0 = reviewsMade(m0);
  const r1 = reviewsMade(m1);
  return {
    seconds: secs,
    engineCores: cores(e0, e1)!,
    engineMCpuPerNode: (cores(e0, e1)! * 1000) / nodes,
    engineRssMB: e1!.rss / 1048576,
    engineRssPerNodeKB: e1!.rss / 1024 / nodes,
    apiserverCores: cores(a0, a1)!,
    metricsServerCores: cores(s0, s1),
    metricsServerRssMB: s1 ? s1.rss / 1048576 : null,
    stealPercent: stealPercentBetween(t0, t1),
    engineReviews: {
      tokenReviews: r1.tokenReviews - r0.tokenReviews,
      subjectAccessReviews: r1.subjectAccessReviews - r0.subjectAccessReviews,
    },
  };
}

/** Polls the metrics API's node list every resolution until `endAt`. */
async function pollMetricsApi(
  client: KubeClient,
  startAt: number,
  endAt: number,
  into: MetricsPoll[],
): Promise<void> {
  for (let next = Date.now() + RESOLUTION_S * 500; next < endAt; next += RESOLUTION_S * 1000) {
    await sleep(Math.max(0, next - Date.now()));
    const sent = Date.now();
    const list = await client.get<{ items: { metadata: { name: string }; timestamp: string }[] }>(
      "/apis/metrics.k8s.io/v1beta1/nodes",
    );
    into.push(pollOf(list.items, PREFIX, (Date.now() - startAt) / 1000, Date.now() / 1000, sent / 1000));
    const p = into.at(-1)!;
    log(
      `metrics API at ${p.atSeconds.toFixed(0)} s: ${p.listed} nodes listed in ${(p.atUnixSeconds - p.sentUnixSeconds).toFixed(1)} s`,
    );
  }
}

/** Runs the benchmark once at `options.nodes` nodes. */
export async function runScrape(options: ScrapeOptions): Promise<ScrapeResult> {
  const { nodes, settleMs, windowMs, warmupMs, metricsPort } = options;
  const stateDir = await mkdtemp(join(tmpdir(), "kubemark-scrape-"));
  const deps = { paths: resolvePaths(process.env, { stateDir }), env: process.env, clock: realClock };
  const layout = clusterLayout(deps.paths.stateDir, NAME);
  const record = async (): Promise<ClusterRecord> => {
    const rec = await readRecord(layout);
    if (!rec) throw new Error(`no record of the benchmark's cluster in ${layout.dir}`);
    return rec;
  };
  const info = await upCluster(deps, { name: NAME, loadTest: true });
  const client = new KubeClient(await loadClusterAccess({ kubeconfig: info.kubeconfig, env: process.env }));
  let engine: EngineProcess | undefined;
  try {
    const apiserver = (await record()).processes["kube-apiserver"]?.pid;
    if (!apiserver) throw new Error("the benchmark's cluster records no kube-apiserver process");
    const kubeletPort = await pickKubeletBlock(nodes, []);
    const t0 = Date.now();
    const profile = options.engineCpuProf;
    const env = profile
      ? { ...process.env, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profile}` }
      : process.env;
    if (profile) log(`the engine writes a CPU profile to ${profile} when it stops`);
    engine = startEngine(
      [
        "--kubeconfig",
        info.kubeconfig,
        "--nodes",
        String(nodes),
        "--name-prefix",
        PREFIX,
        "--fleet",
        PREFIX,
        "--kubelet-port",
        String(kubeletPort),
        "--metrics-port",
        String(metricsPort),
        "--stats-interval",
        "0",
        "--max-in-flight",
        "400",
      ],
      env,
    );
    const proc = engine;
    let ready = 0;
    const watch = new FleetWatch(client, {
      clock: realClock,
      fleet: PREFIX,
      namePrefix: PREFIX,
      onReadyCount: (n) => (ready = n),
    });
    watch.start();
    try {
      await waitUntil(() => Promise.resolve({ done: ready >= nodes, status: `${ready} of ${nodes} Ready` }), {
        what: `${nodes} hollow nodes to be Ready`,
        timeoutMs: 900_000,
        intervalMs: 1000,
        clock: realClock,
        failFast: () =>
          proc.child.exitCode !== null ? `hollow-node exited:\n${proc.logs().slice(-2000)}` : undefined,
      });
    } finally {
      watch.stop();
    }
    const readySeconds = (Date.now() - t0) / 1000;
    log(`${nodes} nodes Ready in ${readySeconds.toFixed(1)} s; settling ${settleMs / 1000} s`);
    await sleep(settleMs);
    const pids: Pids = { engine: proc.child.pid!, apiserver };
    log(`idle window: ${windowMs / 1000} s`);
    const idle = await measureWindow(pids, nodes, windowMs, metricsPort, () => Promise.resolve());

    const msStart = Date.now();
    const reviews0 = reviewsMade(await scrape(metricsPort));
    const up = await upCluster(deps, { name: NAME, loadTest: true, metricsServer: true });
    const rec = await record();
    const msPid = rec.metricsServer?.process?.pid;
    const msPort = rec.ports.metricsServer;
    if (!msPid || !msPort || !up.metricsServer?.available) {
      throw new Error(`metrics-server did not come up: ${JSON.stringify(up.metricsServer)}`);
    }
    log(
      `metrics-server up in ${((Date.now() - msStart) / 1000).toFixed(1)} s (pid ${msPid}, port ${msPort})`,
    );
    const access = await loadClusterAccess({ kubeconfig: info.kubeconfig, env: process.env });
    const ms = new KubeClient({ ...access, server: `https://127.0.0.1:${msPort}` });
    const msScrape = async (): Promise<MetricsServerScrape> =>
      parseMetricsServer(await ms.getText("/metrics"));
    let allListedAfter: number | null = null;
    try {
      await waitUntil(
        async () => {
          const list = await client.get<{ items: { metadata: { name: string }; timestamp: string }[] }>(
            "/apis/metrics.k8s.io/v1beta1/nodes",
          );
          const n = pollOf(list.items, PREFIX, 0, 0).listed;
          return { done: n >= nodes, status: `${n} of ${nodes} nodes in the metrics API` };
        },
        {
          what: "metrics-server to list every node",
          timeoutMs: warmupMs,
          intervalMs: 2000,
          clock: realClock,
        },
      );
      allListedAfter = (Date.now() - msStart) / 1000;
      log(`every node in the metrics API ${allListedAfter.toFixed(1)} s after metrics-server's start`);
    } catch (err) {
      log(`warm-up: ${(err as Error).message}; measuring anyway`);
    }
    const s0 = await msScrape();
    const w = metricsServerFigures({ series: {}, lastRequest: {} }, s0, Date.now() / 1000);
    const warmup = { ok: w.kubeletRequestsOk, failed: w.kubeletRequestsFailed };
    log(`warm-up: ${warmup.ok} requests to kubelets ok, ${warmup.failed} failed`);
    const polls: MetricsPoll[] = [];
    log(`scraped window: ${windowMs / 1000} s`);
    const scraped = await measureWindow(
      { ...pids, metricsServer: msPid },
      nodes,
      windowMs,
      metricsPort,
      (endAt) => pollMetricsApi(client, Date.now(), endAt, polls),
    );
    const s1 = await msScrape();
    const reviews1 = reviewsMade(await scrape(metricsPort));
    await ms.close();
    const figures = metricsServerFigures(s0, s1, Date.now() / 1000);
    const kubectl = join(cachedBinDir(deps.paths.cacheDir, parseKubeVersion(info.version)), "kubectl");
    const top = spawnSync(kubectl, ["--kubeconfig", info.kubeconfig, "top", "nodes", "--no-headers"], {
      encoding: "utf8",
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const topNodes =
      top.status === 0 ? top.stdout.split("\n").filter((l) => l.startsWith(`${PREFIX}-`)).length : null;
    const sinceStart = (Date.now() - msStart) / 1000;
    // Idle again, metrics-server paused (its connections stay open): the engine's idle CPU drifts
    // by as much as the scrape costs, so the scraped window is set against both sides of it.
    let idleAfter: WindowFigures | null = null;
    if (options.idleAfter) {
      process.kill(msPid, "SIGSTOP");
      try {
        await sleep(5_000);
        log(`idle window after, metrics-server paused: ${windowMs / 1000} s`);
        idleAfter = await measureWindow(pids, nodes, windowMs, metricsPort, () => Promise.resolve());
      } finally {
        process.kill(msPid, "SIGCONT");
      }
    }
    const idleCores = idleAfter ? (idle.engineCores + idleAfter.engineCores) / 2 : idle.engineCores;
    return {
      when: new Date().toISOString(),
      nodes,
      resolutionSeconds: RESOLUTION_S,
      readySeconds,
      idle,
      scraped,
      idleAfter,
      engineCpuRatio: scraped.engineCores / idleCores,
      warmup,
      engineRssDeltaPerNodeKB: ((scraped.engineRssMB - idle.engineRssMB) * 1024) / nodes,
      metricsServer: figures,
      allListedAfterSeconds: allListedAfter,
      polls,
      topNodes,
      reviews: {
        windowSeconds: scraped.seconds,
        inWindow: scraped.engineReviews,
        sinceMetricsServerStart: {
          seconds: sinceStart,
          tokenReviews: reviews1.tokenReviews - reviews0.tokenReviews,
          subjectAccessReviews: reviews1.subjectAccessReviews - reviews0.subjectAccessReviews,
        },
      },
      keepsUp: keepsUp(figures, polls, nodes, RESOLUTION_S),
    };
  } finally {
    await engine?.stop("SIGTERM");
    await client.close();
    await downCluster(deps, { name: NAME });
    await rm(stateDir, { recursive: true, force: true });
  }
}
