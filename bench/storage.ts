/**
 * Storage benchmark (#18): PVC-backed pods on hollow nodes with the hollow CSI driver. For each
 * mode (the CSIDriver's attachRequired true, then false) it runs one engine process of N nodes,
 * creates P pods with a claim each (StatefulSets, Parallel, a 1Gi volumeClaimTemplate of a
 * WaitForFirstConsumer class, spread evenly over the nodes) and times, from the first StatefulSet
 * created, all claims Bound, all VolumeAttachments attached and all pods Running, with the spread
 * of each pod's created -> Running from a watch; the engine's CPU and RSS, the control plane's when
 * it is local, and the API server's requests by resource over that phase.
 *
 *   npm run bench:storage -- [--nodes 100] [--pods 1000] [--set-size 100] [--modes attach,no-attach]
 *                            [--timeout 900] [--kubeconfig PATH] [--cluster NAME] [--out NAME|PATH]
 *
 * Without --kubeconfig it starts its own local cluster (load-test limits lifted) in a temporary
 * state directory and stops it at the end. Each mode removes what it made before the next starts.
 * Prints a table and writes JSON to results/storage-<nodes>n-<pods>p.json (or `--out`).
 *
 * The parts: `storage/args.ts` (flags), `storage/workload.ts` (the objects), `storage/run.ts`
 * (one mode), `storage/observe.ts` and `storage/timeline.ts` (the watches and what they say),
 * `storage/request-counts.ts`, `storage/cluster-objects.ts` (set-up, clean-up),
 * `storage/report.ts` (the table).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { KubeClient } from "../src/client/kube-client.ts";
import { loadClusterAccess } from "../src/client/kubeconfig.ts";
import { clusterLayout, COMPONENTS, readRecord } from "../src/controlplane/cluster-state.ts";
import { downCluster, upCluster } from "../src/controlplane/local-cluster.ts";
import { realClock } from "../src/kernel/clock.ts";
import { resolvePaths } from "../src/kernel/paths.ts";
import { ROOT } from "../test/harness.ts";
import { log } from "./compare/waiting.ts";
import { UsageError } from "./lib/flag-values.ts";
import { machineDescription } from "./lib/proc-stats.ts";
import { STORAGE_USAGE, parseStorageArgs, type StorageOptions } from "./storage/args.ts";
import { reportLines } from "./storage/report.ts";
import { runMode } from "./storage/run.ts";
import type { ModeResult, StorageResult } from "./storage/types.ts";

/** The local control plane's process ids by component, when the cluster is one of ours. */
async function controlPlanePids(
  stateDir: string | undefined,
  cluster: string,
): Promise<Record<string, number> | undefined> {
  const rec = await readRecord(clusterLayout(resolvePaths(process.env, { stateDir }).stateDir, cluster));
  const pids: Record<string, number> = {};
  for (const c of COMPONENTS) {
    const pid = rec?.processes[c]?.pid;
    if (pid) pids[c] = pid;
  }
  return Object.keys(pids).length ? pids : undefined;
}

/** Runs the modes, writes the JSON and prints the table. */
async function storage(options: StorageOptions): Promise<void> {
  // A first SIGINT/SIGTERM ends the run as its deadline would and cleans up; a second exits at once.
  const interrupt = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (interrupt.signal.aborted) process.exit(130);
      log(`${sig}: ending the run and cleaning up (again to exit at once, leaving things behind)`);
      interrupt.abort();
    });
  }
  let kubeconfig = options.kubeconfig;
  let stateDir: string | undefined;
  let clusterName = options.cluster ?? "kubemark";
  if (!kubeconfig) {
    clusterName = "bench-storage";
    stateDir = await mkdtemp(join(tmpdir(), "kubemark-bench-"));
    log("starting a local control plane (load-test limits)");
    const info = await upCluster(
      { paths: resolvePaths(process.env, { stateDir }), env: process.env, clock: realClock },
      { name: clusterName, loadTest: true },
    );
    kubeconfig = info.kubeconfig;
  }
  const client = new KubeClient(await loadClusterAccess({ kubeconfig, env: process.env }), {
    userAgent: "kubemark-bench-storage",
  });
  const controlPlane = await controlPlanePids(stateDir, clusterName);
  if (!controlPlane) log(`no local cluster "${clusterName}": control-plane CPU not measured`);
  const runs: ModeResult[] = [];
  try {
    for (const mode of options.modes) {
      if (interrupt.signal.aborted) break;
      runs.push(await runMode({ options, kubeconfig, client, controlPlane, signal: interrupt.signal }, mode));
    }
  } finally {
    await client.close();
    if (stateDir) {
      await downCluster(
        { paths: resolvePaths(process.env, { stateDir }), env: process.env, clock: realClock },
        { name: clusterName },
      );
      await rm(stateDir, { recursive: true, force: true });
    }
  }
  const result: StorageResult = {
    when: new Date().toISOString(),
    command: `npm run bench:storage -- ${process.argv.slice(2).join(" ")}`.trim().replace(/ --$/, ""),
    machine: await machineDescription(),
    runs,
  };
  await mkdir(dirname(options.resultsFile), { recursive: true });
  await writeFile(options.resultsFile, JSON.stringify(result, null, 2) + "\n");
  for (const line of reportLines(result, options.resultsFile)) console.log(line);
  if (interrupt.signal.aborted) process.exitCode = 130;
}

/** The entry point: flags, usage, exit status. */
async function main(argv: readonly string[]): Promise<void> {
  let args;
  try {
    args = parseStorageArgs(argv, process.env, process.cwd(), ROOT);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(STORAGE_USAGE);
    process.exit(0);
  }
  await storage(args.options);
}

if (import.meta.main) await main(process.argv.slice(2));
