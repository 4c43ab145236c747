/**
 * Side-by-side benchmark: this project's hollow-node engine, upstream kubemark and KWOK on one
 * local control plane, in one run (issue: benchmarks). For each system and node count it measures
 * cost (RSS and CPU per node, time until all Ready, missed leases, the API server's and etcd's
 * CPU), a pod phase (bound-to-Running latency, throughput, distinct pod IPs, a Job with an init
 * container), and fidelity (per-node request rates by user agent, verb and resource, from the API
 * server's audit log), then writes JSON, a Markdown report and PNG plots.
 *
 *   npm run bench                    # full suite, under an hour on 2 cores
 *   npm run bench -- --quick         # about ten minutes
 *   npm run bench -- --systems hollow-node,kwok --nodes 10,1000 --out results/compare-x
 *
 * (`npm run bench` runs it on the project's Node.js 24; so does `./node_modules/.bin/node
 * bench/compare.ts`.) `--out DIR` is taken as the user means it: absolute, or relative to the
 * directory the command was run in.
 *
 * It builds or reuses kubemark and KWOK at the control plane's version (`kubemark-cluster build
 * --with kubemark,kwok`) and starts its own control planes in a temporary state directory: one
 * with an audit log for the 10-node fidelity run (the three systems at once, each with its own
 * client certificate so the audit log tells them apart, ten minutes idle, then pods), then one
 * without (at thousands of nodes the audit log would be what is measured) for the larger sizes,
 * each system alone. It stops everything at the end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createReadStream, openSync, closeSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { realClock } from "../src/kernel/clock.ts";
import { KubeClient } from "../src/client/kube-client.ts";
import { loadClusterAccess } from "../src/client/kubeconfig.ts";
import { resolveBinaries } from "../src/controlplane/binaries.ts";
import { clusterLayout, readRecord } from "../src/controlplane/cluster-state.ts";
import { parseKubeVersion } from "../src/controlplane/kube-version.ts";
import { downCluster, upCluster } from "../src/controlplane/local-cluster.ts";
import { renderKubeconfig, writeKubeconfig } from "../src/controlplane/kubeconfig-file.ts";
import { issueCert } from "../src/host/pki.ts";
import { resolvePaths } from "../src/kernel/paths.ts";
import { ROOT } from "../test/harness.ts";
import { resolveOutPath } from "./out-path.ts";
import { renderPlots } from "./plot.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    systems: { type: "string", default: "hollow-node,kubemark,kwok" },
    nodes: { type: "string" },
    "kubemark-max": { type: "string" },
    "pod-nodes": { type: "string" },
    pods: { type: "string" },
    "pod-rate": { type: "string" },
    "fidelity-idle": { type: "string" },
    settle: { type: "string" },
    window: { type: "string" },
    out: { type: "string" },
    "kube-version": { type: "string", default: "v1.36.3" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(`Usage: npm run bench -- [flags]   (node bench/compare.ts on the project's Node.js 24)

Side by side: this project's hollow-node engine, upstream kubemark and KWOK on local control planes.

  --quick                  10 and 100 nodes, 100 pods (about 6 minutes; the full suite about 47)
  --systems LIST           hollow-node,kubemark,kwok
  --nodes LIST             node counts (default 10,100,1000,5000; --quick 10,100)
  --kubemark-max N         largest kubemark run (default 100)
  --pod-nodes N            nodes of the pod phase (default 100; --quick 10)
  --pods N                 pods of the pod phase (default 1000; --quick 100)
  --pod-rate N             pods created per second (default 50; --quick 20)
  --fidelity-idle SECONDS  idle window of the fidelity run (default 600; --quick 45)
  --settle SECONDS         settling before each measurement window (default 30; --quick 10)
  --window SECONDS         measurement window (default 60; --quick 20)
  --out DIR                where to write compare.{json,md} and plots: absolute, or relative to the
                           current directory (default results/compare, --quick results/compare-quick)
  --kube-version V         control plane release (default v1.36.3)
`);
  process.exit(0);
}

const quick = values.quick;
const SYSTEMS = values.systems.split(",").map((s) => s.trim()) as SystemName[];
const SIZES = (values.nodes ?? (quick ? "10,100" : "10,100,1000,5000")).split(",").map(Number);
const KUBEMARK_MAX = Number(values["kubemark-max"] ?? (quick ? 100 : 100));
const POD_NODES = Number(values["pod-nodes"] ?? (quick ? 10 : 100));
const PODS = Number(values.pods ?? (quick ? 100 : 1000));
const POD_RATE = Number(values["pod-rate"] ?? (quick ? 20 : 50));
/** Idle window of the 10-node run, which the fidelity figures' steady rates come from. */
const FIDELITY_IDLE_MS = Number(values["fidelity-idle"] ?? (quick ? 45 : 600)) * 1000;
const SETTLE_MS = Number(values.settle ?? (quick ? 10 : 30)) * 1000;
const WINDOW_MS = Number(values.window ?? (quick ? 20 : 60)) * 1000;
const OUT = resolveOutPath(
  values.out,
  quick ? "results/compare-quick" : "results/compare",
  ROOT,
  process.env,
  process.cwd(),
);
const CLK_TCK = 100;
const LEASE_SECONDS = 40;

