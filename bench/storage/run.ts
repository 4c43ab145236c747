/**
 * One mode of the storage benchmark: its CSIDriver, one engine process of the fleet's nodes with
 * the driver, the StatefulSets created at once and watched until every pod is Running (or the
 * deadline), the engine's and the control plane's cost over that phase, then everything removed.
 */
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { realClock } from "../../src/kernel/clock.ts";
import { waitUntil } from "../../src/kernel/wait.ts";
import { startEngine, type EngineProcess } from "../../test/engine-process.ts";
import { log, sleep } from "../compare/waiting.ts";
import { processStats, type ProcStats } from "../lib/proc-stats.ts";
import type { StorageMode, StorageOptions } from "./args.ts";
import { createStorageObjects, deleteStorageObjects, deleteWorkload } from "./cluster-objects.ts";
import { observe } from "./observe.ts";
import { requestCountsFromText, requestsBetween } from "./request-counts.ts";
import { Timeline, progress, spread } from "./timeline.ts";
import type { ModeResult, ProcessCost } from "./types.ts";
import { DRIVER, FLEET, NAMESPACE, engineCsiArgs, setPlan, statefulSetBody } from "./workload.ts";

/** Where a mode runs: the options, an admin client and its kubeconfig, the control plane's pids when local. */
export interface RunScope {
  options: StorageOptions;
  kubeconfig: string;
  client: KubeClient;
  controlPlane: Record<string, number> | undefined;
  /** Aborted on SIGINT/SIGTERM: the run ends as at its deadline, then cleans up. */
  signal: AbortSignal;
}

/** CPU and peak RSS of a set of processes, sampled while the pod phase runs. */
class CostMeter {
  private readonly start = new Map<string, ProcStats>();
  private readonly last = new Map<string, ProcStats>();
  private readonly peak = new Map<string, number>();
  private readonly pids: Record<string, number>;
  constructor(pids: Record<string, number>) {
    this.pids = pids;
  }

  async sample(): Promise<void> {
    for (const [name, pid] of Object.entries(this.pids)) {
      const s = await processStats(pid).catch(() => undefined);
      if (!s) continue;
      if (!this.start.has(name)) this.start.set(name, s);
      this.last.set(name, s);
      this.peak.set(name, Math.max(this.peak.get(name) ?? 0, s.rss));
    }
  }

  costs(): Record<string, ProcessCost> {
    const out: Record<string, ProcessCost> = {};
    for (const [name, s0] of this.start) {
      out[name] = {
        cpuSeconds: this.last.get(name)!.cpu - s0.cpu,
        peakRssMB: (this.peak.get(name) ?? 0) / 1048576,
      };
    }
    return out;
  }
}

/** Starts the fleet's engine and waits until its nodes are registered with the driver in their CSINodes. */
async function startFleet(scope: RunScope, attachRequired: boolean): Promise<EngineProcess> {
  const { nodes } = scope.options;
  const engine = startEngine([
    "--kubeconfig",
    scope.kubeconfig,
    "--nodes",
    String(nodes),
    "--name-prefix",
    FLEET,
    "--fleet",
    FLEET,
    "--stats-interval",
    "0",
    "--delete-nodes-on-exit",
    ...engineCsiArgs(attachRequired),
  ]);
  const failFast = (): string | undefined =>
    engine.child.exitCode !== null ? `hollow-node exited:\n${engine.logs().slice(-2000)}` : undefined;
  try {
    await waitUntil(
      async () => {
        if (!engine.logs().includes('"msg":"nodes registered"'))
          return { done: false, status: "registering" };
        const list = await scope.client.get<{ items: { spec?: { drivers?: { name: string }[] } }[] }>(
          "/apis/storage.k8s.io/v1/csinodes",
        );
        const n = list.items.filter((c) => c.spec?.drivers?.some((d) => d.name === DRIVER)).length;
        return { done: n >= nodes, status: `${n}/${nodes} CSINodes list ${DRIVER}` };
      },
      {
        what: `${nodes} nodes registered with the driver`,
        timeoutMs: 600_000,
        intervalMs: 1000,
        clock: realClock,
        signal: scope.signal,
        failFast,
      },
    );
  } catch (err) {
    await engine.stop();
    throw err;
  }
  return engine;
}

type PodItem = { spec?: { nodeName?: string }; status?: { phase?: string } };

/** What a final list of the pods says is missing, and how many pods each node got. */
async function podsAtEnd(
  client: KubeClient,
): Promise<{ perNode: { min: number; max: number } | null; phases: string }> {
  const pods = (await client.get<{ items: PodItem[] }>(`/api/v1/namespaces/${NAMESPACE}/pods`)).items;
  const byNode = new Map<string, number>();
  const phases = new Map<string, number>();
  for (const p of pods) {
    if (p.spec?.nodeName) byNode.set(p.spec.nodeName, (byNode.get(p.spec.nodeName) ?? 0) + 1);
    const k = p.status?.phase === "Pending" && !p.spec?.nodeName ? "unscheduled" : (p.status?.phase ?? "?");
    phases.set(k, (phases.get(k) ?? 0) + 1);
  }
  const counts = [...byNode.values()];
  return {
    perNode: counts.length ? { min: Math.min(...counts), max: Math.max(...counts) } : null,
    phases: [...phases].map(([k, n]) => `${n} ${k}`).join(", "),
  };
}

