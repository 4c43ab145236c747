/**
 * Engine cost benchmark: RSS and CPU per idle node, lease health, and RSS per running pod, for
 * one hollow-node process against a local control plane.
 *
 *   npm run bench:engine -- [--nodes 1000,5000] [--traffic kubelet] [--no-proxy] [--settle 45]
 *                           [--window 60] [--pods-per-node 2] [--kubeconfig PATH] [--cluster NAME]
 *                           [--out NAME|PATH] [--kube-api-content-type application/json]
 *                           [--identity kubeconfig|fleet] [--soak MINUTES]
 *
 * (`npm run bench:engine` runs `node bench/engine-scale.ts` on the project's Node.js 24.)
 *
 * Without --kubeconfig it starts its own local cluster (load-test limits lifted) in a temporary
 * state directory and stops it at the end. With --kubeconfig of a local cluster (`--cluster`, default
 * kubemark) it also measures that control plane: kube-apiserver and etcd CPU over the window and the
 * API server's own latency for Lease PUTs, to tell whether the engine or the server saturates.
 * `--identity fleet` runs the engine as `create` does: as a fleet's least-privilege ServiceAccount
 * (token authentication, RBAC), set up for the run in namespace kubemark-bench and removed after;
 * the default is the kubeconfig's own identity.
 * `--soak MINUTES` keeps the idle fleet running that long after the window and samples the engine's
 * RSS every minute: growth after the first 10 minutes tells a leak from start-up residue.
 * With `--pods-per-node`, the lateness of renewals while the pods start (a burst) is recorded too.
 * Prints a table and writes JSON to results/<NAME>.json, or to the path `--out` names (one with a
 * '/': absolute, or relative to the directory the command was run in).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { realClock } from "../src/kernel/clock.ts";
import { KubeClient } from "../src/client/kube-client.ts";
import { loadClusterAccess } from "../src/client/kubeconfig.ts";
import { clusterLayout, readRecord } from "../src/controlplane/cluster-state.ts";
import { downCluster, upCluster } from "../src/controlplane/local-cluster.ts";
import { applyObject, getObject, objectPath } from "../src/fleet/apply.ts";
import {
  TOKEN_SECRET,
  clusterRoleName,
  identityObjects,
  namespaceObject,
  targetKubeconfig,
} from "../src/fleet/objects.ts";
import { resolvePaths } from "../src/kernel/paths.ts";
import { waitUntil } from "../src/kernel/wait.ts";
import { startEngine, type EngineProcess } from "../test/engine-process.ts";
import { ROOT } from "../test/harness.ts";
import { resolveUserPath } from "./out-path.ts";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "1000" },
    traffic: { type: "string", default: "kubelet" },
    settle: { type: "string", default: "45" },
    window: { type: "string", default: "60" },
    "pods-per-node": { type: "string", default: "0" },
    kubeconfig: { type: "string" },
    "metrics-port": { type: "string", default: "19464" },
    "no-proxy": { type: "boolean", default: false },
    cluster: { type: "string" },
    out: { type: "string" },
    "kube-api-content-type": { type: "string", default: "application/vnd.kubernetes.protobuf" },
    identity: { type: "string", default: "kubeconfig" },
    soak: { type: "string", default: "0" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout
    .write(`Usage: npm run bench:engine -- [flags]   (node bench/engine-scale.ts on the project's Node.js 24)

Engine cost: RSS and CPU per idle node, lease health, RSS per running pod, for one hollow-node process.

  --nodes LIST                   node counts, one run each (default 1000)
  --traffic kubelet|minimal      the engine's request profile (default kubelet)
  --no-proxy                     without the hollow kube-proxy
  --settle SECONDS               settling before the window (default 45)
  --window SECONDS               measurement window (default 60)
  --pods-per-node N              run a Deployment of N pods per node (default 0)
  --kubeconfig PATH              a running cluster (default: start a local one for the run)
  --cluster NAME                 its local cluster name, to measure the control plane (default kubemark)
  --metrics-port PORT            the engine's metrics port (default 19464)
  --out NAME|PATH                results/NAME.json, or a path (with a '/'): absolute, or relative to
                                 the current directory
  --kube-api-content-type TYPE   the Leases' encoding (default application/vnd.kubernetes.protobuf)
  --identity kubeconfig|fleet    the kubeconfig's identity, or a fleet's ServiceAccount (default kubeconfig)
  --soak MINUTES                 keep the idle fleet this long, sampling RSS every minute (default 0)
`);
  process.exit(0);
}
if (values.kubeconfig !== undefined)
  values.kubeconfig = resolveUserPath(values.kubeconfig, process.env, process.cwd());
const sizes = values.nodes.split(",").map(Number);
const settleMs = Number(values.settle) * 1000;
const windowMs = Number(values.window) * 1000;
const podsPerNode = Number(values["pods-per-node"]);
const soakMinutes = Number(values.soak);
if (!Number.isInteger(soakMinutes) || soakMinutes < 0) {
  process.stderr.write(`error: --soak takes whole minutes (0 for none), got "${values.soak}"\n`);
  process.exit(2);
}
if (values.out !== undefined && !values.out.includes("/") && !/^[\w.-]+$/.test(values.out)) {
  process.stderr.write(
    `error: --out takes a name (written to results/<name>.json) or a path with a '/', got "${values.out}"\n`,
  );
  process.exit(2);
}
const CLK_TCK = 100;

/** RSS (bytes) and CPU time (s) of a process, from /proc. */
async function procStats(pid: number): Promise<{ rss: number; cpu: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { rss: rssKb * 1024, cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK };
}

