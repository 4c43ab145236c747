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
 * client certificate so the audit log tells them apart, ten minutes idle, then pods), then for the
 * larger sizes one fresh control plane per system, without an audit log (at thousands of nodes the
 * audit log would be what is measured), each system alone. It stops everything at the end.
 *
 * The parts: `compare/args.ts` (flags), `compare/launchers.ts` (the systems), `compare/runs.ts`
 * (the fidelity run and the runs by size), `compare/pod-phase.ts`, `compare/audit.ts` (fidelity
 * from the audit log), `compare/report.ts` (compare.md), `compare/plot.ts`; /proc sampling is
 * `lib/proc-stats.ts`, shared with engine-scale.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { realClock } from "../src/kernel/clock.ts";
import { resolveBinaries } from "../src/controlplane/binaries.ts";
import { parseKubeVersion } from "../src/controlplane/kube-version.ts";
import { resolvePaths } from "../src/kernel/paths.ts";
import { ROOT } from "../test/harness.ts";
import { COMPARE_USAGE, parseCompareArgs, type CompareOptions } from "./compare/args.ts";
import { withControlPlane } from "./compare/control-plane.ts";
import { renderPlots } from "./compare/plot.ts";
import { markdown, scaleOutSummary } from "./compare/report.ts";
import { runFidelity, runSize } from "./compare/runs.ts";
import {
  notMeasured,
  type CompareContext,
  type CompareResult,
  type ControlPlane,
  type Results,
  type Running,
  type SystemName,
} from "./compare/types.ts";
import { log } from "./compare/waiting.ts";
import { UsageError } from "./lib/flag-values.ts";
import { machineDescription } from "./lib/proc-stats.ts";

/** Runs the comparison the options describe and writes compare.{json,md} and the plots. */
async function compare(options: CompareOptions): Promise<void> {
  const begun = Date.now();
  const stateDir = await mkdtemp(join(tmpdir(), "kubemark-compare-"));
  const workDir = join(stateDir, "systems");
  await mkdir(workDir, { recursive: true });
  const paths = resolvePaths(process.env, { stateDir });
  const deps = { paths, env: process.env, clock: realClock };
  const version = parseKubeVersion(options.kubeVersion);

  // Systems running now, stopped on SIGINT/SIGTERM together with the control plane.
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

  log(`resolving kubemark and KWOK for ${version.git} (built with Go if missing)`);
  const bins = await resolveBinaries({
    version,
    binaries: ["kubemark", "kwok"],
    cacheDir: paths.cacheDir,
    env: process.env,
    now: Date.now,
  });
  const setup = {
    deps,
    stateDir,
    workDir,
    kubeVersion: options.kubeVersion,
    identity: options.identity,
    bins: {
      kubemark: bins.kubemark.path,
      kwok: bins.kwok.path,
      stages: join(bins.kwok.path, "..", "kwok-stages.yaml"),
    },
    onStarted(stop: () => Promise<void>): void {
      stopControlPlane = async () => {
        await stop();
        await rm(stateDir, { recursive: true, force: true });
      };
    },
  };
  const out: Results = { cost: [], pods: [], fidelity: [] };
  if (options.sizes.includes(10)) {
    await withControlPlane(setup, "compare-audit", true, (ctx, cp) =>
      runFidelity({ ctx, cp, options, out, live }),
    );
  }
  const larger = options.sizes.filter((n) => n !== 10);
  const runSystem = async (ctx: CompareContext, cp: ControlPlane, system: SystemName): Promise<void> => {
    for (const n of larger) {
      if (system === "kubemark" && n > options.kubemarkMax) {
        out.cost.push(
          notMeasured(
            system,
            n,
            `not run: one ~75 MB process per node (--kubemark-max ${options.kubemarkMax})`,
          ),
        );
        continue;
      }
      await runSize({ ctx, cp, options, out, live }, system, n);
    }
  };
  if (larger.length > 0) {
    // Each system on a fresh control plane of its own. The API server's cost per node is compared
    // (issue #20's ±15 %), and Go does not give a previous system's heap back to the OS. And the
    // time to Ready: a system that runs second on one control plane meets it warm (KWOK's 1,000
    // Nodes were Ready in 11-16 s second against 20-23 s first, bench/startup.ts on 2026-12-02).
    out.controlPlanePerSystem = true;
    for (const system of options.systems)
      await withControlPlane(setup, `compare-${system}`, false, (ctx, cp) => runSystem(ctx, cp, system));
  }
  const result: CompareResult = {
    when: new Date().toISOString(),
    command: `node bench/compare.ts ${process.argv.slice(2).join(" ")}`.trim(),
    machine: `${await machineDescription()}, control plane ${version.git} on the same machine`,
    minutes: (Date.now() - begun) / 60_000,
    ...out,
    scaleOut: scaleOutSummary(out.cost),
  };
  await mkdir(options.out, { recursive: true });
  await writeFile(join(options.out, "compare.json"), JSON.stringify(result, null, 2) + "\n");
  await writeFile(join(options.out, "compare.md"), markdown(result));
  await renderPlots(options.out, out.cost, out.pods);
  await rm(stateDir, { recursive: true, force: true });
  process.stdout.write(markdown(result));
  log(`done in ${result.minutes.toFixed(1)} min; ${options.out}/compare.{json,md} and plots`);
}

/** The entry point: flags, usage, exit status. */
async function main(argv: readonly string[]): Promise<void> {
  let args;
  try {
    args = parseCompareArgs(argv, process.env, process.cwd(), ROOT);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(COMPARE_USAGE);
    process.exit(0);
  }
  await compare(args.options);
}

if (import.meta.main) await main(process.argv.slice(2));
