/**
 * Fleet start-up benchmark: where the time goes while N hollow nodes register on a local control
 * plane (load-test limits lifted, /debug/pprof served), and what the API server answered to whom.
 *
 *   node bench/startup.ts --nodes 1000 --via engine|create --root DIR --profile-seconds 20 --out NAME
 *                         --after-ready 30 --kwok --engine-arg --max-in-flight --engine-arg 400
 *
 * `--via engine` runs one hollow-node process (`--traffic kubelet`, proxy on, as `create` does)
 * with Node's `--cpu-prof` (the profile goes to results/<NAME>-engine-prof/); `--via create` runs
 * `kubemark-cluster create N` of the checkout `--root` (default this one) and waits for it, as a
 * user would. Either way it records: seconds to every Node Ready (from a Node watch), the API
 * server's requests by verb and resource during the start-up (apiserver_request_total) and their
 * mean server-side latency, the CPU-seconds of kube-apiserver, etcd and the engine, the Lease
 * renewal gaps seen by a watcher (a gap over 40 s is a missed lease), and with
 * `--profile-seconds S` the API server's CPU profile over the first S seconds (saved beside the
 * JSON; read it with `go tool pprof -top <kube-apiserver> <file>`). It counts the fleet's Nodes
 * that went from Ready to NotReady until the end (`--after-ready S`: keep the fleet up S seconds
 * after all are Ready, still counting; a missed Lease shows as NotReady ~50 s after it). With
 * `--kwok`, KWOK then brings up as many Nodes on the same control plane, as bench/compare.ts runs
 * it (startup/kwok-ready.ts), and the ratio of the two Ready times is printed; `--kwok-first` runs
 * KWOK before hollow-node on that control plane, `--kwok-fresh` on a fresh one of its own (the
 * second system on one control plane meets it warm: KWOK's 1,000 Nodes were Ready in a median 12 s
 * second against 21 s from a cold one). The machine's load average at the start and the end goes
 * in the JSON, with how fast the machine did a fixed piece of work just before the run
 * (lib/machine-speed.ts) and the share of CPU time the hypervisor stole until all were Ready: the
 * same start-up of the same code has taken 1.5-2x longer from one day to the next on this class of
 * machine. Writes results/<NAME>.json.
 */
import { spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { join } from "node:path";
import { KubeClient } from "../src/client/kube-client.ts";
import { loadClusterAccess } from "../src/client/kubeconfig.ts";
import { clusterLayout, readRecord } from "../src/controlplane/cluster-state.ts";
import { downCluster, upCluster } from "../src/controlplane/local-cluster.ts";
import { FleetWatch } from "../src/fleet/fleet-watch.ts";
import { realClock } from "../src/kernel/clock.ts";
import { resolvePaths } from "../src/kernel/paths.ts";
import { quantile } from "../src/kernel/quantile.ts";
import { startFleetEngine } from "../test/engine-process.ts";
import { ROOT } from "../test/harness.ts";
import { observeLeases } from "./engine-scale/lease-observer.ts";
import { latenessOver, scrape } from "./engine-scale/metrics.ts";
import { watchCacheHealth, watchCacheHealthBetween, watchCacheRevisions } from "./lib/apiserver-metrics.ts";
import { measureMachineSpeed } from "./lib/machine-speed.ts";
import { machineTicks, processStats, stealPercentBetween } from "./lib/proc-stats.ts";
import { profileSlices } from "./lib/profile-slices.ts";
import { countLag } from "./lib/count-lag.ts";
import { nodeCacheLag, type CacheRevisionSample } from "./lib/cache-lag.ts";
import { kwokReadySeconds } from "./startup/kwok-ready.ts";

interface Options {
  nodes: number;
  via: "engine" | "create";
  root: string;
  profileSeconds: number;
  out: string;
  engineArgs: string[];
  /** Seconds to keep the fleet up after all are Ready (counting NotReady Nodes meanwhile). */
  afterReadySeconds: number;
  /** Then KWOK with as many Nodes on the same control plane. */
  kwok: boolean;
  /** KWOK runs before hollow-node instead of after it (same control plane): the order's share of the ratio. */
  kwokFirst: boolean;
  /** KWOK alone on a fresh control plane of its own, before hollow-node's (neither meets a warm one). */
  kwokFresh: boolean;
  /** More flags for `kubemark-cluster create` (--via create). */
  createArgs: string[];
  /** Keep the engine's log as results/NAME-engine.log (--via engine). */
  engineLog: boolean;
  /** Sample the Node watch cache's resourceVersion, 1 s after each answer, until all are Ready (--sample-cache-lag). */
  sampleCacheLag: boolean;
  /** The API server's klog verbosity during the run, its log kept (undefined: neither). */
  apiserverLogV?: number;
  /** Seconds of the API server's CPU profile and CPU use on the idle fleet, after all are Ready (0: none). */
  profileIdleSeconds: number;
}

/** Seconds between all Ready and the idle profile (the last nodes' start-up reads and CSI calls end). */
const IDLE_SETTLE_SECONDS = 20;

/** What `--help` prints. */
const USAGE = `Usage: npm run bench:startup -- [flags]   (node bench/startup.ts on the project's Node.js 24)

N hollow nodes start on a fresh local control plane (load-test limits): time to all Ready, the API
server's requests and CPU, Lease gaps, Nodes gone NotReady; optionally KWOK in the same run.

  --nodes N              nodes (default 1000)
  --via engine|create    one hollow-node process (default), or 'kubemark-cluster create N'
  --root DIR             the checkout whose 'kubemark-cluster' --via create runs (default this one)
  --profile-seconds S    the API server's CPU profile over the first S seconds (default none; over 50 s, in
                         50 s slices: results/NAME-apiserver-1.pprof, -2, ...)
  --profile-idle S       the API server's CPU profile and CPU use over S seconds of the idle fleet, from
                         ${IDLE_SETTLE_SECONDS} s after all are Ready (results/NAME-apiserver-idle.pprof; lengthens
                         --after-ready to cover it)
  --after-ready S        keep the fleet up S seconds after all are Ready, still counting (default 0)
  --kwok                 then KWOK with as many Nodes on the same control plane (bench/compare's launcher)
  --kwok-first           as --kwok, but KWOK first (its Nodes removed before hollow-node starts); the system
                         that runs second meets a warm control plane (KWOK's 1,000 Nodes: 11-16 s second, 13-25 s first)
  --kwok-fresh           KWOK alone on a fresh control plane of its own (up, KWOK, down), then hollow-node
                         on another fresh one: each from a cold start, as a user's first start-up meets it
  --engine-log           keep the engine's log as results/NAME-engine.log (--via engine)
  --sample-cache-lag     scrape the API server's /metrics until all are Ready, 1 s after each answer: how far
                         its Node watch cache ran behind its freshest cache (load on what it measures: opt-in)
  --engine-arg ARG       one more hollow-node flag (repeat: --engine-arg --max-in-flight --engine-arg 400)
  --create-arg ARG       one more 'create' flag (--via create; repeat: --create-arg --identity --create-arg shared)
  --apiserver-log V      log the API server at verbosity V (PUT /debug/flags/v) during the run and keep its
                         log as results/NAME-apiserver.log (V=1 logs the watchers it closes as unresponsive)
  --out NAME             results/NAME.json (default startup)
`;

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    nodes: 1000,
    via: "engine",
    root: ROOT,
    profileSeconds: 0,
    out: "startup",
    engineArgs: [],
    afterReadySeconds: 0,
    kwok: false,
    kwokFirst: false,
    kwokFresh: false,
    createArgs: [],
    engineLog: false,
    sampleCacheLag: false,
    profileIdleSeconds: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === "--help" || flag === "-h") {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (
      flag === "--kwok" ||
      flag === "--kwok-first" ||
      flag === "--kwok-fresh" ||
      flag === "--engine-log" ||
      flag === "--sample-cache-lag"
    ) {
      if (flag === "--kwok") o.kwok = true;
      else if (flag === "--kwok-first") o.kwokFirst = true;
      else if (flag === "--kwok-fresh") o.kwokFresh = true;
      else if (flag === "--sample-cache-lag") o.sampleCacheLag = true;
      else o.engineLog = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value (see --help)`);
    if (flag === "--nodes") o.nodes = Number(value);
    else if (flag === "--via") {
      if (value !== "engine" && value !== "create")
        throw new Error(`--via must be engine or create, got "${value}"`);
      o.via = value;
    } else if (flag === "--root") o.root = value;
    else if (flag === "--profile-seconds") o.profileSeconds = Number(value);
    else if (flag === "--out") o.out = value;
    else if (flag === "--engine-arg") o.engineArgs.push(value);
    else if (flag === "--create-arg") o.createArgs.push(value);
    else if (flag === "--after-ready") o.afterReadySeconds = Number(value);
    else if (flag === "--apiserver-log") o.apiserverLogV = Number(value);
    else if (flag === "--profile-idle") o.profileIdleSeconds = Number(value);
    else throw new Error(`unknown flag ${flag} ${value} (see --help)`);
  }
  if (!Number.isInteger(o.nodes) || o.nodes < 1) throw new Error(`--nodes must be a positive integer`);
  if ([o.kwok, o.kwokFirst, o.kwokFresh].filter(Boolean).length > 1)
    throw new Error(
      `--kwok, --kwok-first, --kwok-fresh: give one (KWOK after, before, or on its own control plane)`,
    );
  if (o.createArgs.length > 0 && o.via !== "create") throw new Error(`--create-arg needs --via create`);
  if (!(o.afterReadySeconds >= 0)) throw new Error(`--after-ready must be seconds (0 or more)`);
  if (!(Number.isInteger(o.profileIdleSeconds) && o.profileIdleSeconds >= 0))
    throw new Error(`--profile-idle must be whole seconds (0 or more)`);
  if (!(Number.isInteger(o.profileSeconds) && o.profileSeconds >= 0))
    throw new Error(`--profile-seconds must be whole seconds (0 or more)`);
  o.afterReadySeconds = Math.max(
    o.afterReadySeconds,
    o.profileIdleSeconds > 0 ? IDLE_SETTLE_SECONDS + o.profileIdleSeconds : 0,
  );
  if (
    o.apiserverLogV !== undefined &&
    !(Number.isInteger(o.apiserverLogV) && o.apiserverLogV >= 0 && o.apiserverLogV <= 10)
  )
    throw new Error(`--apiserver-log must be a klog verbosity, 0-10`);
  return o;
}

/** The idle fleet as the API server served it (--profile-idle). */
interface IdleWindow {
  seconds: number;
  apiserverCpuSeconds: number;
  apiserverMCpuPerNode: number;
  /** apiserver_request_total per second over the window, by `verb resource[/subresource]`. */
  requestsPerSecond: Record<string, number>;
  profile: string;
}

/** Requests per second of each kind between two scrapes `seconds` apart (kinds with none left out). */
function ratesBetween(
  a: Map<string, { n: number }>,
  b: Map<string, { n: number }>,
  seconds: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of b) {
    const n = v.n - (a.get(k)?.n ?? 0);
    if (n > 0) out[k] = Math.round((n / seconds) * 100) / 100;
  }
  return out;
}

/** apiserver_request_total summed by `verb resource[/subresource]`, and the duration sums/counts. */
function requestCounts(text: string): Map<string, { n: number; sum: number; count: number }> {
  const out = new Map<string, { n: number; sum: number; count: number }>();
  const re =
    /^(apiserver_request_total|apiserver_request_duration_seconds_sum|apiserver_request_duration_seconds_count)\{(.*)\}\s+(\S+)$/;
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (!m) continue;
    const label = (k: string): string => new RegExp(`(?:^|,)${k}="([^"]*)"`).exec(m[2]!)?.[1] ?? "";
    const sub = label("subresource");
    const key = `${label("verb")} ${label("resource")}${sub ? `/${sub}` : ""}`;
    const e = out.get(key) ?? { n: 0, sum: 0, count: 0 };
    const v = Number(m[3]);
    if (m[1] === "apiserver_request_total") e.n += v;
    else if (m[1]!.endsWith("_sum")) e.sum += v;
    else e.count += v;
    out.set(key, e);
  }
  return out;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, stdout?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "inherit"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => chunks.push(b));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (stdout) void writeFile(stdout, Buffer.concat(chunks)).then(() => resolve(code ?? -1), reject);
      else resolve(code ?? -1);
    });
  });
}