type SystemName = "hollow-node" | "kubemark" | "kwok";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (s: string): void =>
  void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

/** RSS (bytes) and CPU seconds of a set of processes, from /proc (gone processes count zero). */
async function procStats(pids: readonly number[]): Promise<{ rss: number; cpu: number }> {
  let rss = 0;
  let cpu = 0;
  for (const pid of pids) {
    try {
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      cpu += (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch {
      // exited
    }
  }
  return { rss, cpu };
}

/** A system under test, started with N nodes. */
interface Running {
  pids(): number[];
  /** Text of the system's logs so far (for failures). */
  logs(): string;
  stop(): Promise<void>;
}

interface Ctx {
  kubeconfig: string;
  /** Each system's own kubeconfig: a client certificate `bench-<system>` (system:masters), so the
   * audit log tells the systems apart even when they run at once (kubemark's kubelet calls itself
   * hollow-kubelet, as ours does). */
  kubeconfigFor: Record<SystemName, string>;
  client: KubeClient;
  bins: { kubemark: string; kwok: string; stages: string };
  workDir: string;
}

function spawnLogged(file: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, "a");
  const child = spawn(file, args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  return child;
}

async function stopChildren(children: ChildProcess[]): Promise<void> {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  const deadline = Date.now() + 20_000;
  while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline)
    await sleep(200);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

const LABEL = "bench-system";

async function startSystem(ctx: Ctx, system: SystemName, n: number, prefix: string): Promise<Running> {
  const logFile = join(ctx.workDir, `${prefix}.log`);
  if (system === "hollow-node") {
    const child = spawnLogged(
      join(ROOT, "hollow-node"),
      [
        `--kubeconfig=${ctx.kubeconfigFor[system]}`,
        `--nodes=${n}`,
        `--name-prefix=${prefix}`,
        `--fleet=${prefix}`,
        `--node-labels=hollow-node=true,${LABEL}=${system}`,
        "--stats-interval=0",
        "--max-in-flight=400",
      ],
      logFile,
    );
    return {
      pids: () => (child.pid ? [child.pid] : []),
      logs: () => logFile,
      stop: () => stopChildren([child]),
    };
  }
  if (system === "kubemark") {
    const children: ChildProcess[] = [];
    for (let i = 0; i < n; i++) {
      children.push(
        spawnLogged(
          ctx.bins.kubemark,
          [
            "--morph=kubelet",
            `--name=${prefix}-${i}`,
            `--kubeconfig=${ctx.kubeconfigFor[system]}`,
            "--use-host-image-service=false",
            `--node-labels=hollow-node=true,${LABEL}=${system}`,
            `--kubelet-port=${21000 + i}`,
            "--kubelet-read-only-port=0",
            "--v=0",
          ],
          join(ctx.workDir, `${prefix}-${i}.log`),
        ),
      );
      // Starting hundreds of Go processes at once starves the two cores; pace them.
      if (i % 10 === 9) await sleep(500);
    }
    return {
      pids: () => children.map((c) => c.pid ?? 0).filter((p) => p > 0),
      logs: () => join(ctx.workDir, `${prefix}-0.log`),
      stop: () => stopChildren(children),
    };
  }
  // KWOK manages Nodes that exist: create them (as a user of KWOK does), then start it.
  const child = spawnLogged(
    ctx.bins.kwok,
    [
      `--kubeconfig=${ctx.kubeconfigFor[system]}`,
      `--config=${ctx.bins.stages}`,
      `--manage-nodes-with-label-selector=${LABEL}=kwok`,
      `--node-lease-duration-seconds=${LEASE_SECONDS}`,
      "--server-address=127.0.0.1:10247",
    ],
    logFile,
  );
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  await forEachLimit(names, 32, async (name) => {
    await ctx.client.request({
      method: "POST",
      path: "/api/v1/nodes",
      body: {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name,
          labels: { "hollow-node": "true", [LABEL]: "kwok", type: "kwok", "kubernetes.io/hostname": name },
          annotations: { "node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake" },
        },
        status: {
          capacity: { cpu: "1", memory: "4026531840", pods: "110" },
          allocatable: { cpu: "1", memory: "4026531840", pods: "110" },
        },
      },
    });
  });
  return {
    pids: () => (child.pid ? [child.pid] : []),
    logs: () => logFile,
    stop: () => stopChildren([child]),
  };
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (x: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

interface NodeItem {
  metadata: { name: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

async function readyNodes(client: KubeClient, system: SystemName): Promise<number> {
  const list = await client.get<{ items: NodeItem[] }>("/api/v1/nodes", {
    labelSelector: `${LABEL}=${system}`,
  });
  return list.items.filter((n) =>
    n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  ).length;
}

/** Leases of the system's nodes older than their duration (missed heartbeats), by name. */
async function staleLeases(client: KubeClient, prefix: string): Promise<string[]> {
  const list = await client.get<{
    items: Array<{ metadata: { name: string }; spec?: { renewTime?: string } }>;
  }>("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
  const now = Date.now();
  return list.items
    .filter((l) => l.metadata.name.startsWith(`${prefix}-`))
    .filter((l) => now - Date.parse(l.spec?.renewTime ?? "1970-01-01T00:00:00Z") > LEASE_SECONDS * 1000)
    .map((l) => l.metadata.name);
}

/** Deletes the system's Nodes and their Leases, and waits until they are gone. */
async function removeNodes(client: KubeClient, system: SystemName, prefix: string): Promise<void> {
  const list = await client.get<{ items: NodeItem[] }>("/api/v1/nodes", {
    labelSelector: `${LABEL}=${system}`,
  });
  await forEachLimit(list.items, 32, async (n) => {
    await client
      .request({ method: "DELETE", path: `/api/v1/nodes/${n.metadata.name}` })
      .catch(() => undefined);
    await client
      .request({
        method: "DELETE",
        path: `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${n.metadata.name}`,
      })
      .catch(() => undefined);
  });
  void prefix;
}

/** One cost measurement. */
interface CostRow {
  system: SystemName;
  nodes: number;
  readySeconds: number | null;
  rssMB: number;
  rssPerNodeKB: number;
  cpuSecondsPerNodeMinute: number;
  mCpuPerNode: number;
  missedLeases: number;
  apiserverCpuCores: number;
  etcdCpuCores: number;
  apiserverRssMB: number;
  note?: string;
}

/** A cost row for a size that was not measured, saying why. */
function notMeasured(
  system: SystemName,
  nodes: number,
  note: string,
  readySeconds: number | null = null,
): CostRow {
  return {
    system,
    nodes,
    readySeconds,
    rssMB: 0,
    rssPerNodeKB: 0,
    cpuSecondsPerNodeMinute: 0,
    mCpuPerNode: 0,
    missedLeases: 0,
    apiserverCpuCores: 0,
    etcdCpuCores: 0,
    apiserverRssMB: 0,
    note,
  };
}

/** One pod-phase measurement. */
interface PodRow {
  system: SystemName;
  nodes: number;
  pods: number;
  running: number;
  latencyP50Seconds: number | null;
  latencyP99Seconds: number | null;
  throughputPerSecond: number | null;
  distinctPodIPs: number;
  jobWithInitCompleted: boolean;
}

/** Requests of one (user agent, verb, resource) row in the three phases of a 10-node run. */
interface FidelityRow {
  system: SystemName;
  userAgent: string;
  verb: string;
  resource: string;
  /** Per node, from start until all Ready and settled (registration). */
  registrationPerNode: number;
  /** Per node per minute while idle. */
  idlePerNodeMinute: number;
  /** Per pod, while pods were created, run and deleted. */
  perPod: number;
}

/** The time windows of a fidelity run. */
interface Phases {
  start: number;
  idleStart: number;
  idleEnd: number;
  podsEnd: number;
  /** Pods (and Job pods) each system ran in the pod window. */
  pods: Partial<Record<SystemName, number>>;
  nodes: number;
}

function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? null;
}

/** Creates `pods` pods at `rate` per second on the system's nodes and times bound -> Running. */
async function podPhase(
  ctx: Ctx,
  system: SystemName,
  nodes: number,
  pods: number,
  rate: number,
): Promise<PodRow> {
  const ns = `bench-pods-${system}`;
  const client = ctx.client;
  await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: ns } } });
  await waitFor(`default ServiceAccount in ${ns}`, 30_000, async () => {
    return client.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`).then(
      () => true,
      () => false,
    );
  });
  const bound = new Map<string, number>();
  const running = new Map<string, number>();
  const ips = new Map<string, string>();
  const abort = new AbortController();
  // The API server may end a watch at any time (a slow reader, a timeout): resume it from the
  // last resourceVersion seen, so no transition is missed, until the phase is over.
  const watching = (async () => {
    let rv: string | undefined;
    while (!abort.signal.aborted) {
      try {
        for await (const ev of client.watch<{
          metadata: { name: string; resourceVersion?: string };
          spec?: { nodeName?: string };
          status?: { phase?: string; podIP?: string };
        }>(
          `/api/v1/namespaces/${ns}/pods`,
          { labelSelector: "app=bench", ...(rv ? { resourceVersion: rv } : {}) },
          abort.signal,
        )) {
          const p = ev.object;
          if (ev.type === "ERROR") {
            rv = undefined; // 410 Gone: start over (pods already seen keep their first times)
            break;
          }
          if (p.metadata.resourceVersion) rv = p.metadata.resourceVersion;
          if (ev.type === "BOOKMARK") continue;
          const now = performance.now();
          if (p.spec?.nodeName && !bound.has(p.metadata.name)) bound.set(p.metadata.name, now);
          if (p.status?.phase === "Running" && !running.has(p.metadata.name)) {
            running.set(p.metadata.name, now);
            if (p.status.podIP) ips.set(p.metadata.name, p.status.podIP);
          }
        }
        if (!abort.signal.aborted) log("  pod watch closed by the server; resuming");
      } catch (err) {
        if (!abort.signal.aborted) log(`  pod watch ended (${String(err)}); resuming`);
      }
      if (!abort.signal.aborted) await sleep(100);
    }
  })();
  await sleep(500);
  const t0 = performance.now();
  for (let i = 0; i < pods; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    void client
      .request({
        method: "POST",
        path: `/api/v1/namespaces/${ns}/pods`,
        body: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `p-${i}`, labels: { app: "bench" } },
          spec: {
            nodeSelector: { [LABEL]: system },
            tolerations: [{ operator: "Exists" }],
            containers: [{ name: "c", image: "registry.k8s.io/pause:3.10", imagePullPolicy: "IfNotPresent" }],
          },
        },
      })
      .catch((err: unknown) => log(`  create p-${i}: ${String(err)}`));
  }
  const deadline = Date.now() + Math.max(120_000, (pods / rate) * 1000 * 3);
  while (running.size < pods && Date.now() < deadline) await sleep(500);
  const t1 = Math.max(...running.values(), t0);
  const latencies = [...running.entries()]
    .filter(([name]) => bound.has(name))
    .map(([name, at]) => (at - bound.get(name)!) / 1000);
  // A Job whose pod has an init container.
  await client.request({
    method: "POST",
    path: `/apis/batch/v1/namespaces/${ns}/jobs`,
    body: {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "init-job" },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: "Never",
            nodeSelector: { [LABEL]: system },
            tolerations: [{ operator: "Exists" }],
            initContainers: [
              { name: "init", image: "registry.k8s.io/pause:3.10", imagePullPolicy: "IfNotPresent" },
            ],
            // A container that exits (pause never does, on a kubelet as on hollow nodes).
            containers: [
              {
                name: "main",
                image: "busybox:1.36",
                imagePullPolicy: "IfNotPresent",
                command: ["sh", "-c", "sleep 1"],
              },
            ],
          },
        },
      },
    },
  });
  const jobDone = await waitFor("the Job", quick ? 30_000 : 120_000, async () => {
    const j = await client.get<{ status?: { succeeded?: number } }>(
      `/apis/batch/v1/namespaces/${ns}/jobs/init-job`,
    );
    return (j.status?.succeeded ?? 0) > 0;
  }).then(
    () => true,
    () => false,
  );
  abort.abort();
  await watching;
  await client
    .request({ method: "DELETE", path: `/api/v1/namespaces/${ns}`, query: { gracePeriodSeconds: 0 } })
    .catch(() => undefined);
  await waitFor(`namespace ${ns} gone`, 120_000, async () =>
    client.get(`/api/v1/namespaces/${ns}`).then(
      () => false,
      () => true,
    ),
  ).catch(() => log(`  namespace ${ns} still terminating; going on`));
  return {
    system,
    nodes,
    pods,
    running: running.size,
    latencyP50Seconds: percentile(latencies, 0.5),
    latencyP99Seconds: percentile(latencies, 0.99),
    throughputPerSecond: running.size > 0 ? running.size / ((t1 - t0) / 1000) : null,
    distinctPodIPs: new Set(ips.values()).size,
    jobWithInitCompleted: jobDone,
  };
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1000);
  }
}

/**
 * Counts audit events by (system, user agent, verb, resource) in each phase; a request belongs to
 * a system by the identity it used (`bench-<system>`), so systems running at once stay apart.
 */
async function auditRows(auditLog: string, ph: Phases): Promise<FidelityRow[]> {
  const counts = new Map<string, [Set<string>, Set<string>, Set<string>]>();
  const rl = createInterface({ input: createReadStream(auditLog) });
  for await (const line of rl) {
    if (!line) continue;
    let e: {
      auditID: string;
      verb: string;
      userAgent?: string;
      user?: { username?: string };
      requestReceivedTimestamp: string;
      objectRef?: { resource?: string; subresource?: string };
    };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    const at = Date.parse(e.requestReceivedTimestamp);
    const phase =
      at < ph.start ? -1 : at < ph.idleStart ? 0 : at < ph.idleEnd ? 1 : at <= ph.podsEnd ? 2 : -1;
    if (phase < 0) continue;
    const system = /^bench-(hollow-node|kubemark|kwok)$/.exec(e.user?.username ?? "")?.[1];
    const ua = (e.userAgent ?? "").split("/")[0] ?? "";
    if (!system || !ua || !e.objectRef?.resource) continue;
    const res = `${e.objectRef.resource}${e.objectRef.subresource ? `/${e.objectRef.subresource}` : ""}`;
    const key = `${system}\t${ua}\t${e.verb}\t${res}`;
    let c = counts.get(key);
    if (!c) counts.set(key, (c = [new Set(), new Set(), new Set()]));
    c[phase as 0 | 1 | 2].add(e.auditID);
  }
  const idleMinutes = (ph.idleEnd - ph.idleStart) / 60_000;
  return [...counts.entries()].map(([k, c]) => {
    const [system, userAgent, verb, resource] = k.split("\t") as [SystemName, string, string, string];
    const pods = ph.pods[system] ?? 0;
    return {
      system,
      userAgent,
      verb,
      resource,
      registrationPerNode: c[0].size / ph.nodes,
      idlePerNodeMinute: c[1].size / ph.nodes / idleMinutes,
      perPod: pods > 0 ? c[2].size / pods : 0,
    };
  });
}

/** The control plane a phase runs on. */
interface ControlPlane {
  apiserver: number;
  etcd: number;
  auditLog: string;
}

interface Results {
  cost: CostRow[];
  pods: PodRow[];
  fidelity: FidelityRow[];
}

function prefixOf(system: SystemName, n: number): string {
  return `b-${system === "hollow-node" ? "hn" : system === "kubemark" ? "km" : "kw"}-${n}`;
}

/**
 * The 10-node run of every system at once on the audit-logging control plane: registration, a
 * ten-minute idle window (the fidelity rates and the 10-node cost rows), then a pod phase per
 * system. The audit log tells the systems apart by their identities.
 */
async function runFidelity(ctx: Ctx, systems: SystemName[], cp: ControlPlane, out: Results): Promise<void> {
  const n = 10;
  log(`fidelity: ${n} nodes of ${systems.join(", ")} at once, ${FIDELITY_IDLE_MS / 1000}s idle, then pods`);
  const t0 = Date.now();
  const running = new Map<SystemName, Running>();
  const ready = new Map<SystemName, number>();
  try {
    for (const system of systems) {
      const sys = await startSystem(ctx, system, n, prefixOf(system, n));
      running.set(system, sys);
      live.add(sys);
    }
    await waitFor(`${n} nodes of each system Ready`, 240_000, async () => {
      for (const system of systems) {
        if (!ready.has(system) && (await readyNodes(ctx.client, system)) >= n) {
          ready.set(system, (Date.now() - t0) / 1000);
        }
      }
      return ready.size === systems.length;
    });
    log(
      `  all Ready (${systems.map((s) => `${s} ${ready.get(s)?.toFixed(1)}s`).join(", ")}); settling ${SETTLE_MS / 1000}s`,
    );
    await sleep(SETTLE_MS);
    const missed = new Map<SystemName, Set<string>>(systems.map((s) => [s, new Set<string>()]));
    const s0 = new Map<SystemName, { rss: number; cpu: number }>();
    for (const s of systems) s0.set(s, await procStats(running.get(s)!.pids()));
    const a0 = await procStats([cp.apiserver]);
    const e0 = await procStats([cp.etcd]);
    const w0 = Date.now();
    while (Date.now() - w0 < FIDELITY_IDLE_MS) {
      for (const s of systems)
        for (const name of await staleLeases(ctx.client, prefixOf(s, n))) missed.get(s)!.add(name);
      await sleep(Math.max(1, Math.min(5_000, FIDELITY_IDLE_MS - (Date.now() - w0) + 1)));
    }
    const idleEnd = Date.now();
    const secs = (idleEnd - w0) / 1000;
    const a1 = await procStats([cp.apiserver]);
    const e1 = await procStats([cp.etcd]);
    for (const system of systems) {
      const s1 = await procStats(running.get(system)!.pids());
      const cpuPerNodeMinute = ((s1.cpu - s0.get(system)!.cpu) / n / secs) * 60;
      out.cost.push({
        system,
        nodes: n,
        readySeconds: ready.get(system) ?? null,
        rssMB: s1.rss / 1048576,
        rssPerNodeKB: s1.rss / 1024 / n,
        cpuSecondsPerNodeMinute: cpuPerNodeMinute,
        mCpuPerNode: (cpuPerNodeMinute / 60) * 1000,
        missedLeases: missed.get(system)!.size,
        apiserverCpuCores: (a1.cpu - a0.cpu) / secs,
        etcdCpuCores: (e1.cpu - e0.cpu) / secs,
        apiserverRssMB: a1.rss / 1048576,
        note: `${systems.length} systems' 10 nodes at once: API server and etcd figures are for all of them`,
      });
      const last = out.cost.at(-1)!;
      log(
        `  ${system}: RSS ${last.rssMB.toFixed(0)} MB, ${last.mCpuPerNode.toFixed(3)} mCPU/node, missed leases ${last.missedLeases}`,
      );
    }
    const pods: Partial<Record<SystemName, number>> = {};
    for (const system of systems) {
      const count = POD_NODES === n ? PODS : 20;
      const rate = POD_NODES === n ? POD_RATE : 5;
      log(`  ${system} pod phase: ${count} pods at ${rate}/s`);
      const row = await podPhase(ctx, system, n, count, rate);
      if (POD_NODES === n) out.pods.push(row);
      pods[system] = count + 1; // and the Job's pod
    }
    await sleep(3_000); // audit log flush
    out.fidelity.push(
      ...(await auditRows(cp.auditLog, {
        start: t0,
        idleStart: w0,
        idleEnd,
        podsEnd: Date.now(),
        pods,
        nodes: n,
      })),
    );
  } catch (err) {
    log(`  fidelity run failed: ${String(err)}`);
    for (const system of systems) {
      if (!out.cost.some((r) => r.system === system && r.nodes === n)) {
        out.cost.push(
          notMeasured(system, n, `failed: ${String(err).slice(0, 200)}`, ready.get(system) ?? null),
        );
      }
    }
  } finally {
    for (const [system, sys] of running) {
      live.delete(sys);
      await sys.stop();
      await removeNodes(ctx.client, system, prefixOf(system, n));
    }
    await sleep(3_000);
  }
}