/**
 * The machine's CPU time so far (/proc/stat, all CPUs, in ticks) and how much of it the hypervisor
 * took (steal): on a VM, stolen time stalls every process at once, the engine's timers included.
 */
async function machineTicks(): Promise<{ total: number; steal: number }> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n", 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}

/** The local control plane's process ids, when the cluster is one of ours. */
interface ControlPlane {
  readonly apiserver: number;
  readonly etcd: number;
}

/** Sum over label sets of a Prometheus histogram's buckets for Lease PUTs, from the API server's /metrics. */
async function serverLeasePutBuckets(client: KubeClient): Promise<Record<string, number>> {
  const text = await client.getText("/metrics");
  const out: Record<string, number> = {};
  const name = "apiserver_request_duration_seconds";
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    if (!line.includes('verb="PUT"') || !line.includes('resource="leases"')) continue;
    const m = /^(\w+)\{(.*)\}\s+([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const le = /le="([^"]+)"/.exec(m[2]!)?.[1];
    const key = m[1] === `${name}_bucket` && le ? `${name}_bucket{le="${le}"}` : m[1]!;
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

/**
 * Watches the fleet's Leases as the node lifecycle controller does and records, per renewal, the
 * gap since the Lease's previous renewTime (the heartbeat cadence the control plane sees, 10 s
 * plus jitter when on time) and how long after its renewTime the renewal reached a watcher.
 */
function observeLeases(
  client: KubeClient,
  prefix: string,
): { stop(): Promise<{ gapsMs: number[]; visibleMs: number[] }> } {
  const abort = new AbortController();
  const gapsMs: number[] = [];
  const visibleMs: number[] = [];
  const last = new Map<string, number>();
  const done = (async () => {
    const list = await client.get<{ metadata: { resourceVersion: string } }>(
      "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
      { limit: 1 },
    );
    let rv = list.metadata.resourceVersion;
    while (!abort.signal.aborted) {
      try {
        for await (const ev of client.watch<{
          metadata: { name: string; resourceVersion: string };
          spec?: { renewTime?: string };
        }>(
          "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
          { resourceVersion: rv },
          abort.signal,
        )) {
          const now = Date.now();
          rv = ev.object.metadata.resourceVersion ?? rv;
          if (ev.type !== "MODIFIED" || !ev.object.metadata.name.startsWith(prefix)) continue;
          const renew = Date.parse(ev.object.spec?.renewTime ?? "");
          if (!Number.isFinite(renew)) continue;
          visibleMs.push(now - renew);
          const prev = last.get(ev.object.metadata.name);
          if (prev !== undefined && renew > prev) gapsMs.push(renew - prev);
          last.set(ev.object.metadata.name, renew);
        }
      } catch {
        if (abort.signal.aborted) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();
  return {
    async stop() {
      abort.abort();
      await done.catch(() => undefined);
      return { gapsMs, visibleMs };
    },
  };
}

/** The q-quantile of samples (null when there are none). */
function quantile(samples: number[], q: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Reads a few figures from the engine's Prometheus endpoint. */
async function scrape(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^((?:hollow|nodejs)_[a-z_]+(?:\{[^}]*\})?)\s+([0-9.e+-]+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Lease PUTs answered other than 200 so far (transport failures and timeouts count as code 0). */
function leasePutFailures(m: Record<string, number>): number {
  let n = 0;
  for (const [k, v] of Object.entries(m)) {
    if (k.startsWith('hollow_api_requests_total{verb="put",resource="leases",') && !k.endsWith('code="200"}'))
      n += v;
  }
  return n;
}

/** A histogram's sample count and cumulative bucket counts (by upper bound, ascending) over a window m0 -> m1. */
function bucketDeltas(
  m0: Record<string, number>,
  m1: Record<string, number>,
  name: string,
): { count: number; buckets: (readonly [number, number])[] } {
  const count = (m1[`${name}_count`] ?? 0) - (m0[`${name}_count`] ?? 0);
  const buckets = Object.entries(m1)
    .filter(([k]) => k.startsWith(`${name}_bucket{`))
    .map(
      ([k, v]) =>
        [k.includes('"+Inf"') ? Infinity : Number(/le="([^"]+)"/.exec(k)![1]), v - (m0[k] ?? 0)] as const,
    )
    .sort((a, b) => a[0] - b[0]);
  return { count, buckets };
}

/** p99 upper bound (seconds) of a Prometheus histogram over a window: the bucket deltas m1 - m0. */
function histogramP99(m0: Record<string, number>, m1: Record<string, number>, name: string): number | null {
  const { count, buckets } = bucketDeltas(m0, m1, name);
  if (count === 0) return null;
  return buckets.find(([, v]) => v >= 0.99 * count)?.[0] ?? null;
}

/**
 * Upper bound (seconds) of the highest non-empty bucket of a histogram over a window: the worst
 * sample is at most this (a bucket bound, not the sample itself); null when the window had none.
 */
function histogramMaxBound(
  m0: Record<string, number>,
  m1: Record<string, number>,
  name: string,
): number | null {
  const { count, buckets } = bucketDeltas(m0, m1, name);
  if (count === 0) return null;
  return buckets.find(([, v]) => v >= count)?.[0] ?? null;
}

/** Renewals in a window, how many started over 1 s late, and the lateness p99 and worst (bucket bounds). */
function latenessOver(
  m0: Record<string, number>,
  m1: Record<string, number>,
): { renewals: number; over1s: number; p99Seconds: number | null; maxBoundSeconds: number | null } {
  const name = "hollow_lease_renew_lateness_seconds";
  const renewals = (m1[`${name}_count`] ?? 0) - (m0[`${name}_count`] ?? 0);
  const within1s = (m1[`${name}_bucket{le="1"}`] ?? 0) - (m0[`${name}_bucket{le="1"}`] ?? 0);
  return {
    renewals,
    over1s: renewals - within1s,
    p99Seconds: histogramP99(m0, m1, name),
    maxBoundSeconds: histogramMaxBound(m0, m1, name),
  };
}

interface Row {
  nodes: number;
  traffic: string;
  leaseContentType: string;
  identity: string;
  proxy: boolean;
  registerSeconds: number;
  rssMB: number;
  cpuSecondsPerMinute: number;
  watches: number | null;
  staleLeases: number;
  lateRenewals: number;
  leaseLatenessP99Seconds: number | null;
  leaseLatencyP99Seconds: number | null;
  renewals: number;
  podsRunning?: number;
  rssPerPodKB?: number;
  /** Lease renewals while the pods started (Deployment created -> all ready): a pod burst. */
  burstLateness?: ReturnType<typeof latenessOver> & { seconds: number };
  /** `--soak`: the engine's RSS (MB) at each minute, and its growth after the first 10 minutes. */
  soak?: { rssMB: number[]; growthAfter10MinPercent: number | null; staleLeasesAtEnd: number };
  /** Where the RSS per pod went: V8 heap in use, V8 heap reserved, memory outside the V8 heap. */
  perPodKB?: { heapUsed: number; heapTotal: number; external: number };
  /** Cores used over the window by the engine, kube-apiserver and etcd (null: not a local cluster). */
  engineCores: number;
  apiserverCores: number | null;
  etcdCores: number | null;
  /** The API server's own p99 (s) for Lease PUTs over the window (its request-duration histogram). */
  serverLeasePutP99Seconds: number | null;
  /** Seen by a Lease watcher over the window: gaps between a Lease's renewTimes (p50, p99, max)... */
  renewGapSeconds: { p50: number | null; p99: number | null; max: number | null; samples: number };
  /** ...and how long after its renewTime a renewal reached the watcher (p99). */
  renewVisibleP99Seconds: number | null;
  /** Lease PUTs in the window that did not answer 200 (conflicts, timeouts as code 0, 5xx). */
  leasePutFailures: number;
  /** Watches that failed and were retried in the window (not the 5-10 minute re-opens). */
  watchErrors: number;
  /** Share of the machine's CPU time the hypervisor took during the window (VM steal). */
  stealPercent: number;
}

async function countStaleLeases(client: KubeClient, prefix: string, durationMs: number): Promise<number> {
  const leases = await client.get<{ items: { metadata: { name: string }; spec: { renewTime?: string } }[] }>(
    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
  );
  const now = Date.now();
  return leases.items.filter(
    (l) => l.metadata.name.startsWith(prefix) && now - Date.parse(l.spec.renewTime ?? "0") > durationMs,
  ).length;
}

async function runSize(
  kubeconfig: string,
  client: KubeClient,
  nodes: number,
  cp: ControlPlane | undefined,
  baseline: boolean,
): Promise<Row> {
  const port = Number(values["metrics-port"]);
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
    values.traffic,
    "--metrics-port",
    String(port),
    "--stats-interval",
    "0",
    "--max-in-flight",
    "400",
    "--kube-api-content-type",
    values["kube-api-content-type"],
    "--delete-nodes-on-exit",
    ...(values["no-proxy"] ? ["--no-proxy"] : []),
  ]);
  const t0 = Date.now();
  try {
    await waitUntil(
      () =>
        Promise.resolve({ done: engine.logs().includes('"msg":"nodes registered"'), status: "registering" }),
      {
        what: `${nodes} nodes to register`,
        timeoutMs: 600_000,
        intervalMs: 500,
        clock: realClock,
        failFast: () =>
          engine.child.exitCode !== null ? `hollow-node exited:\n${engine.logs().slice(-2000)}` : undefined,
      },
    );
    const registerSeconds = (Date.now() - t0) / 1000;
    process.stderr.write(
      `  ${nodes} nodes registered in ${registerSeconds.toFixed(1)}s; settling ${settleMs / 1000}s\n`,
    );
    await new Promise((r) => setTimeout(r, settleMs));
    const pid = engine.child.pid!;
    const m0 = await scrape(port);
    const a0 = cp ? await procStats(cp.apiserver) : undefined;
    const e0 = cp ? await procStats(cp.etcd) : undefined;
    const sm0 = await serverLeasePutBuckets(client);
    const observer = observeLeases(client, `${prefix}-`);
    const s0 = await procStats(pid);
    const ticks0 = await machineTicks();
    await new Promise((r) => setTimeout(r, windowMs));
    const s1 = await procStats(pid);
    const ticks1 = await machineTicks();
    const seen = await observer.stop();
    const sec = (ms: number | null): number | null => (ms === null ? null : ms / 1000);
    const a1 = cp ? await procStats(cp.apiserver) : undefined;
    const e1 = cp ? await procStats(cp.etcd) : undefined;
    const sm1 = await serverLeasePutBuckets(client);
    const m1 = await scrape(port);
    const cores = (x0: { cpu: number } | undefined, x1: { cpu: number } | undefined): number | null =>
      x0 && x1 ? (x1.cpu - x0.cpu) / (windowMs / 1000) : null;
    const late =
      (m1["hollow_lease_renew_lateness_seconds_count"] ?? 0) -
      (m0["hollow_lease_renew_lateness_seconds_count"] ?? 0);
    const lateOver1s =
      late -
      ((m1['hollow_lease_renew_lateness_seconds_bucket{le="1"}'] ?? 0) -
        (m0['hollow_lease_renew_lateness_seconds_bucket{le="1"}'] ?? 0));
    const row: Row = {
      nodes,
      traffic: values.traffic,
      leaseContentType: values["kube-api-content-type"],
      identity: values.identity,
      proxy: !values["no-proxy"],
      registerSeconds,
      rssMB: s1.rss / 1048576,
      cpuSecondsPerMinute: ((s1.cpu - s0.cpu) / windowMs) * 60_000,
      watches: m1["hollow_watch_opens_total"] ?? null,
      staleLeases: await countStaleLeases(client, prefix, 40_000),
      lateRenewals: lateOver1s,
      leaseLatenessP99Seconds: histogramP99(m0, m1, "hollow_lease_renew_lateness_seconds"),
      leaseLatencyP99Seconds: histogramP99(m0, m1, "hollow_lease_renew_seconds"),
      renewals: late,
      engineCores: (s1.cpu - s0.cpu) / (windowMs / 1000),
      apiserverCores: cores(a0, a1),
      etcdCores: cores(e0, e1),
      serverLeasePutP99Seconds: histogramP99(sm0, sm1, "apiserver_request_duration_seconds"),
      renewGapSeconds: {
        p50: sec(quantile(seen.gapsMs, 0.5)),
        p99: sec(quantile(seen.gapsMs, 0.99)),
        max: sec(quantile(seen.gapsMs, 1)),
        samples: seen.gapsMs.length,
      },
      renewVisibleP99Seconds: sec(quantile(seen.visibleMs, 0.99)),
      leasePutFailures: leasePutFailures(m1) - leasePutFailures(m0),
      watchErrors: (m1["hollow_watch_errors_total"] ?? 0) - (m0["hollow_watch_errors_total"] ?? 0),
      stealPercent:
        ticks1.total > ticks0.total
          ? (100 * (ticks1.steal - ticks0.steal)) / (ticks1.total - ticks0.total)
          : 0,
    };
    // The one-node baseline is measured once, not soaked.
    if (soakMinutes > 0 && !baseline) {
      process.stderr.write(`  soak: ${soakMinutes} min, RSS sampled every minute\n`);
      const rssMB: number[] = [];
      for (let i = 0; i < soakMinutes; i++) {
        await new Promise((r) => setTimeout(r, 60_000));
        rssMB.push((await procStats(pid)).rss / 1048576);
        process.stderr.write(`    minute ${i + 1}: RSS ${rssMB.at(-1)!.toFixed(1)} MB\n`);
      }
      const at10 = rssMB[9];
      row.soak = {
        rssMB,
        growthAfter10MinPercent:
          at10 !== undefined && rssMB.length > 10 ? (100 * (rssMB.at(-1)! - at10)) / at10 : null,
        staleLeasesAtEnd: await countStaleLeases(client, prefix, 40_000),
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
      const sPre = await procStats(pid);
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
                nodeSelector: { "kubemark-cluster.io/fleet": prefix },
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
      const s2 = await procStats(pid);
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
    await engine.stop("SIGTERM");
    if (values.identity === "fleet") {
      // A fleet's ServiceAccount may not delete Nodes (`scale` and `cleanup` do, as the user).
      await client
        .request({
          method: "DELETE",
          path: "/api/v1/nodes",
          query: { labelSelector: `kubemark-cluster.io/fleet=${prefix}` },
        })
        .catch(() => undefined);
    }
  }
}

const BENCH_FLEET = { namespace: "kubemark-bench", fleet: "kubemark-bench" };

/**
 * Sets up the identity `create` gives hollow nodes (a least-privilege ServiceAccount with a token)
 * and returns a kubeconfig file with it, readable by this user only.
 */
async function fleetIdentity(client: KubeClient, adminKubeconfig: string): Promise<string> {
  await applyObject(client, namespaceObject(BENCH_FLEET));
  for (const obj of identityObjects(BENCH_FLEET, true)) await applyObject(client, obj);
  const access = await loadClusterAccess({ kubeconfig: adminKubeconfig, env: process.env });
  let token = "";
  await waitUntil(
    async () => {
      const secret = await getObject<{ data?: Record<string, string> }>(
        client,
        objectPath("Secret", TOKEN_SECRET, BENCH_FLEET.namespace),
      );
      token = Buffer.from(secret?.data?.["token"] ?? "", "base64").toString();
      return { done: token !== "", status: "waiting for the ServiceAccount token" };
    },
    { what: "the fleet's token", timeoutMs: 30_000, intervalMs: 500, clock: realClock },
  );
  const dir = await mkdtemp(join(tmpdir(), "kubemark-bench-identity-"));
  const file = join(dir, "kubeconfig");
  const caCrt = access.ca?.toString() ?? "";
  await writeFile(file, targetKubeconfig({ server: access.server, caCrt, token }), { mode: 0o600 });
  return file;
}

async function removeFleetIdentity(client: KubeClient): Promise<void> {
  const name = clusterRoleName(BENCH_FLEET.fleet);
  for (const path of [
    `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`,
    `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`,
    `/apis/rbac.authorization.k8s.io/v1/namespaces/kube-node-lease/rolebindings/${name}`,
    `/apis/rbac.authorization.k8s.io/v1/namespaces/kube-node-lease/roles/${name}`,
    `/api/v1/namespaces/${BENCH_FLEET.namespace}`,
  ]) {
    await client.request({ method: "DELETE", path }).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  let kubeconfig = values.kubeconfig;
  let stateDir: string | undefined;
  let clusterName = values.cluster ?? "kubemark";
  if (!kubeconfig) {
    clusterName = "bench";
    stateDir = await mkdtemp(join(tmpdir(), "kubemark-bench-"));
    const info = await upCluster(
      { paths: resolvePaths(process.env, { stateDir }), env: process.env, clock: realClock },
      { name: "bench", loadTest: true },
    );
    kubeconfig = info.kubeconfig;
  }
  const client = new KubeClient(await loadClusterAccess({ kubeconfig, env: process.env }));
  const adminKubeconfig = kubeconfig;
  if (values.identity === "fleet") kubeconfig = await fleetIdentity(client, adminKubeconfig);
  else if (values.identity !== "kubeconfig") {
    process.stderr.write(`error: --identity takes kubeconfig or fleet, got "${values.identity}"\n`);
    process.exit(2);
  }
  const rec = await readRecord(clusterLayout(resolvePaths(process.env, { stateDir }).stateDir, clusterName));
  const apiserver = rec?.processes["kube-apiserver"]?.pid;
  const etcd = rec?.processes.etcd?.pid;
  const cp = apiserver && etcd ? { apiserver, etcd } : undefined;
  if (!cp) process.stderr.write(`  no local cluster "${clusterName}": control-plane CPU not measured\n`);
  const rows: Row[] = [];
  try {
    // Baseline: one node, for the per-node figures' "above the process baseline".
    rows.push(await runSize(kubeconfig, client, 1, cp, true));
    for (const n of sizes) rows.push(await runSize(kubeconfig, client, n, cp, false));
  } finally {
    if (values.identity === "fleet") {
      await removeFleetIdentity(client);
      await rm(dirname(kubeconfig), { recursive: true, force: true });
    }
    await client.close();
    if (stateDir) {
      await downCluster(
        { paths: resolvePaths(process.env, { stateDir }), env: process.env, clock: realClock },
        { name: "bench" },
      );
      await rm(stateDir, { recursive: true, force: true });
    }
  }
  const base = rows[0]!;
  const table = rows.slice(1).map((r) => ({
    ...r,
    rssPerNodeKB: ((r.rssMB - base.rssMB) * 1024) / (r.nodes - 1),
    mCpuPerNode: ((r.cpuSecondsPerMinute - base.cpuSecondsPerMinute) / 60 / r.nodes) * 1000,
  }));
  const result = {
    when: new Date().toISOString(),
    command: `node bench/engine-scale.ts ${process.argv.slice(2).join(" ")}`.trim(),
    baseline: base,
    rows: table,
  };
  const file = values.out?.includes("/")
    ? resolveUserPath(values.out, process.env, process.cwd())
    : join(
        ROOT,
        "results",
        `${values.out ?? `engine-scale-${values.traffic}${values["no-proxy"] ? "" : "-proxy"}`}.json`,
      );
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(result, null, 2) + "\n");
  const f = (x: number | null | undefined, d = 1): string =>
    x === null || x === undefined ? "-" : x.toFixed(d);
  console.log(`baseline (1 node): RSS ${f(base.rssMB)} MB`);
  console.log(
    "| nodes | traffic | register s | RSS MB | KB/node | mCPU/node | stale leases | renewals | >1s late | lateness p99 s | renew latency p99 s | server PUT p99 s | renewTime gap p50/p99/max s | seen after p99 s | lease PUT failures | watch errors | steal % | cores engine/apiserver/etcd | KB/pod |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of table) {
    console.log(
      `| ${r.nodes} | ${r.traffic}${r.proxy ? "+proxy" : ""} | ${f(r.registerSeconds)} | ${f(r.rssMB)} | ${f(r.rssPerNodeKB)} | ${f(r.mCpuPerNode, 3)} | ${r.staleLeases} | ${r.renewals} | ${r.lateRenewals} | ${f(r.leaseLatenessP99Seconds, 2)} | ${f(r.leaseLatencyP99Seconds, 2)} | ${f(r.serverLeasePutP99Seconds, 2)} | ${f(r.renewGapSeconds.p50, 2)}/${f(r.renewGapSeconds.p99, 2)}/${f(r.renewGapSeconds.max, 2)} | ${f(r.renewVisibleP99Seconds, 2)} | ${r.leasePutFailures ?? "-"} | ${r.watchErrors ?? "-"} | ${f(r.stealPercent)} | ${f(r.engineCores, 2)}/${f(r.apiserverCores, 2)}/${f(r.etcdCores, 2)} | ${f(r.rssPerPodKB)} |`,
    );
  }
  for (const r of table) {
    if (r.burstLateness) {
      const b = r.burstLateness;
      console.log(
        `pod burst at ${r.nodes} nodes (${r.podsRunning} pods, ${f(b.seconds)} s): ${b.renewals} renewals, ${b.over1s} over 1 s late, lateness p99 <= ${f(b.p99Seconds, 2)} s, worst <= ${f(b.maxBoundSeconds, 2)} s (bucket bounds)`,
      );
    }
    if (r.soak) {
      const s = r.soak;
      console.log(
        `soak at ${r.nodes} nodes: RSS ${f(s.rssMB[0])} -> ${f(s.rssMB[9])} (10 min) -> ${f(s.rssMB.at(-1))} MB (${s.rssMB.length} min); growth after the first 10 min ${f(s.growthAfter10MinPercent)} %; stale leases at the end ${s.staleLeasesAtEnd}`,
      );
    }
  }
  console.log(`JSON: ${file}`);
}

await main();