/** Removes the fleet `create` made. */
async function cleanup(o: Options, kubeconfig: string, env: NodeJS.ProcessEnv): Promise<void> {
  await run(join(o.root, "kubemark-cluster"), ["cleanup", "--kubeconfig", kubeconfig, "-n", "startup"], env);
}

/** KWOK's time to all Ready on a fresh load-test control plane of its own, torn down after. */
async function kwokOnFreshPlane(
  cpDeps: Parameters<typeof upCluster>[0],
  stateDir: string,
  nodes: number,
): Promise<number> {
  const info = await upCluster(cpDeps, { name: "bench-kwok", loadTest: true });
  const client = new KubeClient(await loadClusterAccess({ kubeconfig: info.kubeconfig, env: process.env }));
  try {
    const version = (await client.get<{ gitVersion: string }>("/version")).gitVersion;
    return await kwokReadySeconds({
      kubeconfig: info.kubeconfig,
      client,
      version,
      cacheDir: cpDeps.paths.cacheDir,
      workDir: stateDir,
      nodes,
    });
  } finally {
    await client.close();
    await downCluster(cpDeps, { name: "bench-kwok" });
  }
}

async function main(o: Options): Promise<void> {
  // Before anything of the run loads the machine: how fast it does a fixed piece of work today.
  const speed = measureMachineSpeed();
  const stateDir = await mkdtemp(join(tmpdir(), "kubemark-startup-"));
  const paths = resolvePaths(process.env, { stateDir });
  const cpDeps = { paths, env: process.env, clock: realClock };
  const kwokFreshSeconds = o.kwokFresh ? await kwokOnFreshPlane(cpDeps, stateDir, o.nodes) : undefined;
  const info = await upCluster(cpDeps, { name: "bench", loadTest: true });
  const env = { ...process.env, KUBEMARK_STATE_DIR: stateDir, CI: "true" };
  const client = new KubeClient(await loadClusterAccess({ kubeconfig: info.kubeconfig, env: process.env }));
  const layout = clusterLayout(paths.stateDir, "bench");
  const rec = await readRecord(layout);
  const apiserver = rec!.processes["kube-apiserver"]!.pid;
  const etcd = rec!.processes.etcd!.pid;
  const resultsDir = join(ROOT, "results");
  await mkdir(resultsDir, { recursive: true });
  // `create -n startup` names its fleet after the namespace and its Nodes hollow-node-<i>.
  const fleet = "startup";
  const prefix = o.via === "create" ? "hollow-node" : "startup";
  const load0 = loadavg();
  let cleaned = false;
  try {
    const version = (await client.get<{ gitVersion: string }>("/version")).gitVersion;
    const kwokRun = {
      kubeconfig: info.kubeconfig,
      client,
      version,
      cacheDir: paths.cacheDir,
      workDir: stateDir,
      nodes: o.nodes,
    };
    // --kwok-first: KWOK on the fresh control plane, its Nodes removed, then hollow-node.
    const kwokFirstSeconds = o.kwokFirst ? await kwokReadySeconds(kwokRun) : undefined;
    let readyAt = 0;
    const t0 = Date.now();
    // Ready -> NotReady transitions of the fleet's Nodes while measuring (not the deletions after).
    let counting = true;
    let ready = 0;
    let notReady = 0;
    // When the Ready count first reached k + 1, and how late this process's event loop ran meanwhile
    // (the count is this process's view: a starved observer counts late). The delay histogram
    // samples every 20 ms, and each of its values includes those 20 ms.
    const countReachedAt: number[] = [];
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    const watch = new FleetWatch(client, {
      clock: realClock,
      fleet,
      namePrefix: prefix,
      onReadyCount: (n) => {
        if (counting && n < ready) notReady += ready - n;
        for (let k = countReachedAt.length; k < n; k++) countReachedAt.push(Date.now());
        ready = n;
        if (n >= o.nodes && readyAt === 0) readyAt = Date.now();
      },
    });
    watch.start();
    // --sample-cache-lag: the Node watch cache's resourceVersion against the freshest cache's, 1 s
    // after each scrape's answer until all are Ready.
    const cacheSamples: CacheRevisionSample[] = [];
    const cacheSampling = (async (): Promise<void> => {
      while (o.sampleCacheLag && readyAt === 0 && Date.now() - t0 < 900_000) {
        try {
          const revs = watchCacheRevisions(await client.getText("/metrics"));
          const nodes = revs.get("/nodes");
          if (nodes !== undefined)
            cacheSamples.push({ at: Date.now(), nodes, freshest: Math.max(...revs.values()) });
        } catch {
          // A scrape that fails under load is a missing sample.
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const leases = observeLeases(client, `${prefix}-`);
    if (o.apiserverLogV !== undefined)
      await client.request({
        method: "PUT",
        path: "/debug/flags/v",
        body: String(o.apiserverLogV),
      });
    const m0 = await client.getText("/metrics");
    const r0 = requestCounts(m0);
    const a0 = await processStats(apiserver);
    const e0 = await processStats(etcd);
    const ticks0 = await machineTicks();
    const kubectl = join(paths.cacheDir, "bin", version, "kubectl");
    // A profile over 50 s is taken in consecutive 50 s slices, one file each, so that each phase
    // of the start-up can be read on its own (lib/profile-slices.ts).
    const profileFiles = profileSlices(o.profileSeconds).map((seconds, i, all) => ({
      seconds,
      file: join(
        resultsDir,
        all.length === 1 ? `${o.out}-apiserver.pprof` : `${o.out}-apiserver-${i + 1}.pprof`,
      ),
    }));
    // The slices written; the run goes on without the rest of the profile if one fails (this
    // promise is awaited only at the end, so it must not reject).
    const profiled: string[] = [];
    const profiling = (async (): Promise<void> => {
      for (const { seconds, file } of profileFiles) {
        let failure: string | undefined;
        try {
          const code = await run(
            kubectl,
            ["--kubeconfig", info.kubeconfig, "get", "--raw", `/debug/pprof/profile?seconds=${seconds}`],
            env,
            file,
          );
          if (code !== 0) failure = `kubectl get --raw /debug/pprof/profile exited ${code}`;
        } catch (err) {
          failure = String(err);
        }
        if (failure !== undefined) {
          console.error(`warning: the API server's profile stopped: ${failure}`);
          return;
        }
        profiled.push(file);
      }
    })();
    let engineCpu = 0;
    let engineRssMB = 0;
    let registerSeconds = 0;
    let lateness: ReturnType<typeof latenessOver> | undefined;
    let pacing: string | undefined;
    let opening: string | undefined;
    let engineWatches: { opens: number; failures: number } | undefined;
    // CPU-seconds of the API server and etcd when all were Ready (before --after-ready and the
    // deletions), and the share of the machine's CPU time the hypervisor stole until then.
    const cpuNow = async (): Promise<{ a: number; e: number; steal: number }> => ({
      a: (await processStats(apiserver)).cpu - a0.cpu,
      e: (await processStats(etcd)).cpu - e0.cpu,
      steal: stealPercentBetween(ticks0, await machineTicks()),
    });
    let atReady: { a: number; e: number; steal: number } | undefined;
    // When each Node was created (to the second, oldest first), taken when all were Ready.
    let created: number[] = [];
    const idleProfileFile = join(resultsDir, `${o.out}-apiserver-idle.pprof`);
    let idle: IdleWindow | undefined;
    /** The wait after all Ready; with --profile-idle, the idle fleet's API-server profile, CPU and requests meanwhile. */
    const afterReady = async (): Promise<void> => {
      const wait = new Promise((r) => setTimeout(r, o.afterReadySeconds * 1000));
      if (o.profileIdleSeconds > 0) {
        await new Promise((r) => setTimeout(r, IDLE_SETTLE_SECONDS * 1000));
        await profiling; // one CPU profile at a time
        const before = {
          t: Date.now(),
          cpu: (await processStats(apiserver)).cpu,
          m: await client.getText("/metrics"),
        };
        const code = await run(
          kubectl,
          [
            "--kubeconfig",
            info.kubeconfig,
            "get",
            "--raw",
            `/debug/pprof/profile?seconds=${o.profileIdleSeconds}`,
          ],
          env,
          idleProfileFile,
        );
        if (code !== 0)
          throw new Error(`the idle profile failed: kubectl get --raw /debug/pprof/profile exited ${code}`);
        const seconds = (Date.now() - before.t) / 1000;
        const cpu = (await processStats(apiserver)).cpu - before.cpu;
        idle = {
          seconds,
          apiserverCpuSeconds: cpu,
          apiserverMCpuPerNode: ((cpu / seconds) * 1000) / o.nodes,
          requestsPerSecond: ratesBetween(
            requestCounts(before.m),
            requestCounts(await client.getText("/metrics")),
            seconds,
          ),
          profile: idleProfileFile,
        };
      }
      await wait;
    };
    if (o.via === "engine") {
      const profDir = join(resultsDir, `${o.out}-engine-prof`);
      const engine = startFleetEngine(
        { kubeconfig: info.kubeconfig, nodes: o.nodes, fleet, namePrefix: prefix },
        ["--traffic", "kubelet", "--metrics-port", "19464", "--delete-nodes-on-exit", ...o.engineArgs],
        { ...env, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` },
      );
      try {
        while (!engine.logs().includes('"msg":"nodes registered"')) {
          if (engine.child.exitCode !== null || engine.child.signalCode !== null)
            throw new Error(`hollow-node exited:\n${engine.logs().slice(-2000)}`);
          if (Date.now() - t0 > 900_000) throw new Error("not registered after 900 s");
          await new Promise((r) => setTimeout(r, 200));
        }
        registerSeconds = (Date.now() - t0) / 1000;
        // The engine's own account of its pacing (registration-pacer.ts), when it logs one.
        pacing = /\{[^\n]*"msg":"registration pacing"[^\n]*\}/.exec(engine.logs())?.[0];
        // How long the kubelets' watches took to list before the registrations began.
        opening = /\{[^\n]*"msg":"kubelet watches (not all )?listed[^\n]*\}/.exec(engine.logs())?.[0];
        while (readyAt === 0 && Date.now() - t0 < 900_000) {
          if (engine.child.exitCode !== null || engine.child.signalCode !== null)
            throw new Error(`hollow-node exited before all were Ready (${ready}/${o.nodes})`);
          await new Promise((r) => setTimeout(r, 200));
        }
        atReady = await cpuNow();
        loopDelay.disable();
        created = watch.creationTimes();
        await afterReady();
        counting = false;
        const em = await scrape(19464);
        lateness = latenessOver({}, em);
        engineWatches = {
          opens: em["hollow_watch_opens_total"] ?? 0,
          failures: em["hollow_watch_errors_total"] ?? 0,
        };
        const s = await processStats(engine.child.pid!);
        engineCpu = s.cpu;
        engineRssMB = s.rss / 1048576;
      } finally {
        await engine.stop("SIGTERM");
        if (o.engineLog) await writeFile(join(resultsDir, `${o.out}-engine.log`), engine.logs());
      }
    } else {
      const code = await run(
        join(o.root, "kubemark-cluster"),
        ["create", String(o.nodes), "--kubeconfig", info.kubeconfig, "-n", "startup", ...o.createArgs],
        env,
      );
      registerSeconds = (Date.now() - t0) / 1000;
      if (code !== 0) throw new Error(`create exited ${code}`);
      // create returns once its own watch saw every node Ready; this one may see it a little
      // later (both read the API server's Node watch cache): wait for it, at most 30 s.
      for (const until = Date.now() + 30_000; readyAt === 0 && Date.now() < until;)
        await new Promise((r) => setTimeout(r, 200));
      atReady = await cpuNow();
      loopDelay.disable();
      created = watch.creationTimes();
      await afterReady();
      counting = false;
    }
    const readySeconds = readyAt ? (readyAt - t0) / 1000 : null;
    const m1 = await client.getText("/metrics");
    const r1 = requestCounts(m1);
    const watchCache = watchCacheHealthBetween(watchCacheHealth(m0), watchCacheHealth(m1));
    const a1 = await processStats(apiserver);
    const e1 = await processStats(etcd);
    watch.stop();
    const seen = await leases.stop();
    await profiling;
    await cacheSampling;
    if (o.via === "create") {
      await cleanup(o, info.kubeconfig, env);
      cleaned = true;
    }
    const kwokSeconds = o.kwok ? await kwokReadySeconds(kwokRun) : (kwokFirstSeconds ?? kwokFreshSeconds);
    const requests: Record<string, { requests: number; meanMs: number | null }> = {};
    for (const [k, v] of r1) {
      const before = r0.get(k) ?? { n: 0, sum: 0, count: 0 };
      const n = v.n - before.n;
      if (n <= 0) continue;
      const c = v.count - before.count;
      requests[k] = { requests: n, meanMs: c > 0 ? Math.round(((v.sum - before.sum) / c) * 1e4) / 10 : null };
    }
    const result = {
      when: new Date().toISOString(),
      command: `node bench/startup.ts ${process.argv.slice(2).join(" ")}`,
      nodes: o.nodes,
      via: o.via,
      registerSeconds,
      readySeconds,
      // The last Node's creation (the API server's stamp, cut to the second); how often the Ready
      // count's watch was opened, listed and failed, the k-th creation against the moment the
      // count reached k, and how late this process's event loop ran meanwhile (whose the lag is).
      lastNodeCreatedSeconds: created.length > 0 ? (created.at(-1)! - t0) / 1000 : undefined,
      readyWatch: {
        ...watch.nodeWatch,
        countLagSeconds: countLag(created, countReachedAt),
        eventLoopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      },
      apiserverCpuSeconds: a1.cpu - a0.cpu,
      etcdCpuSeconds: e1.cpu - e0.cpu,
      engineCpuSeconds: engineCpu,
      engineRssMB,
      apiserverCpuMsPerNode: ((a1.cpu - a0.cpu) * 1000) / o.nodes,
      apiserverCpuSecondsToReady: atReady?.a,
      etcdCpuSecondsToReady: atReady?.e,
      apiserverCpuMsPerNodeToReady: atReady ? (atReady.a * 1000) / o.nodes : undefined,
      notReadyTransitions: notReady,
      afterReadySeconds: o.afterReadySeconds,
      kwokReadySeconds: kwokSeconds,
      readyVsKwok: kwokSeconds && readySeconds ? readySeconds / kwokSeconds : undefined,
      kwokOrder: o.kwokFirst
        ? "first"
        : o.kwok
          ? "after"
          : o.kwokFresh
            ? "own fresh control plane"
            : undefined,
      loadAverage: { start: load0, end: loadavg() },
      machine: {
        fixedWorkBestMs: speed.bestMs,
        fixedWorkMedianMs: speed.medianMs,
        fixedWorkChecksum: speed.checksum,
        stealPercentToReady: atReady?.steal,
      },
      startupLateness: lateness,
      pacing: pacing ? (JSON.parse(pacing) as object) : undefined,
      openingLists: opening ? (JSON.parse(opening) as object) : undefined,
      leaseGapSeconds: {
        p99: (quantile(seen.gapsMs, 0.99) ?? 0) / 1000,
        max: (quantile(seen.gapsMs, 1) ?? 0) / 1000,
        over40s: seen.gapsMs.filter((g) => g > 40_000).length,
      },
      requests,
      watchCache,
      engineWatches,
      nodeCacheLag: cacheSamples.length > 0 ? nodeCacheLag(cacheSamples) : undefined,
      apiserverProfile: profiled.length > 0 ? profiled : undefined,
      idle,
    };
    const file = join(resultsDir, `${o.out}.json`);
    await writeFile(file, JSON.stringify(result, null, 2) + "\n");
    const rows = Object.entries(requests).sort((a, b) => b[1].requests - a[1].requests);
    console.log(
      `${o.nodes} nodes via ${o.via}: registered ${registerSeconds.toFixed(1)} s, all Ready ${readySeconds?.toFixed(1) ?? "never"} s; ` +
        `CPU-s apiserver ${result.apiserverCpuSeconds.toFixed(1)} etcd ${result.etcdCpuSeconds.toFixed(1)} engine ${engineCpu.toFixed(1)}; ` +
        `lease gap max ${result.leaseGapSeconds.max.toFixed(1)} s (${result.leaseGapSeconds.over40s} over 40 s); ` +
        `${notReady} went NotReady; load average ${load0.map((l) => l.toFixed(2)).join(" ")}`,
    );
    if (atReady)
      console.log(
        `  to all Ready: API server ${atReady.a.toFixed(1)} CPU-s (${result.apiserverCpuMsPerNodeToReady?.toFixed(1)} ms/node), etcd ${atReady.e.toFixed(1)}`,
      );
    console.log(
      `  machine: the fixed work (bench/lib/machine-speed.ts) took ${speed.bestMs.toFixed(0)} ms at best, ${speed.medianMs.toFixed(0)} ms median, before the run` +
        (atReady
          ? `; ${atReady.steal.toFixed(1)} % of CPU time stolen by the hypervisor until all Ready`
          : ""),
    );
    if (idle) {
      const top = Object.entries(idle.requestsPerSecond)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([k, v]) => `${k} ${v.toFixed(1)}/s`);
      console.log(
        `  idle (${idle.seconds.toFixed(0)} s from ${IDLE_SETTLE_SECONDS} s after all Ready): API server ${idle.apiserverMCpuPerNode.toFixed(3)} mCPU/node; ` +
          `${top.join(", ")}; profile ${idle.profile}`,
      );
    }
    if (lateness) console.log(`  renewals ${lateness.renewals}, ${lateness.over1s} over 1 s late`);
    if (result.nodeCacheLag)
      console.log(
        `  Node watch cache behind the freshest cache: p50 ${result.nodeCacheLag.p50Seconds} s, max ${result.nodeCacheLag.maxSeconds} s (${cacheSamples.length} samples)`,
      );
    const rw = result.readyWatch;
    if (rw.countLagSeconds)
      console.log(
        `  Ready count (this process's Node watch): the k-th Node counted ${rw.countLagSeconds.p50.toFixed(1)} s after the k-th creation ` +
          `(p99 ${rw.countLagSeconds.p99.toFixed(1)}, max ${rw.countLagSeconds.max.toFixed(1)}, the last ${rw.countLagSeconds.last.toFixed(1)}); ` +
          `watch opened ${rw.opens}, listed ${rw.relists}, failed ${rw.failures}; event loop delay p99 ${rw.eventLoopDelayMs.p99.toFixed(0)} ms, max ${rw.eventLoopDelayMs.max.toFixed(0)} ms (20 ms sampling included)`,
      );
    if (kwokSeconds !== undefined)
      console.log(
        `  hollow-node ${o.nodes} Ready in ${readySeconds?.toFixed(1) ?? "never"} s vs KWOK ${kwokSeconds.toFixed(1)} s in the same run (KWOK ${o.kwokFirst ? "first" : o.kwokFresh ? "on a fresh control plane of its own" : "after"})` +
          (result.readyVsKwok ? ` (${result.readyVsKwok.toFixed(2)}x)` : ""),
      );
    if (opening) console.log(`  engine: ${opening}`);
    if (pacing) console.log(`  engine: ${pacing}`);
    if (engineWatches)
      console.log(
        `  engine watches: ${engineWatches.opens} opened, ${engineWatches.failures} failed and retried`,
      );
    for (const [k, v] of Object.entries(watchCache))
      console.log(
        `  watch cache ${k}: ${v.terminated} watchers closed as unresponsive, ${v.freshnessWaits} waits for freshness ` +
          `(${v.freshnessTimeouts} past 3 s, ${v.freshnessWaitSeconds} s in all)`,
      );
    for (const [k, v] of rows)
      console.log(`  ${k.padEnd(40)} ${String(v.requests).padStart(7)}  ${v.meanMs ?? "-"} ms`);
    console.log(`  -> ${file}`);
  } finally {
    if (o.via === "create" && !cleaned) await cleanup(o, info.kubeconfig, env);
    await client.close();
    if (o.apiserverLogV !== undefined)
      await copyFile(layout.log("kube-apiserver"), join(ROOT, "results", `${o.out}-apiserver.log`)).catch(
        () => undefined,
      );
    await downCluster(cpDeps, { name: "bench" });
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** Reads the flags: a bad one is one line on stderr and exit status 2, as the other benchmarks do. */
function optionsOrExit(argv: readonly string[]): Options {
  try {
    return parseArgs(argv);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

if (import.meta.main) await main(optionsOrExit(process.argv.slice(2)));