async function runSize(
  ctx: Ctx,
  system: SystemName,
  n: number,
  cp: ControlPlane,
  out: Results,
): Promise<void> {
  const prefix = prefixOf(system, n);
  log(`${system}: ${n} nodes`);
  const t0 = Date.now();
  const sys = await startSystem(ctx, system, n, prefix);
  live.add(sys);
  let readySeconds: number | null = null;
  try {
    const readyBudget = system === "kubemark" ? 120_000 + n * 3_000 : 120_000 + n * 60;
    await waitFor(
      `${n} ${system} nodes Ready`,
      readyBudget,
      async () => (await readyNodes(ctx.client, system)) >= n,
    );
    readySeconds = (Date.now() - t0) / 1000;
    log(`  all ${n} Ready in ${readySeconds.toFixed(1)}s; settling ${SETTLE_MS / 1000}s`);
    await sleep(SETTLE_MS);
    const missed = new Set<string>();
    const s0 = await procStats(sys.pids());
    const a0 = await procStats([cp.apiserver]);
    const e0 = await procStats([cp.etcd]);
    const w0 = Date.now();
    while (Date.now() - w0 < WINDOW_MS) {
      for (const name of await staleLeases(ctx.client, prefix)) missed.add(name);
      await sleep(Math.max(1, Math.min(5_000, WINDOW_MS - (Date.now() - w0) + 1)));
    }
    const secs = (Date.now() - w0) / 1000;
    const s1 = await procStats(sys.pids());
    const a1 = await procStats([cp.apiserver]);
    const e1 = await procStats([cp.etcd]);
    const cpuPerNodeMinute = ((s1.cpu - s0.cpu) / n / secs) * 60;
    out.cost.push({
      system,
      nodes: n,
      readySeconds,
      rssMB: s1.rss / 1048576,
      rssPerNodeKB: s1.rss / 1024 / n,
      cpuSecondsPerNodeMinute: cpuPerNodeMinute,
      mCpuPerNode: (cpuPerNodeMinute / 60) * 1000,
      missedLeases: missed.size,
      apiserverCpuCores: (a1.cpu - a0.cpu) / secs,
      etcdCpuCores: (e1.cpu - e0.cpu) / secs,
      apiserverRssMB: a1.rss / 1048576,
    });
    const last = out.cost.at(-1)!;
    log(
      `  RSS ${last.rssMB.toFixed(0)} MB (${last.rssPerNodeKB.toFixed(1)} KB/node), ${last.mCpuPerNode.toFixed(3)} mCPU/node, missed leases ${last.missedLeases}, API server ${last.apiserverCpuCores.toFixed(2)} cores`,
    );
    if (n === POD_NODES) {
      log(`  pod phase: ${PODS} pods at ${POD_RATE}/s`);
      out.pods.push(await podPhase(ctx, system, n, PODS, POD_RATE));
      const p = out.pods.at(-1)!;
      log(
        `  ${p.running}/${p.pods} Running, p50 ${p.latencyP50Seconds?.toFixed(2)}s p99 ${p.latencyP99Seconds?.toFixed(2)}s, ${p.distinctPodIPs} distinct IPs, Job ${p.jobWithInitCompleted ? "completed" : "did not complete"}`,
      );
    }
  } catch (err) {
    const tail = (await readFile(sys.logs(), "utf8").catch(() => "")).split("\n").slice(-5).join("\n");
    log(`  ${system} at ${n} nodes failed: ${String(err)}\n${tail}`);
    out.cost.push(notMeasured(system, n, `failed: ${String(err).slice(0, 200)}`, readySeconds));
  } finally {
    live.delete(sys);
    await sys.stop();
    await removeNodes(ctx.client, system, prefix);
    await sleep(3_000);
  }
}

