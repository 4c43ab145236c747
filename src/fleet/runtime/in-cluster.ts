/** The in-cluster runtime: the engine runs as a StatefulSet in the hosting cluster, one pod per shard. */
import { FLEET_LABEL } from "../../kernel/k8s.ts";
import { KubemarkError, describeError } from "../../kernel/errors.ts";
import {
  applyObject,
  deleteInBackground,
  deleteObject,
  namespaceExists,
  refOf,
  type Permission,
} from "../apply.ts";
import { engineBundle } from "../bundle.ts";
import type { FleetContext } from "../context.ts";
import { diagnosePods, podState, type PodItem } from "../diagnosis.ts";
import { bootstrapSecret } from "../node-identity.ts";
import type { KubeObject, TargetCredentials } from "../objects.ts";
import { WORKLOAD_LABEL, WORKLOAD_NAME, shardCount, shardNodes, type FleetSpec } from "../spec.ts";
import { workloadObjects } from "../workload-objects.ts";
import { lastLines } from "../wording.ts";
import { podReachableServer } from "./placement.ts";
import type { FleetNode, FleetRuntime, RemovedWorkload, WorkloadHealth } from "./runtime.ts";

/** Shards whose slice of the fleet changes between two specs (their pods must restart to see it). */
export function changedShards(prev: FleetSpec, next: FleetSpec): number[] {
  const out: number[] = [];
  const n = Math.min(shardCount(prev), shardCount(next));
  for (let i = 0; i < n; i++) if (shardNodes(prev, i) !== shardNodes(next, i)) out.push(i);
  return out;
}

/** The shard a workload pod runs: the StatefulSet ordinal at the end of its name (-1 if none). */
export function podOrdinal(name: string): number {
  return Number(/-(\d+)$/.exec(name)?.[1] ?? -1);
}

/** The pods' health against the spec: one line per pod, and one per missing pod. */
export function podWorkloadHealth(spec: FleetSpec, pods: readonly PodItem[]): WorkloadHealth {
  const desired = shardCount(spec);
  let running = 0;
  const detail: string[] = [];
  const down: string[] = [];
  const sorted = [...pods].sort((a, b) => podOrdinal(a.metadata.name) - podOrdinal(b.metadata.name));
  for (let i = 0; i < desired; i++) {
    const p = sorted.find((x) => podOrdinal(x.metadata.name) === i);
    if (!p) {
      const line = `pod ${WORKLOAD_NAME}-${i} (${shardNodes(spec, i)} nodes) missing`;
      detail.push(line);
      down.push(line);
    }
  }
  for (const p of sorted) {
    const st = podState(p);
    const restarts = p.status?.containerStatuses?.[0]?.restartCount ?? 0;
    const line = `pod ${p.metadata.name} (${shardNodes(spec, podOrdinal(p.metadata.name))} nodes${restarts ? `, ${restarts} restarts` : ""}) ${st}`;
    detail.push(line);
    if (st === "Running") running++;
    else down.push(line);
  }
  return { desired, running, detail, down };
}

/** A fleet whose engine runs as hollow-node pods of a StatefulSet in the hosting cluster. */
export class InClusterRuntime implements FleetRuntime {
  readonly mode = "in-cluster" as const;
  readonly unit = "pod";
  readonly units = "pods";
  readonly needsToken = false;
  readonly diagnosisIsFinal = false;

  private readonly ctx: FleetContext;

  constructor(ctx: FleetContext) {
    this.ctx = ctx;
  }

  supports(): boolean {
    return true;
  }

  hostingPermissions(): Permission[] {
    const namespace = this.ctx.namespace;
    return [
      { verb: "patch", resource: "statefulsets", group: "apps", namespace },
      { verb: "patch", resource: "services", namespace },
      { verb: "list", resource: "pods", namespace },
      { verb: "delete", resource: "pods", namespace },
    ];
  }

  async plannedObjects(spec: FleetSpec): Promise<KubeObject[]> {
    const bundle = spec.engine === "hollow-node" && !spec.prebuiltEngine ? await engineBundle() : undefined;
    return workloadObjects(spec, bundle);
  }

