/**
 * The comparison's two kinds of run: the audited 10-node fidelity run (every system at once), and
 * one system alone at one size. Each adds its rows to the results and stops what it started.
 */
import { readFile } from "node:fs/promises";
import { scrapeApiserver } from "../lib/apiserver-metrics.ts";
import { summedProcessStats, type ProcStats } from "../lib/proc-stats.ts";
import type { CompareOptions } from "./args.ts";
import { auditRows, identityRows } from "./audit.ts";
import { removeNodes, staleLeases, watchReadyNodes, type ReadyNodeCount } from "./cluster-nodes.ts";
import { apiserverCost, costRow, type ApiserverBaseline } from "./cost.ts";
import { prefixOf, startSystem } from "./launchers.ts";
import { podPhase } from "./pod-phase.ts";
import {
  notMeasured,
  type CompareContext,
  type ControlPlane,
  type Results,
  type Running,
  type SystemName,
} from "./types.ts";
import { log, sleep, waitFor } from "./waiting.ts";

/** What a run needs besides its control plane: the options, the results so far, and the set of systems running now. */
export interface RunScope {
  ctx: CompareContext;
  cp: ControlPlane;
  options: CompareOptions;
  out: Results;
  /** Systems running now (stopped by the entry point on SIGINT/SIGTERM). */
  live: Set<Running>;
}

/** How long the pod phase's Job may take to complete. */
function jobTimeoutMs(options: CompareOptions): number {
  return options.quick ? 30_000 : 120_000;
}

/**
 * The 10-node run of every system at once on the audit-logging control plane: registration, a
 * ten-minute idle window (the fidelity rates and the 10-node cost rows), then a pod phase per
 * system. The audit log tells the systems apart by their identities.
 */
export async function runFidelity(scope: RunScope): Promise<void> {
  const { ctx, cp, options, out, live } = scope;
  const systems = options.systems;
  const n = 10;
  log(
    `fidelity: ${n} nodes of ${systems.join(", ")} at once, ${options.fidelityIdleMs / 1000}s idle, then pods`,
  );
  const counts = new Map<SystemName, ReadyNodeCount>(
    systems.map((s) => [s, watchReadyNodes(ctx.client, s, n)]),
  );
  const t0 = Date.now();
  const running = new Map<SystemName, Running>();
  const ready = new Map<SystemName, number>();
  try {
    for (const system of systems) {
      const sys = await startSystem(ctx, system, n, prefixOf(system, n));
      running.set(system, sys);
      live.add(sys);
    }
    await waitFor(`${n} nodes of each system Ready`, 240_000, () => {
      for (const system of systems) {
        const at = counts.get(system)!.readyAt();
        if (!ready.has(system) && at !== undefined) ready.set(system, (at - t0) / 1000);
      }
      return Promise.resolve(ready.size === systems.length);
    });
    for (const c of counts.values()) c.stop();
    log(
      `  all Ready (${systems.map((s) => `${s} ${ready.get(s)?.toFixed(1)}s`).join(", ")}); settling ${options.settleMs / 1000}s`,
    );
    await sleep(options.settleMs);
    const missed = new Map<SystemName, Set<string>>(systems.map((s) => [s, new Set<string>()]));
    const s0 = new Map<SystemName, ProcStats>();
    for (const s of systems) s0.set(s, await summedProcessStats(running.get(s)!.pids()));
    const a0 = await summedProcessStats([cp.apiserver]);
    const e0 = await summedProcessStats([cp.etcd]);
    const w0 = Date.now();
    while (Date.now() - w0 < options.fidelityIdleMs) {
      for (const s of systems)
        for (const name of await staleLeases(ctx.client, prefixOf(s, n))) missed.get(s)!.add(name);
      await sleep(Math.max(1, Math.min(5_000, options.fidelityIdleMs - (Date.now() - w0) + 1)));
    }
    const idleEnd = Date.now();
    const seconds = (idleEnd - w0) / 1000;
    const a1 = await summedProcessStats([cp.apiserver]);
    const e1 = await summedProcessStats([cp.etcd]);
    for (const system of systems) {
      const s1 = await summedProcessStats(running.get(system)!.pids());
      const last = costRow(
        system,
        n,
        ready.get(system) ?? null,
        {
          seconds,
          system: [s0.get(system)!, s1],
          apiserver: [a0, a1],
          etcd: [e0, e1],
          missedLeases: missed.get(system)!.size,
        },
        `${systems.length} systems' 10 nodes at once: API server and etcd figures are for all of them`,
      );
      out.cost.push(last);
      log(
        `  ${system}: RSS ${last.rssMB.toFixed(0)} MB, ${last.mCpuPerNode.toFixed(3)} mCPU/node, missed leases ${last.missedLeases}`,
      );
    }
    const pods: Partial<Record<SystemName, number>> = {};
    for (const system of systems) {
      const count = options.podNodes === n ? options.pods : 20;
      const rate = options.podNodes === n ? options.podRate : 5;
      log(`  ${system} pod phase: ${count} pods at ${rate}/s`);
      const row = await podPhase(ctx, system, n, count, rate, jobTimeoutMs(options));
      if (options.podNodes === n) out.pods.push(row);
      pods[system] = count + 1; // and the Job's pod
    }
    await sleep(3_000); // audit log flush
    const podsEnd = Date.now();
    out.fidelity.push(
      ...(await auditRows(cp.auditLog, {
        start: t0,
        idleStart: w0,
        idleEnd,
        podsEnd,
        pods,
        nodes: n,
      })),
    );
    if (ctx.nodeIdentity) out.identity = await identityRows(cp.auditLog, { start: t0, podsEnd }, systems);
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
    for (const c of counts.values()) c.stop();
    for (const [system, sys] of running) {
      live.delete(sys);
      await sys.stop();
      await removeNodes(ctx.client, system);
    }
    await sleep(3_000);
  }
}

