/** The local runtime: the engine runs as background processes on this machine, one per shard. */
import { readFile } from "node:fs/promises";
import { isDaemonAlive } from "../../host/daemon.ts";
import { KubemarkError } from "../../kernel/errors.ts";
import type { Permission } from "../apply.ts";
import type { FleetContext } from "../context.ts";
import { diagnoseLocal } from "../diagnosis.ts";
import {
  deadShards,
  localClusterChange,
  localFleetLayout,
  logTail,
  readLocalFleet,
  reconcileLocal,
  removeLocal,
  type LocalFleetLayout,
  type LocalFleetRecord,
  type LocalShard,
} from "../local-runner.ts";
import { fleetConfigMap, type KubeObject, type TargetCredentials } from "../objects.ts";
import { shardCount, shardNodes, type FleetEngine, type FleetSpec } from "../spec.ts";
import { lastLines, plural } from "../wording.ts";
import type {
  EngineProcess,
  FleetNode,
  FleetRuntime,
  RemovedWorkload,
  StrayWorkload,
  WorkloadHealth,
} from "./runtime.ts";

/**
 * A local fleet's processes against its spec: each one running, not running, or running for
 * another cluster than the current one (`moved` says how it differs).
 */
export function localWorkloadHealth(
  spec: Pick<FleetSpec, "nodes" | "nodesPerShard">,
  rec: Pick<LocalFleetRecord, "shards"> | undefined,
  isAlive: (shard: LocalShard) => boolean,
  moved: string | undefined,
): WorkloadHealth {
  const desired = shardCount(spec);
  const detail: string[] = [];
  const down: string[] = [];
  let running = 0;
  for (let i = 0; i < desired; i++) {
    const sh = rec?.shards.find((x) => x.shard === i);
    const alive = sh !== undefined && isAlive(sh);
    const what = `process ${i} (pid ${sh?.pid ?? "-"}, ${shardNodes(spec, i)} nodes)`;
    if (alive && !moved) {
      running++;
      detail.push(`${what} running`);
      continue;
    }
    const line = alive ? `${what} runs for another cluster (${moved})` : `${what} not running`;
    detail.push(line);
    down.push(line);
  }
  return { desired, running, detail, down };
}

/** A fleet whose engine runs as processes on this machine (against any cluster it can reach). */
export class LocalRuntime implements FleetRuntime {
  readonly mode = "local" as const;
  readonly unit = "process";
  readonly units = "engine processes";
  readonly needsToken = true;
  readonly diagnosisIsFinal = true;
  private readonly layout: LocalFleetLayout;

  private readonly ctx: FleetContext;

  constructor(ctx: FleetContext) {
    this.ctx = ctx;
    this.layout = localFleetLayout(ctx.deps.stateDir, ctx.hosting.access.server, ctx.namespace);
  }

  supports(engine: FleetEngine): boolean {
    return engine === "hollow-node";
  }

  hostingPermissions(): Permission[] {
    return [];
  }

  plannedObjects(spec: FleetSpec): Promise<KubeObject[]> {
    return Promise.resolve([fleetConfigMap(spec)]);
  }

  async apply(
    spec: FleetSpec,
    _prev: FleetSpec | undefined,
    credentials: TargetCredentials | undefined,
    bootstrap?: TargetCredentials,
  ): Promise<void> {
    const { ctx, layout } = this;
    const change = await reconcileLocal(layout, ctx.hosting.access.server, spec, ctx.deps.clock, {
      cluster: await ctx.targetIdentity(),
      credentials,
      bootstrap,
    });
    const step = (message: string): void => ctx.deps.onEvent({ kind: "step", message });
    if (change.replaced.length > 0) {
      step(
        `  replaced ${plural(change.replaced.length, "engine process", "engine processes")} started for another cluster at ${ctx.target.access.server} (${change.clusterChange ?? "another cluster"})`,
      );
    }
    if (change.started.length + change.restarted.length + change.stopped.length > 0) {
      step(
        `  engine processes: ${[
          change.started.length ? `${change.started.length} started` : "",
          change.restarted.length ? `${change.restarted.length} restarted` : "",
          change.stopped.length ? `${change.stopped.length} stopped` : "",
        ]
          .filter(Boolean)
          .join(", ")} (logs in ${layout.dir})`,
      );
    }
  }