/** The pod phase of a running fleet: StatefulSets created, watched until all Running or the deadline. */
async function measure(
  scope: RunScope,
  mode: StorageMode,
  engine: EngineProcess,
  registerSeconds: number,
): Promise<ModeResult> {
  const { client, options } = scope;
  const { nodes, pods, timeoutMs } = options;
  const attachRequired = mode === "attach";
  const sets = setPlan(pods, options.setSize);
  const meter = new CostMeter({ engine: engine.child.pid!, ...scope.controlPlane });
  const requests0 = requestCountsFromText(await client.getText("/metrics"));
  await meter.sample();
  const timeline = new Timeline();
  const t0 = performance.now();
  const observer = observe(client, NAMESPACE, DRIVER, timeline, t0);
  try {
    for (const set of sets) {
      await client.request({
        method: "POST",
        path: `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets`,
        body: statefulSetBody(set),
      });
    }
    const deadline = t0 + timeoutMs;
    let lastLog = t0;
    while (timeline.counts("pods").done < pods && performance.now() < deadline && !scope.signal.aborted) {
      if (engine.child.exitCode !== null) {
        throw new Error(`hollow-node exited:\n${engine.logs().slice(-2000)}`);
      }
      await sleep(1000);
      await meter.sample();
      if (performance.now() - lastLog >= 10_000) {
        lastLog = performance.now();
        const c = timeline.counts("claims").done;
        const a = timeline.counts("attachments").done;
        const r = timeline.counts("pods").done;
        log(`  ${((lastLog - t0) / 1000).toFixed(0)} s: ${c} Bound, ${a} attached, ${r}/${pods} Running`);
      }
    }
    await meter.sample();
  } finally {
    await observer.stop();
  }
  const requests1 = requestCountsFromText(await client.getText("/metrics"));
  const end = await podsAtEnd(client);
  const claims = progress(timeline.claims, pods);
  const attachments = progress(timeline.attachments, attachRequired ? pods : 0);
  const podsRunning = progress(timeline.pods, pods);
  const missing: string[] = scope.signal.aborted ? ["interrupted"] : [];
  if (podsRunning.done < pods) missing.push(`${pods - podsRunning.done} pods not Running (${end.phases})`);
  if (claims.done < pods) missing.push(`${pods - claims.done} claims not Bound (${claims.seen} created)`);
  if (attachRequired && attachments.done < pods) {
    missing.push(`${pods - attachments.done} VolumeAttachments not attached (${attachments.seen} created)`);
  }
  const { engine: engineCost, ...cp } = meter.costs();
  log(`${mode}: ${podsRunning.done}/${pods} Running after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return {
    mode,
    attachRequired,
    nodes,
    pods,
    statefulSets: sets.length,
    registerSeconds,
    complete: missing.length === 0,
    missing,
    claims,
    attachments,
    podsRunning,
    podCreatedToRunning: spread(timeline.pods),
    claimCreatedToBound: spread(timeline.claims),
    attachmentCreatedToAttached: spread(timeline.attachments),
    podsPerNode: end.perNode,
    engine: engineCost ?? { cpuSeconds: 0, peakRssMB: 0 },
    controlPlane: scope.controlPlane ? cp : null,
    requests: requestsBetween(requests0, requests1),
    cleanupSeconds: 0,
  };
}

/**
 * Runs one mode and removes what it made (the workload while the engine still runs, then the
 * engine, its nodes, the namespace, the StorageClass and the CSIDriver); the result says how far
 * it got by the deadline and how long the clean-up took.
 */
export async function runMode(scope: RunScope, mode: StorageMode): Promise<ModeResult> {
  const { client, options } = scope;
  const attachRequired = mode === "attach";
  log(
    `${mode}: CSIDriver attachRequired ${attachRequired}, ${options.nodes} nodes, ${options.pods} pods ` +
      `in StatefulSets of ${options.setSize}`,
  );
  let engine: EngineProcess | undefined;
  let result: ModeResult | undefined;
  try {
    await createStorageObjects(client, attachRequired);
    const tReg = performance.now();
    engine = await startFleet(scope, attachRequired);
    const registerSeconds = (performance.now() - tReg) / 1000;
    log(`${mode}: ${options.nodes} nodes registered with the driver in ${registerSeconds.toFixed(1)} s`);
    result = await measure(scope, mode, engine, registerSeconds);
  } finally {
    const c0 = performance.now();
    log(`${mode}: cleaning up`);
    if (engine)
      await deleteWorkload(client, 600_000).catch((err: unknown) => log(`  clean-up: ${String(err)}`));
    await engine?.stop();
    if (engine) {
      // The engine's structured logs, for what the figures cannot say (a volume left in use, say).
      const file = join(tmpdir(), `bench-storage-${mode}-${process.pid}.log`);
      await writeFile(file, engine.logs()).catch(() => undefined);
      log(`${mode}: engine logs in ${file}`);
    }
    await deleteStorageObjects(client).catch((err: unknown) => log(`  clean-up: ${String(err)}`));
    if (result) result.cleanupSeconds = (performance.now() - c0) / 1000;
  }
  return result;
}