function fmt(x: number | null | undefined, d = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d);
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (!a || !b) return "-";
  return `${(a / b).toFixed(a / b < 0.1 ? 3 : 2)}x`;
}

function markdown(result: {
  when: string;
  command: string;
  machine: string;
  cost: CostRow[];
  pods: PodRow[];
  fidelity: FidelityRow[];
  scaleOut: string;
}): string {
  const lines: string[] = [];
  lines.push(`# hollow-node vs kubemark vs KWOK (${result.when})`, "");
  lines.push(`Command: \`${result.command}\`  `, `Machine: ${result.machine}`, "");
  lines.push("## Cost (idle nodes)", "");
  lines.push(
    "| system | nodes | Ready after s | RSS MB | KB/node | mCPU/node | CPU-s per node-minute | missed leases | API server cores | etcd cores |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of result.cost) {
    lines.push(
      `| ${r.system} | ${r.nodes} | ${fmt(r.readySeconds)} | ${fmt(r.rssMB, 0)} | ${fmt(r.rssPerNodeKB)} | ${fmt(r.mCpuPerNode, 3)} | ${fmt(r.cpuSecondsPerNodeMinute, 4)} | ${r.missedLeases} | ${fmt(r.apiserverCpuCores, 2)} | ${fmt(r.etcdCpuCores, 2)} |${r.note ? ` ${r.note}` : ""}`,
    );
  }
  lines.push("", "Ratios, hollow-node / other, same node count:", "");
  lines.push("| nodes | vs | RSS per node | CPU per node | time to Ready |");
  lines.push("|---|---|---|---|---|");
  for (const h of result.cost.filter((r) => r.system === "hollow-node" && !r.note)) {
    for (const o of result.cost.filter((r) => r.system !== "hollow-node" && r.nodes === h.nodes && !r.note)) {
      lines.push(
        `| ${h.nodes} | ${o.system} | ${ratio(h.rssPerNodeKB, o.rssPerNodeKB)} | ${ratio(h.mCpuPerNode, o.mCpuPerNode)} | ${ratio(h.readySeconds, o.readySeconds)} |`,
      );
    }
  }
  lines.push("", "## Pods", "");
  lines.push(
    "| system | nodes | pods | Running | bound->Running p50 s | p99 s | pods/s | distinct pod IPs | Job with init container |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|");
  for (const p of result.pods) {
    lines.push(
      `| ${p.system} | ${p.nodes} | ${p.pods} | ${p.running} | ${fmt(p.latencyP50Seconds, 2)} | ${fmt(p.latencyP99Seconds, 2)} | ${fmt(p.throughputPerSecond)} | ${p.distinctPodIPs} | ${p.jobWithInitCompleted ? "completed" : "never completed"} |`,
    );
  }
  lines.push(
    "",
    "## Fidelity: requests by verb and resource (10 nodes of each system at once, audit log, told apart by identity)",
    "",
    "Registration: per node, until all Ready. Idle: per node per minute. Pods: per pod created, run and deleted (a Job's pod included). Kubemark runs its kubelet only (its proxy crashes on this version); KWOK has no per-node clients.",
    "",
  );
  const keys = new Map<string, { verb: string; resource: string }>();
  for (const f of result.fidelity)
    keys.set(`${f.verb} ${f.resource}`, { verb: f.verb, resource: f.resource });
  const sum = (
    system: SystemName,
    verb: string,
    resource: string,
    field: "registrationPerNode" | "idlePerNodeMinute" | "perPod",
    ua?: RegExp,
  ): number =>
    result.fidelity
      .filter(
        (f) =>
          f.system === system && f.verb === verb && f.resource === resource && (!ua || ua.test(f.userAgent)),
      )
      .reduce((a, f) => a + f[field], 0);
  const phases = [
    ["registration", "registrationPerNode"],
    ["idle", "idlePerNodeMinute"],
    ["pods", "perPod"],
  ] as const;
  lines.push(
    "| phase | verb | resource | hollow-node kubelet | hollow-node proxy | kubemark kubelet | KWOK | hollow / kubemark |",
  );
  lines.push("|---|---|---|---|---|---|---|---|");
  for (const [phase, field] of phases) {
    for (const { verb, resource } of [...keys.values()].sort((a, b) =>
      (a.resource + a.verb).localeCompare(b.resource + b.verb),
    )) {
      const hk = sum("hollow-node", verb, resource, field, /kubelet/);
      const hp = sum("hollow-node", verb, resource, field, /proxy/);
      const km = sum("kubemark", verb, resource, field);
      const kw = sum("kwok", verb, resource, field);
      if (hk + hp + km + kw === 0) continue;
      lines.push(
        `| ${phase} | ${verb} | ${resource} | ${fmt(hk, 2)} | ${fmt(hp, 2)} | ${fmt(km, 2)} | ${fmt(kw, 2)} | ${ratio(hk, km)} |`,
      );
    }
  }
  lines.push("", "## Scale-out", "", result.scaleOut, "");
  return lines.join("\n");
}

