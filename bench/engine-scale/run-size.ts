/**
 * One engine process at one size: start it, wait for registration, settle, measure an idle window
 * (the engine's and the control plane's CPU and memory, Lease health from the engine's metrics and
 * from a watcher), then optionally a soak and a pod burst; stop it.
 */
import { loadavg } from "node:os";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { realClock } from "../../src/kernel/clock.ts";
import { FleetWatch } from "../../src/fleet/fleet-watch.ts";
import { FLEET_LABEL, NODES_PATH } from "../../src/kernel/k8s.ts";
import { quantile } from "../../src/kernel/quantile.ts";
import { waitUntil } from "../../src/kernel/wait.ts";
import { startEngine, type EngineProcess } from "../../test/engine-process.ts";
import { machineTicks, processStats, stealPercentBetween } from "../lib/proc-stats.ts";
import { listStaleLeases } from "../lib/stale-leases.ts";
import type { EngineScaleOptions } from "./args.ts";
import { engineConnections } from "./connections.ts";
import { observeLeases } from "./lease-observer.ts";
import {
  histogramP99,
  latenessOver,
  leasePutFailures,
  scrape,
  serverLeasePutBuckets,
  serverProcess,
} from "./metrics.ts";
import type { ControlPlane, Row } from "./types.ts";

/** Lease age after which a node counts as having missed its heartbeat (the kubelet's 40 s duration). */
const LEASE_DURATION_MS = 40_000;

/** Where a run happens: the engine's kubeconfig, an admin client, the control plane (when ours). */
export interface RunScope {
  options: EngineScaleOptions;
  /** The kubeconfig the engine runs with (the fleet identity's with `--identity fleet`). */
  kubeconfig: string;
  client: KubeClient;
  cp: ControlPlane | undefined;
}

async function countStaleLeases(client: KubeClient, prefix: string): Promise<number> {
  return (await listStaleLeases(client, prefix, LEASE_DURATION_MS)).length;
}

