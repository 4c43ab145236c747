/**
 * Where a fleet's engine runs, behind one interface (as kwokctl's `runtime/`): local engine
 * processes on this machine, or a StatefulSet in the hosting cluster. The verbs ask the runtime
 * for everything that differs between the two and branch on nothing else.
 */
import type { Permission } from "../apply.ts";
import type { KubeObject, TargetCredentials } from "../objects.ts";
import type { FleetEngine, FleetMode, FleetSpec } from "../spec.ts";

/** Running vs desired engine processes or pods. */
export interface WorkloadHealth {
  readonly desired: number;
  readonly running: number;
  /** One line per process or pod. */
  readonly detail: string[];
  /** The lines of those not running (or running for another cluster). */
  readonly down: string[];
}

/** A workload found although the cluster records no fleet (left by an earlier one). */
export interface StrayWorkload {
  /** What runs, e.g. `2 local engine processes recorded for that namespace and address run (pid 1, 2)`. */
  readonly description: string;
  /** Nodes it ran (to suggest creating the fleet again). */
  readonly nodes: number;
}

/** One engine process of a local fleet, as `list` shows it. */
export interface EngineProcess {
  readonly shard: number;
  readonly pid: number;
  readonly nodes: number;
}

/** A node whose log is asked for: its name and index in the fleet. */
export interface FleetNode {
  readonly name: string;
  readonly index: number;
}

/** What a runtime removed. */
export interface RemovedWorkload {
  /** Engine processes that were running. */
  readonly processes: number;
  /** Objects deleted (`statefulset/hollow-node -n kubemark`). */
  readonly objects: string[];
}

/** Everything about a fleet that depends on where its engine runs. */
export interface FleetRuntime {
  readonly mode: FleetMode;
  /** One unit of the workload in messages: `process` or `pod`. */
  readonly unit: string;
  /** Its units in verify's problems: `engine processes` or `pods`. */
  readonly units: string;
  /** The hollow nodes' identity needs a long-lived token: processes outside the cluster read it from a file. */
  readonly needsToken: boolean;
  /** A diagnosis ends the wait at once: what it names (an exited process) does not heal by itself. */
  readonly diagnosisIsFinal: boolean;
  /** Whether it can run `engine` (upstream kubemark runs as pods only). */
  supports(engine: FleetEngine): boolean;
  /** What the CLI's identity must be allowed in the hosting cluster to run the workload. */
  hostingPermissions(): Permission[];
  /** The objects of the workload in the hosting cluster (for dry runs). */
  plannedObjects(spec: FleetSpec): Promise<KubeObject[]>;
  /**
   * Makes the workload run `spec` (`prev`: the fleet's spec before, if any) with the hollow
   * nodes' `credentials` (runtimes that need a token) and, with `--identity node`, the
   * `bootstrap` credential the engines make their nodes' CSRs with; returns once units that were
   * removed or restarted are gone, so their Nodes can be deleted without being re-registered.
   */
  apply(
    spec: FleetSpec,
    prev: FleetSpec | undefined,
    credentials: TargetCredentials | undefined,
    bootstrap?: TargetCredentials,
  ): Promise<void>;
  /** Its processes or pods against the spec. */
  health(spec: FleetSpec): Promise<WorkloadHealth>;
  /** Why nodes are not coming up, from the workload's side (undefined when it looks healthy). */
  diagnose(spec: FleetSpec): Promise<string | undefined>;
  /** When each shard's running process or pod started (ms since the epoch); absent when none runs. */
  startTimes(spec: FleetSpec): Promise<Map<number, number>>;
  /** The last `tail` lines of a node's log, or of every engine's. */
  logs(spec: FleetSpec, node: FleetNode | undefined, tail: number): Promise<string>;
  /** What restarts units that are not running, or shows why they stopped (verify's fix). */
  restartHint(spec: FleetSpec): string;
  /** Where it keeps state and logs on this machine (undefined when nothing is kept here). */
  localDir(): string | undefined;
  /** Where its engines keep the nodes' client certificates (`--cert-dir`), when on this machine. */
  certDir(): string | undefined;
  /** Its engine processes on this machine (undefined when it runs none). */
  processes(): Promise<EngineProcess[] | undefined>;
  /** What still runs for this namespace although the cluster records no fleet. */
  strays(): Promise<StrayWorkload | undefined>;
  /** Stops the workload and removes what it consists of; safe when there is nothing. */
  remove(): Promise<RemovedWorkload>;
}

/** Every runtime, in the order `cleanup` stops them. */
export const FLEET_MODES: readonly FleetMode[] = ["local", "in-cluster"];
