/** `list`: the workload, its processes or pods, and Node counts. */
import { nodeCensus, type NodeCensus } from "../census.ts";
import type { EngineProcess, WorkloadHealth } from "../runtime/runtime.ts";
import { readFleet, type Session } from "../session.ts";
import type { FleetSpec } from "../spec.ts";

/** What `list` shows. */
export interface ListReport {
  readonly spec: FleetSpec | undefined;
  readonly namespace: string;
  readonly workload: WorkloadHealth;
  readonly ready: number;
  readonly notReady: number;
  readonly nodes: NodeCensus["nodes"];
  /** Where a local fleet keeps its state and logs. */
  readonly localDir: string | undefined;
  /** A local fleet's engine processes (undefined for pods). */
  readonly processes: EngineProcess[] | undefined;
}

/** `list`: the workload, its processes or pods, and Node counts. */
export async function listFleet(s: Session): Promise<ListReport> {
  const spec = await readFleet(s);
  if (!spec)
    return {
      spec,
      namespace: s.namespace,
      workload: { desired: 0, running: 0, detail: [], down: [] },
      ready: 0,
      notReady: 0,
      nodes: [],
      localDir: undefined,
      processes: undefined,
    };
  const runtime = s.runtime(spec.mode);
  const census = await nodeCensus(s, spec);
  const ready = census.nodes.filter((n) => n.ready).length;
  return {
    spec,
    namespace: s.namespace,
    workload: await runtime.health(spec),
    ready,
    notReady: census.nodes.length - ready,
    nodes: census.nodes,
    localDir: runtime.localDir(),
    processes: await runtime.processes(),
  };
}
