/**
 * The engine's cost per kubelet-endpoint request, without a cluster (issue 19): a child process
 * runs the engine's real KubeletEndpoints (one port per node, client-certificate authentication,
 * the stats routes, KubeletAuth with the API server's reviews answered in-process), and this
 * process scrapes every node's `/metrics/resource` as metrics-server does: one keep-alive
 * connection per node, a client certificate of the cluster's client CA. Prints the child's CPU per
 * request for the first round (TLS handshakes, reviews) and the later rounds (reused connections).
 *
 *   node bench/scrape/endpoint-cost.ts [--nodes 1000] [--rounds 10] [--cpu-prof DIR]
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { realClock } from "../../src/kernel/clock.ts";
import { KubeletEndpoints } from "../../src/engine/kubelet-api/endpoints.ts";
import { KubeletAuth } from "../../src/engine/kubelet-api/kubelet-auth.ts";
import type { NodeApiView } from "../../src/engine/kubelet-api/node-view.ts";
import { kubeletRoutes } from "../../src/engine/kubelet-api/stats-routes.ts";

interface Pki {
  ca: string;
  cert: string;
  key: string;
}

/** A client CA and a client certificate of it (CN system:metrics-server), as the local cluster's. */
function pki(dir: string): Pki {
  const f = (n: string): string => join(dir, n);
  const run = (args: string[]): void => void execFileSync("openssl", args, { stdio: "ignore" });
  run(
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kubernetes"].concat([
      "-keyout",
      f("ca.key"),
      "-out",
      f("ca.crt"),
    ]),
  );
  run(
    ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=system:metrics-server"].concat([
      "-keyout",
      f("c.key"),
      "-out",
      f("c.csr"),
    ]),
  );
  execFileSync(
    "sh",
    [
      "-c",
      `printf 'extendedKeyUsage=clientAuth\\n' > ${f("ext")} && openssl x509 -req -in ${f("c.csr")} -CA ${f("ca.crt")} -CAkey ${f("ca.key")} -CAcreateserial -days 2 -extfile ${f("ext")} -out ${f("c.crt")}`,
    ],
    { stdio: "ignore" },
  );
  return {
    ca: readFileSync(f("ca.crt"), "utf8"),
    cert: readFileSync(f("c.crt"), "utf8"),
    key: readFileSync(f("c.key"), "utf8"),
  };
}

/** The child: the engine's endpoints for `nodes` empty nodes on ports base..base+nodes-1. */
async function serve(nodes: number, base: number, ca: string): Promise<void> {
  const views: NodeApiView[] = Array.from({ length: nodes }, (_, i) => ({
    name: `scrape-${i}`,
    cpuCapacityMilli: 4000,
    memoryCapacityBytes: 8 * 2 ** 30,
    startedAtMs: Date.now() - 60_000,
    usagePods: () => [],
    podInfo: () => undefined,
    listPods: () => [],
  }));
  let reviews = 0;
  const log = pino({ level: "warn" });
  const auth = new KubeletAuth(
    {
      request: <T>(): Promise<T> => {
        reviews++;
        return new Promise((r) => setImmediate(() => r({ status: { allowed: true } } as T)));
      },
      clock: realClock,
      log,
    },
    Math.max(8192, 4 * nodes),
  );
  const ep = new KubeletEndpoints(
    { node: (i) => views[i], auth, clock: realClock, log },
    { address: "127.0.0.1", basePort: base, count: nodes, clientCa: ca, routes: kubeletRoutes() },
  );
  await ep.start();
  process.on("message", (m: string) => {
    if (m === "cpu") {
      const u = process.cpuUsage();
      process.send!({
        cpuUs: u.user + u.system,
        sysUs: u.system,
        reviews,
        rss: process.memoryUsage().rss,
        threads: threadTicks(),
      });
    } else if (m === "stop") void ep.stop().then(() => process.exit(0));
  });
  process.send!("ready");
}

/** CPU ticks (user + system) of each of this process's threads, by thread name. */
function threadTicks(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of readdirSync("/proc/self/task")) {
    const stat = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out[name] = (out[name] ?? 0) + Number(f[11]) + Number(f[12]);
  }
  return out;
}

interface Cpu {
  sysUs: number;
  threads: Record<string, number>;
  cpuUs: number;
  reviews: number;
  rss: number;
}