/** One system alone at `n` nodes: time to Ready, an idle window's cost, and the pod phase at `--pod-nodes`. */
export async function runSize(scope: RunScope, system: SystemName, n: number): Promise<void> {
  const { ctx, cp, options, out, live } = scope;
  const prefix = prefixOf(system, n);
  log(`${system}: ${n} nodes`);
  const base = await apiserverBaseline(scope, Math.min(options.settleMs, 10_000));
  const count = watchReadyNodes(ctx.client, system, n);
  const t0 = Date.now();
  const sys = await startSystem(ctx, system, n, prefix).catch((err: unknown) => {
    count.stop();
    throw err;
  });
  live.add(sys);
  let readySeconds: number | null = null;
  try {
    const readyBudget = system === "kubemark" ? 120_000 + n * 3_000 : 120_000 + n * 60;
    await waitFor(`${n} ${system} nodes Ready`, readyBudget, () =>
      Promise.resolve(count.readyAt() !== undefined),
    );
    count.stop();
    readySeconds = (count.readyAt()! - t0) / 1000;
    log(`  all ${n} Ready in ${readySeconds.toFixed(1)}s; settling ${options.settleMs / 1000}s`);
    await sleep(options.settleMs);
    const missed = new Set<string>();
    const m0 = await scrapeApiserver(ctx.client);
    const s0 = await summedProcessStats(sys.pids());
    const a0 = await summedProcessStats([cp.apiserver]);
    const e0 = await summedProcessStats([cp.etcd]);
    const w0 = Date.now();
    while (Date.now() - w0 < options.windowMs) {
      for (const name of await staleLeases(ctx.client, prefix)) missed.add(name);
      await sleep(Math.max(1, Math.min(5_000, options.windowMs - (Date.now() - w0) + 1)));
    }
    const seconds = (Date.now() - w0) / 1000;
    const s1 = await summedProcessStats(sys.pids());
    const a1 = await summedProcessStats([cp.apiserver]);
    const e1 = await summedProcessStats([cp.etcd]);
    const m1 = await scrapeApiserver(ctx.client);
    const last = costRow(system, n, readySeconds, {
      seconds,
      system: [s0, s1],
      apiserver: [a0, a1],
      etcd: [e0, e1],
      missedLeases: missed.size,
    });
    const api = apiserverCost(n, base, { rss: a1.rss, cores: last.apiserverCpuCores }, [m0, m1], seconds);
    out.cost.push({ ...last, apiserver: api });
    log(
      `  RSS ${last.rssMB.toFixed(0)} MB (${last.rssPerNodeKB.toFixed(1)} KB/node), ${last.mCpuPerNode.toFixed(3)} mCPU/node, missed leases ${last.missedLeases}, API server ${last.apiserverCpuCores.toFixed(2)} cores (${api.mCpuPerNode.toFixed(2)} mCPU, ${api.goroutinesPerNode.toFixed(1)} goroutines, ${api.rssPerNodeKB.toFixed(0)} KB per node; top flow ${api.flows[0]?.flowSchema ?? "-"})`,
    );
    if (n === options.podNodes) {
      log(`  pod phase: ${options.pods} pods at ${options.podRate}/s`);
      const p = await podPhase(ctx, system, n, options.pods, options.podRate, jobTimeoutMs(options));
      out.pods.push(p);
      log(
        `  ${p.running}/${p.pods} Running, p50 ${seconds2(p.latencyP50Seconds)} p99 ${seconds2(p.latencyP99Seconds)}, ${p.distinctPodIPs} distinct IPs, Job ${p.jobWithInitCompleted ? "completed" : "did not complete"}`,
      );
    }
  } catch (err) {
    const tail = (await readFile(sys.logs(), "utf8").catch(() => "")).split("\n").slice(-5).join("\n");
    log(`  ${system} at ${n} nodes failed: ${String(err)}\n${tail}`);
    out.cost.push(notMeasured(system, n, `failed: ${String(err).slice(0, 200)}`, readySeconds));
  } finally {
    count.stop();
    live.delete(sys);
    await sys.stop();
    await removeNodes(ctx.client, system);
    await sleep(3_000);
  }
}

/**
 * The API server before a system starts (its previous one's nodes removed): its memory and
 * /metrics, and its CPU over `ms` of the bench's own polling and the controllers' idling.
 */
async function apiserverBaseline(scope: RunScope, ms: number): Promise<ApiserverBaseline> {
  const { ctx, cp } = scope;
  const b0 = await summedProcessStats([cp.apiserver]);
  const t0 = Date.now();
  await sleep(ms);
  const b1 = await summedProcessStats([cp.apiserver]);
  const metrics = await scrapeApiserver(ctx.client);
  return { rss: b1.rss, metrics, cores: (b1.cpu - b0.cpu) / Math.max(0.001, (Date.now() - t0) / 1000) };
}

/** Seconds with two decimals, or "-" when there is no figure (no pod ran). */
function seconds2(s: number | null | undefined): string {
  return s === undefined || s === null ? "-" : `${s.toFixed(2)}s`;
}