/** Runs the engine with `nodes` nodes and measures it; `baseline` (the 1-node run) is never soaked. */
export async function runSize(scope: RunScope, nodes: number, baseline: boolean): Promise<Row> {
  const { options, kubeconfig, client, cp } = scope;
  const { windowMs, settleMs, podsPerNode, soakMinutes, registerTimeoutMs } = options;
  const port = options.metricsPort;
  const prefix = `bench-${nodes}`;
  const engine: EngineProcess = startEngine([
    "--kubeconfig",
    kubeconfig,
    "--nodes",
    String(nodes),
    "--name-prefix",
    prefix,
    "--fleet",
    prefix,
    "--traffic",
    options.traffic,
    "--metrics-port",
    String(port),
    "--stats-interval",
    "0",
    "--max-in-flight",
    "400",
    "--kube-api-content-type",
    options.leaseContentType,
    "--delete-nodes-on-exit",
    ...(options.proxy ? [] : ["--no-proxy"]),
    ...(options.csiDriver ? ["--csi-driver", options.csiDriver] : []),
    // The kubeconfig's identity makes the nodes' CSRs (hollow-node's default bootstrap credential).
    ...(options.identity === "node" ? ["--identity", "node"] : []),
    ...(options.connections ? ["--connections", options.connections] : []),
  ]);
  const t0 = Date.now();
  // Start-up: every Node Ready (from a Node watch), and the renewals' lateness and gaps until then.
  let readyAt = 0;
  const readyWatch = new FleetWatch(client, {
    clock: realClock,
    fleet: prefix,
    namePrefix: prefix,
    onReadyCount: (n) => {
      if (n >= nodes && readyAt === 0) readyAt = Date.now();
    },
  });
  readyWatch.start();
  const startupObserver = observeLeases(client, `${prefix}-`);
  try {
    await waitUntil(
      () =>
        Promise.resolve({ done: engine.logs().includes('"msg":"nodes registered"'), status: "registering" }),
      {
        what: `${nodes} nodes to register`,
        timeoutMs: registerTimeoutMs,
        intervalMs: 500,
        clock: realClock,
        failFast: () =>
          engine.child.exitCode !== null ? `hollow-node exited:\n${engine.logs().slice(-2000)}` : undefined,
      },
    );
    const registerSeconds = (Date.now() - t0) / 1000;
    // The engine's own account of its pacing (registration-pacer.ts): windows, cuts, trace.
    const pacing = /\{[^\n]*"msg":"registration pacing"[^\n]*\}/.exec(engine.logs())?.[0];
    while (readyAt === 0 && Date.now() - t0 < registerTimeoutMs) await new Promise((r) => setTimeout(r, 200));
    readyWatch.stop();
    const startupLateness = latenessOver({}, await scrape(port));
    const startupGaps = (await startupObserver.stop()).gapsMs;
    const readySeconds = readyAt ? (readyAt - t0) / 1000 : null;
    const startupGapMaxSeconds = (quantile(startupGaps, 1) ?? 0) / 1000;
    process.stderr.write(
      `  ${nodes} nodes registered in ${registerSeconds.toFixed(1)}s, all Ready in ${readySeconds?.toFixed(1) ?? "-"}s ` +
        `(start-up renewals ${startupLateness.renewals}, ${startupLateness.over1s} over 1 s late, lateness p99 ` +
        `${startupLateness.p99Seconds ?? "-"} s, renewal gap max ${startupGapMaxSeconds.toFixed(1)} s); settling ${settleMs / 1000}s\n`,
    );
    await new Promise((r) => setTimeout(r, settleMs));
    const pid = engine.child.pid!;
    const m0 = await scrape(port);
    const a0 = cp ? await processStats(cp.apiserver) : undefined;
    const e0 = cp ? await processStats(cp.etcd) : undefined;
    const sm0 = await serverLeasePutBuckets(client);
    const sp0 = await serverProcess(client).catch(() => undefined);
    const observer = observeLeases(client, `${prefix}-`);
    const s0 = await processStats(pid);
    const ticks0 = await machineTicks();
    await new Promise((r) => setTimeout(r, windowMs));
    const s1 = await processStats(pid);
    const ticks1 = await machineTicks();
    const seen = await observer.stop();
    const sec = (ms: number | null): number | null => (ms === null ? null : ms / 1000);
    const a1 = cp ? await processStats(cp.apiserver) : undefined;
    const e1 = cp ? await processStats(cp.etcd) : undefined;
    const sm1 = await serverLeasePutBuckets(client);
    const sp1 = await serverProcess(client).catch(() => undefined);
    const conns = await engineConnections(pid, client.server).catch(() => null);
    const m1 = await scrape(port);
    const cores = (x0: { cpu: number } | undefined, x1: { cpu: number } | undefined): number | null =>
      x0 && x1 ? (x1.cpu - x0.cpu) / (windowMs / 1000) : null;
    const lateness = latenessOver(m0, m1);
    const row: Row = {
      nodes,
      traffic: options.traffic,
      leaseContentType: options.leaseContentType,
      identity: options.identity,
      csiDriver: options.csiDriver,
      proxy: options.proxy,
      registerSeconds,
      readySeconds,
      pacing: pacing ? (JSON.parse(pacing) as object) : null,
      startupLateness,
      startupGapMaxSeconds,
      rssMB: s1.rss / 1048576,
      cpuSecondsPerMinute: ((s1.cpu - s0.cpu) / windowMs) * 60_000,
      watches: m1["hollow_watch_opens_total"] ?? null,
      staleLeases: await countStaleLeases(client, prefix),
      lateRenewals: lateness.over1s,
      leaseLatenessP99Seconds: lateness.p99Seconds,
      leaseLatencyP99Seconds: histogramP99(m0, m1, "hollow_lease_renew_seconds"),
      renewals: lateness.renewals,
      engineCores: (s1.cpu - s0.cpu) / (windowMs / 1000),
      apiserverCores: cores(a0, a1),
      etcdCores: cores(e0, e1),
      serverLeasePutP99Seconds: histogramP99(sm0, sm1, "apiserver_request_duration_seconds"),
      renewGapSeconds: {
        p50: sec(quantile(seen.gapsMs, 0.5) ?? null),
        p99: sec(quantile(seen.gapsMs, 0.99) ?? null),
        max: sec(quantile(seen.gapsMs, 1) ?? null),
        samples: seen.gapsMs.length,
      },
      renewVisibleP99Seconds: sec(quantile(seen.visibleMs, 0.99) ?? null),
      leasePutFailures: leasePutFailures(m1) - leasePutFailures(m0),
      watchErrors: (m1["hollow_watch_errors_total"] ?? 0) - (m0["hollow_watch_errors_total"] ?? 0),
      stealPercent: stealPercentBetween(ticks0, ticks1),
      connections: options.connections ?? null,
      engineConnections: conns,
      apiserver:
        sp0 && sp1
          ? {
              goroutines: sp1.goroutines,
              rssMB: sp1.rssBytes / 1048576,
              cores: (sp1.cpuSeconds - sp0.cpuSeconds) / (windowMs / 1000),
            }
          : null,
      load1: loadavg()[0]!,
    };
    // The one-node baseline is measured once, not soaked.
    if (soakMinutes > 0 && !baseline) {
      process.stderr.write(`  soak: ${soakMinutes} min, RSS sampled every minute\n`);
      const rssMB: number[] = [];
      for (let i = 0; i < soakMinutes; i++) {
        await new Promise((r) => setTimeout(r, 60_000));
        rssMB.push((await processStats(pid)).rss / 1048576);
        process.stderr.write(`    minute ${i + 1}: RSS ${rssMB.at(-1)!.toFixed(1)} MB\n`);
      }
      const at10 = rssMB[9];
      row.soak = {
        rssMB,
        growthAfter10MinPercent:
          at10 !== undefined && rssMB.length > 10 ? (100 * (rssMB.at(-1)! - at10)) / at10 : null,
        staleLeasesAtEnd: await countStaleLeases(client, prefix),
      };
    }
    if (podsPerNode > 0) {
      const ns = `bench-${nodes}`;
      await client
        .request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: ns } } })
        .catch(() => undefined);
      const want = nodes * podsPerNode;
      // Before the pods (after a soak, if any): per-pod memory is measured from here.
      const burstM0 = await scrape(port);
      const sPre = await processStats(pid);
      const burstT0 = Date.now();
      await client.request({
        method: "POST",
        path: `/apis/apps/v1/namespaces/${ns}/deployments`,
        body: {
          metadata: { name: "pods" },
          spec: {
            replicas: want,
            selector: { matchLabels: { app: "bench" } },
            template: {
              metadata: { labels: { app: "bench" } },
              spec: {
                nodeSelector: { [FLEET_LABEL]: prefix },
                containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }],
              },
            },
          },
        },
      });
      await waitUntil(
        async () => {
          const d = await client.get<{ status?: { readyReplicas?: number } }>(
            `/apis/apps/v1/namespaces/${ns}/deployments/pods`,
          );
          const r = d.status?.readyReplicas ?? 0;
          return { done: r >= want, status: `${r}/${want} ready` };
        },
        { what: `${want} pods ready`, timeoutMs: 900_000, intervalMs: 2000, clock: realClock },
      );
      row.burstLateness = {
        ...latenessOver(burstM0, await scrape(port)),
        seconds: (Date.now() - burstT0) / 1000,
      };
      await new Promise((r) => setTimeout(r, 20_000));
      const s2 = await processStats(pid);
      const m2 = await scrape(port);
      const perPod = (k: string): number => ((m2[k] ?? 0) - (burstM0[k] ?? 0)) / want / 1024;
      row.perPodKB = {
        heapUsed: perPod("nodejs_heap_size_used_bytes"),
        heapTotal: perPod("nodejs_heap_size_total_bytes"),
        external: perPod("nodejs_external_memory_bytes"),
      };
      row.podsRunning = want;
      row.rssPerPodKB = (s2.rss - sPre.rss) / want / 1024;
      await client.request({ method: "DELETE", path: `/api/v1/namespaces/${ns}` }).catch(() => undefined);
    }
    return row;
  } finally {
    readyWatch.stop();
    await startupObserver.stop().catch(() => undefined);
    await engine.stop("SIGTERM");
    if (options.identity === "fleet" || options.identity === "node") {
      // A fleet's ServiceAccount may not delete Nodes, nor may a node others (`scale` and
      // `cleanup` do, as the user).
      await client
        .request({
          method: "DELETE",
          path: NODES_PATH,
          query: { labelSelector: `${FLEET_LABEL}=${prefix}` },
        })
        .catch(() => undefined);
    }
  }
}