const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(b)
      .map(([k, v]): [string, number] => [k, v - (a[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: "string", default: "1000" },
      rounds: { type: "string", default: "10" },
      base: { type: "string", default: "31000" },
      "cpu-prof": { type: "string" },
      "v8-prof": { type: "string" },
      serve: { type: "boolean", default: false },
      ca: { type: "string" },
      reconnect: { type: "boolean", default: false },
      storm: { type: "boolean", default: false },
      "pause-before": { type: "string", default: "0" },
    },
  });
  const nodes = Number(values.nodes);
  const base = Number(values.base);
  if (values.serve) return serve(nodes, base, readFileSync(values.ca!, "utf8"));
  const dir = mkdtempSync(join(tmpdir(), "endpoint-cost-"));
  const p = pki(dir);
  const execArgv = [
    "--disable-warning=ExperimentalWarning",
    "--max-semi-space-size=4",
    "--heap-growing-percent=20",
  ];
  if (values["cpu-prof"]) execArgv.push("--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`);
  if (values["v8-prof"])
    execArgv.push("--prof", `--logfile=${values["v8-prof"]}`, "--no-logfile-per-isolate");
  const child: ChildProcess = fork(
    import.meta.filename,
    ["--serve", "--nodes", String(nodes), "--base", String(base), "--ca", join(dir, "ca.crt")],
    { execArgv },
  );
  await new Promise<void>((r) => child.once("message", () => r()));
  const cpu = (): Promise<Cpu> =>
    new Promise((r) => {
      child.once("message", (m: Cpu) => r(m));
      child.send("cpu");
    });
  const newAgent = (): Agent =>
    new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false, cert: p.cert, key: p.key });
  const agents = Array.from({ length: nodes }, newAgent);
  const get = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: base + i, path: "/metrics/resource", agent: agents[i] },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`node ${i}: ${res.statusCode}`));
          res.resume();
          res.on("end", () => resolve());
        },
      );
      req.on("error", reject);
      req.end();
    });
  let failed = 0;
  /** As metrics-server's round: every node dialled at a random time within 4 s, 10 s to answer. */
  const storm = async (): Promise<void> => {
    await Promise.all(
      Array.from({ length: nodes }, async (_, i) => {
        await new Promise((r) => setTimeout(r, Math.random() * 4000));
        const timeout = AbortSignal.timeout(10_000);
        await Promise.race([
          get(i),
          new Promise<void>((_r, reject) =>
            timeout.addEventListener("abort", () => reject(new Error("timeout"))),
          ),
        ]).catch(() => {
          failed++;
          agents[i]!.destroy();
          agents[i] = newAgent();
        });
      }),
    );
  };
  const round = async (): Promise<void> => {
    if (values.storm) return storm();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < nodes) await get(next++);
    };
    await Promise.all(Array.from({ length: 50 }, worker));
  };
  console.error(`server pid ${child.pid}`);
  await new Promise((r) => setTimeout(r, Number(values["pause-before"]) * 1000));
  const c0 = await cpu();
  await round();
  const c1 = await cpu();
  const rounds = Number(values.rounds);
  for (let r = 0; r < rounds; r++) {
    if (values.reconnect) {
      for (let i = 0; i < nodes; i++) {
        agents[i]!.destroy();
        agents[i] = newAgent();
      }
    }
    await round();
  }
  const c2 = await cpu();
  const first = (c1.cpuUs - c0.cpuUs) / nodes;
  const later = (c2.cpuUs - c1.cpuUs) / (nodes * rounds);
  console.log(
    JSON.stringify({
      nodes,
      rounds,
      firstRoundUsPerRequest: Math.round(first),
      laterUsPerRequest: Math.round(later * 10) / 10,
      firstRoundSysShare: Math.round((100 * (c1.sysUs - c0.sysUs)) / (c1.cpuUs - c0.cpuUs)) / 100,
      laterSysShare: Math.round((100 * (c2.sysUs - c1.sysUs)) / (c2.cpuUs - c1.cpuUs)) / 100,
      firstRoundThreadTicks: diff(c0.threads, c1.threads),
      laterThreadTicks: diff(c1.threads, c2.threads),
      reviews: c2.reviews,
      failed,
      rssMB: Math.round(c2.rss / 1048576),
    }),
  );
  child.send("stop");
  await new Promise((r) => child.once("exit", r));
  for (const a of agents) a.destroy();
  rmSync(dir, { recursive: true, force: true });
}

if (import.meta.main) await main();