  async apply(
    spec: FleetSpec,
    prev: FleetSpec | undefined,
    _credentials?: TargetCredentials,
    bootstrap?: TargetCredentials,
  ): Promise<void> {
    if (bootstrap) {
      // --identity node: the pods' bootstrap kubeconfig, with an address they reach the target at.
      const server = podReachableServer(this.ctx.hosting, bootstrap.server);
      await applyObject(this.ctx.hosting.client, bootstrapSecret(spec, { ...bootstrap, server }));
    }
    const prevUids = new Map((await this.pods()).map((p) => [podOrdinal(p.metadata.name), p.metadata.uid]));
    for (const obj of await this.plannedObjects(spec)) {
      try {
        await applyObject(this.ctx.hosting.client, obj);
      } catch (err) {
        throw new KubemarkError("API_ERROR", `${refOf(obj)}: ${describeError(err)}`, { cause: err });
      }
    }
    // Pods whose slice changed restart to read it (upstream kubemark's pods each run one node).
    const restarted = prev && spec.engine !== "kubemark" ? changedShards(prev, spec) : [];
    if (restarted.length > 0) {
      for (const p of await this.pods()) {
        if (restarted.includes(podOrdinal(p.metadata.name))) {
          await deleteObject(
            this.ctx.hosting.client,
            `/api/v1/namespaces/${this.ctx.namespace}/pods/${p.metadata.name}`,
          );
        }
      }
    }
    const replicas = shardCount(spec);
    const reported = prev ? changedShards(prev, spec) : [];
    await this.waitPodsGone(
      (pods) =>
        pods.every((p) => {
          const i = podOrdinal(p.metadata.name);
          return i < replicas && !(reported.includes(i) && prevUids.get(i) === p.metadata.uid);
        }),
      "the pods of removed or resized shards",
    );
  }

  async health(spec: FleetSpec): Promise<WorkloadHealth> {
    return podWorkloadHealth(spec, await this.pods());
  }

  async diagnose(): Promise<string | undefined> {
    return diagnosePods(await this.pods());
  }

  async startTimes(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const p of await this.pods()) {
      const at = p.status?.containerStatuses?.[0]?.state?.running?.startedAt;
      if (at && !p.metadata.deletionTimestamp) out.set(podOrdinal(p.metadata.name), Date.parse(at));
    }
    return out;
  }

  async logs(spec: FleetSpec, node: FleetNode | undefined, tail: number): Promise<string> {
    const shards =
      node !== undefined
        ? [Math.floor(node.index / spec.nodesPerShard)]
        : [...Array(shardCount(spec)).keys()];
    const out: string[] = [];
    for (const i of shards) {
      const pod = `${WORKLOAD_NAME}-${i}`;
      const text = await this.ctx.hosting.client
        .getText(`/api/v1/namespaces/${this.ctx.namespace}/pods/${pod}/log`, {
          tailLines: node === undefined ? tail : 5000,
        })
        .catch((err: unknown) => `(no log: ${describeError(err)})`);
      if (node === undefined) {
        out.push(`==> pod ${pod} <==\n${lastLines(text, tail)}`);
        continue;
      }
      const lines = text
        .split("\n")
        .filter((l) => l.includes(`"node":"${node.name}"`))
        .join("\n");
      out.push(lastLines(lines, tail));
    }
    return out.join("");
  }

  restartHint(): string {
    return `'${this.ctx.suggest("logs")}' and 'kubectl describe pod -n ${this.ctx.namespace} -l name=hollow-node' show why`;
  }

  certDir(): undefined {
    return undefined;
  }

  localDir(): undefined {
    return undefined;
  }

  processes(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  strays(): Promise<undefined> {
    // A StatefulSet without the fleet's record is cleaned up by `cleanup`; verify reports no fleet.
    return Promise.resolve(undefined);
  }

  async remove(): Promise<RemovedWorkload> {
    const objects: string[] = [];
    const gone = await deleteInBackground(
      this.ctx.hosting.client,
      "StatefulSet",
      WORKLOAD_NAME,
      this.ctx.namespace,
    );
    if (gone) objects.push(gone);
    if (await namespaceExists(this.ctx.hosting.client, this.ctx.namespace))
      await this.waitPodsGone((pods) => pods.length === 0, "the hollow-node pods");
    return { processes: 0, objects };
  }

  /** The workload's pods. */
  private async pods(): Promise<PodItem[]> {
    const list = await this.ctx.hosting.client.get<{ items: PodItem[] }>(
      `/api/v1/namespaces/${this.ctx.namespace}/pods`,
      { labelSelector: `name=${WORKLOAD_LABEL.name},${FLEET_LABEL}=${this.ctx.fleet}` },
    );
    return list.items;
  }

  /** Waits until `isGone` holds for the workload's pods (removed shards, restarted pods), at most 120 s. */
  private async waitPodsGone(isGone: (pods: PodItem[]) => boolean, what: string): Promise<void> {
    const { clock, signal } = this.ctx.deps;
    const deadline = clock.now() + 120_000;
    while (!isGone(await this.pods())) {
      if (clock.now() > deadline) {
        throw new KubemarkError("TIMEOUT", `${what} did not stop within 120 s`, {
          hint: `see 'kubectl get pods -n ${this.ctx.namespace} -l name=hollow-node'`,
        });
      }
      await clock.sleep(1_000, signal);
    }
  }
}