/** Systems running now, stopped on SIGINT/SIGTERM together with the control plane. */
const live = new Set<Running>();
let stopControlPlane: (() => Promise<void>) | undefined;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping the systems and the control plane`);
    void Promise.all([...live].map((r) => r.stop()))
      .then(() => stopControlPlane?.())
      .finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const begun = Date.now();
  const stateDir = await mkdtemp(join(tmpdir(), "kubemark-compare-"));
  const workDir = join(stateDir, "systems");
  await mkdir(workDir, { recursive: true });
  const paths = resolvePaths(process.env, { stateDir });
  const deps = { paths, env: process.env, clock: realClock };
  const version = parseKubeVersion(values["kube-version"]);
  log(`resolving kubemark and KWOK for ${version.git} (built with Go if missing)`);
  const bins = await resolveBinaries({
    version,
    binaries: ["kubemark", "kwok"],
    cacheDir: paths.cacheDir,
    env: process.env,
    now: Date.now,
  });
  const out: Results = { cost: [], pods: [], fidelity: [] };
  /**
   * Starts a control plane, gives each system its own client certificate, runs `fn`, stops it.
   * Only the fidelity run logs every request: at thousands of nodes the audit log itself would be
   * the bottleneck measured.
   */
  const withControlPlane = async (
    name: string,
    audit: boolean,
    fn: (ctx: Ctx, cp: ControlPlane) => Promise<void>,
  ): Promise<void> => {
    log(`starting control plane "${name}" (${audit ? "audit log on, " : ""}load-test limits)`);
    const info = await upCluster(deps, { name, audit, loadTest: true, kubeVersion: values["kube-version"] });
    stopControlPlane = async () => {
      await downCluster(deps, { name }).catch(() => undefined);
      await rm(stateDir, { recursive: true, force: true });
    };
    const layout = clusterLayout(stateDir, name);
    const rec = await readRecord(layout);
    const cp: ControlPlane = {
      apiserver: rec?.processes["kube-apiserver"]?.pid ?? 0,
      etcd: rec?.processes.etcd?.pid ?? 0,
      auditLog: layout.auditLog,
    };
    const ca = { certFile: join(layout.pki, "ca.crt"), keyFile: join(layout.pki, "ca.key") };
    const kubeconfigFor = {} as Record<SystemName, string>;
    for (const system of ["hollow-node", "kubemark", "kwok"] as const) {
      await issueCert(layout.pki, ca, {
        name: `bench-${system}`,
        commonName: `bench-${system}`,
        organizations: ["system:masters"],
        usage: "client",
      });
      const file = join(workDir, `${name}-${system}.kubeconfig`);
      await writeKubeconfig(
        file,
        await renderKubeconfig({
          clusterName: name,
          userName: `bench-${system}`,
          server: info.server,
          caFile: ca.certFile,
          certFile: join(layout.pki, `bench-${system}.crt`),
          keyFile: join(layout.pki, `bench-${system}.key`),
        }),
      );
      kubeconfigFor[system] = file;
    }
    const client = new KubeClient(
      await loadClusterAccess({ kubeconfig: info.kubeconfig, env: process.env }),
      {
        userAgent: "kubemark-bench",
      },
    );
    try {
      await fn(
        {
          kubeconfig: info.kubeconfig,
          kubeconfigFor,
          client,
          bins: {
            kubemark: bins.kubemark.path,
            kwok: bins.kwok.path,
            stages: join(bins.kwok.path, "..", "kwok-stages.yaml"),
          },
          workDir,
        },
        cp,
      );
    } finally {
      await client.close();
      await downCluster(deps, { name }).catch(() => undefined);
    }
  };
  if (SIZES.includes(10)) {
    await withControlPlane("compare-audit", true, (ctx, cp) => runFidelity(ctx, SYSTEMS, cp, out));
  }
  const larger = SIZES.filter((n) => n !== 10);
  if (larger.length > 0) {
    await withControlPlane("compare", false, async (ctx, cp) => {
      for (const system of SYSTEMS) {
        for (const n of larger) {
          if (system === "kubemark" && n > KUBEMARK_MAX) {
            out.cost.push(
              notMeasured(system, n, `not run: one ~75 MB process per node (--kubemark-max ${KUBEMARK_MAX})`),
            );
            continue;
          }
          await runSize(ctx, system, n, cp, out);
        }
      }
    });
  }
  // Scale-out: the largest count the engine held with no missed lease, and who was busier.
  const hn = out.cost.filter((r) => r.system === "hollow-node" && !r.note);
  const held = hn.filter((r) => r.missedLeases === 0).map((r) => r.nodes);
  const top = hn.at(-1);
  const engineCores = top ? (top.mCpuPerNode * top.nodes) / 1000 : 0;
  const scaleOut = top
    ? `One hollow-node process held up to ${Math.max(0, ...held)} nodes with no missed lease (largest tried: ${top.nodes}). At ${top.nodes} nodes the engine used ${engineCores.toFixed(2)} of its one core, the API server ${top.apiserverCpuCores.toFixed(2)} and etcd ${top.etcdCpuCores.toFixed(2)} of the machine's 2 cores: ${
        top.apiserverCpuCores + top.etcdCpuCores > engineCores
          ? "the control plane is the busier side and saturates first"
          : "the engine is the busier side"
      }.`
    : "hollow-node not run";
  const result = {
    when: new Date().toISOString(),
    command: `node bench/compare.ts ${process.argv.slice(2).join(" ")}`.trim(),
    machine: `${(await readFile("/proc/cpuinfo", "utf8")).split("\n").filter((l) => l.startsWith("processor")).length} cores, ${Math.round(Number(/MemTotal:\s+(\d+)/.exec(await readFile("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1048576)} GiB, control plane ${version.git} on the same machine`,
    minutes: (Date.now() - begun) / 60_000,
    ...out,
    scaleOut,
  };
  await mkdir(OUT, { recursive: true });
  await writeFile(join(OUT, "compare.json"), JSON.stringify(result, null, 2) + "\n");
  await writeFile(join(OUT, "compare.md"), markdown(result));
  await renderPlots(OUT, out.cost, out.pods);
  await rm(stateDir, { recursive: true, force: true });
  process.stdout.write(markdown(result));
  log(`done in ${result.minutes.toFixed(1)} min; ${OUT}/compare.{json,md} and plots`);
}

await main();