  async health(spec: FleetSpec): Promise<WorkloadHealth> {
    const rec = await readLocalFleet(this.layout);
    const moved = rec ? await this.clusterChange(rec) : undefined;
    return localWorkloadHealth(spec, rec, isDaemonAlive, moved);
  }

  async diagnose(): Promise<string | undefined> {
    const rec = await readLocalFleet(this.layout);
    if (!rec)
      return diagnoseLocal({ recorded: false, moved: undefined, server: this.ctx.target.access.server });
    const moved = await this.clusterChange(rec);
    const first = moved ? undefined : deadShards(rec)[0];
    const log = first ? this.layout.shardLog(first.shard) : undefined;
    return diagnoseLocal({
      recorded: true,
      moved,
      server: this.ctx.target.access.server,
      exited:
        first && log ? { shard: first.shard, pid: first.pid, log, tail: await logTail(log) } : undefined,
    });
  }

  async startTimes(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    const rec = await readLocalFleet(this.layout);
    // Records of older versions have no start time: their processes count from the epoch.
    for (const sh of rec?.shards ?? []) if (isDaemonAlive(sh)) out.set(sh.shard, sh.startedAt ?? 0);
    return out;
  }

  async logs(spec: FleetSpec, node: FleetNode | undefined, tail: number): Promise<string> {
    const { layout } = this;
    if (node !== undefined) {
      const text = await readFile(`${layout.nodeLogs}/${node.name}.log`, "utf8").catch(() => undefined);
      if (text === undefined)
        throw new KubemarkError("NOT_FOUND", `no log for ${node.name} yet in ${layout.nodeLogs}`);
      return lastLines(text, tail);
    }
    const out: string[] = [];
    for (let i = 0; i < shardCount(spec); i++)
      out.push(`==> engine process ${i} <==\n${lastLines(await logTail(layout.shardLog(i), tail), tail)}`);
    return out.join("");
  }

  restartHint(spec: FleetSpec): string {
    const s = this.ctx;
    return `'${s.suggest(`create ${spec.nodes}`)}' restarts them (their Nodes are adopted, not duplicated); '${s.suggest("logs")}' shows why they stopped`;
  }

  localDir(): string {
    return this.layout.dir;
  }

  certDir(): string {
    return this.layout.certs;
  }

  async processes(): Promise<EngineProcess[] | undefined> {
    return (await readLocalFleet(this.layout))?.shards.map((x) => ({
      shard: x.shard,
      pid: x.pid,
      nodes: x.nodes,
    }));
  }

  async strays(): Promise<StrayWorkload | undefined> {
    // Processes recorded here for this address, while the cluster has no fleet: a previous cluster's.
    const rec = await readLocalFleet(this.layout);
    const alive = rec ? rec.shards.filter((x) => isDaemonAlive(x)) : [];
    if (!rec || alive.length === 0) return undefined;
    const moved = await this.clusterChange(rec);
    return {
      description: `${plural(alive.length, "local engine process", "local engine processes")} recorded for that namespace and address ${alive.length === 1 ? "runs" : "run"} (pid ${alive.map((x) => x.pid).join(", ")})${moved ? `: started for another cluster at this address (${moved})` : ""}`,
      nodes: rec.spec.nodes,
    };
  }

  async remove(): Promise<RemovedWorkload> {
    return { processes: await removeLocal(this.layout, this.ctx.deps.clock), objects: [] };
  }

  private async clusterChange(rec: LocalFleetRecord): Promise<string | undefined> {
    return localClusterChange(this.layout, rec, await this.ctx.targetIdentity());
  }
}
