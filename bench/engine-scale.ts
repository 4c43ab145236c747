/**
 * Engine cost benchmark: RSS and CPU per idle node, lease health, and RSS per running pod, for
 * one hollow-node process against a local control plane.
 *
 *   npm run bench:engine -- [--nodes 1000,5000] [--traffic kubelet] [--no-proxy] [--settle 45]
 *                           [--window 60] [--pods-per-node 2] [--kubeconfig PATH] [--cluster NAME]
 *                           [--out NAME|PATH] [--kube-api-content-type application/json]
 *                           [--identity kubeconfig|fleet|node] [--connections per-node|pooled]
 *                           [--soak MINUTES]
 *
 * (`npm run bench:engine` runs `node bench/engine-scale.ts` on the project's Node.js 24.)
 *
 * Without --kubeconfig it starts its own local cluster (load-test limits lifted) in a temporary
 * state directory and stops it at the end. With --kubeconfig of a local cluster (`--cluster`, default
 * kubemark) it also measures that control plane: kube-apiserver and etcd CPU over the window and the
 * API server's own latency for Lease PUTs, to tell whether the engine or the server saturates.
 * `--identity fleet` runs the engine as `create` does: as a fleet's least-privilege ServiceAccount
 * (token authentication, RBAC), set up for the run in namespace kubemark-bench and removed after;
 * the default is the kubeconfig's own identity. `--identity node` gives each node its own
 * certificate (hollow-node --identity node, the kubeconfig's identity making the CSRs), and
 * `--connections` is passed to hollow-node. Each row also counts the engine's connections to the
 * API server (`ss -tnp`) and reads the API server's goroutines, RSS and CPU from its /metrics.
 * `--soak MINUTES` keeps the idle fleet running that long after the window and samples the engine's
 * RSS every minute: growth after the first 10 minutes tells a leak from start-up residue.
 * With `--pods-per-node`, the lateness of renewals while the pods start (a burst) is recorded too.
 * Prints a table and writes JSON to results/<NAME>.json, or to the path `--out` names (one with a
 * '/': absolute, or relative to the directory the command was run in).
 *
 * The parts: `engine-scale/args.ts` (flags), `engine-scale/run-size.ts` (one size),
 * `engine-scale/metrics.ts`, `engine-scale/lease-observer.ts`, `engine-scale/fleet-identity.ts`,
 * `engine-scale/report.ts` (the printed table); /proc sampling is `lib/proc-stats.ts`, shared with
 * compare.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { KubeClient } from "../src/client/kube-client.ts";
import { loadClusterAccess } from "../src/client/kubeconfig.ts";
import { clusterLayout, readRecord } from "../src/controlplane/cluster-state.ts";
import { downCluster, upCluster } from "../src/controlplane/local-cluster.ts";
import { realClock } from "../src/kernel/clock.ts";
import { resolvePaths } from "../src/kernel/paths.ts";
import { ROOT } from "../test/harness.ts";
import { ENGINE_SCALE_USAGE, parseEngineScaleArgs, type EngineScaleOptions } from "./engine-scale/args.ts";
import { fleetIdentity, removeFleetIdentity } from "./engine-scale/fleet-identity.ts";
import { aboveBaseline, reportLines } from "./engine-scale/report.ts";
import { runSize } from "./engine-scale/run-size.ts";
import type { EngineScaleResult, Row } from "./engine-scale/types.ts";
import { UsageError } from "./lib/flag-values.ts";

/** Runs the baseline and each size, writes the JSON and prints the table. */
async function engineScale(options: EngineScaleOptions): Promise<void> {
  let kubeconfig = options.kubeconfig;
  let stateDir: string | undefined;
  let clusterName = options.cluster ?? "kubemark";
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
  if (options.identity === "fleet") kubeconfig = await fleetIdentity(client, adminKubeconfig);
  const rec = await readRecord(clusterLayout(resolvePaths(process.env, { stateDir }).stateDir, clusterName));
  const apiserver = rec?.processes["kube-apiserver"]?.pid;
  const etcd = rec?.processes.etcd?.pid;
  const cp = apiserver && etcd ? { apiserver, etcd } : undefined;
  if (!cp) process.stderr.write(`  no local cluster "${clusterName}": control-plane CPU not measured\n`);
  const scope = { options, kubeconfig, client, cp };
  const rows: Row[] = [];
  try {
    // Baseline: one node, for the per-node figures' "above the process baseline".
    rows.push(await runSize(scope, 1, true));
    for (const n of options.sizes) rows.push(await runSize(scope, n, false));
  } finally {
    if (options.identity === "fleet") {
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
  const table = aboveBaseline(base, rows.slice(1));
  const result: EngineScaleResult = {
    when: new Date().toISOString(),
    command: `node bench/engine-scale.ts ${process.argv.slice(2).join(" ")}`.trim(),
    baseline: base,
    rows: table,
  };
  const file = options.resultsFile;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(result, null, 2) + "\n");
  for (const line of reportLines(base, table, file)) console.log(line);
}

/** The entry point: flags, usage, exit status. */
async function main(argv: readonly string[]): Promise<void> {
  let args;
  try {
    args = parseEngineScaleArgs(argv, process.env, process.cwd(), ROOT);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(ENGINE_SCALE_USAGE);
    process.exit(0);
  }
  await engineScale(args.options);
}

if (import.meta.main) await main(process.argv.slice(2));
