/**
 * Bringing a fleet to its spec (what `create` and `scale` share once the spec is known): nothing
 * when it already runs it, else set up, record, start or change the workload, remove the Nodes it
 * no longer backs, and wait until exactly the desired Nodes are Ready.
 */
import { KubemarkError } from "../../kernel/errors.ts";
import { applyObject } from "../apply.ts";
import { nodeCensus, removeNodes } from "../census.ts";
import { fleetConfigMap } from "../objects.ts";
import { applyStorage, storagePresent, type StorageOutcome } from "../storage.ts";
import type { FleetRuntime } from "../runtime/runtime.ts";
import type { Session } from "../session.ts";
import type { FleetSpec } from "../spec.ts";
import { waitForFleet } from "../wait.ts";
import { cleanupFleet } from "./cleanup.ts";
import { setup } from "./setup.ts";

/** How to bring the fleet to its spec. */
export interface ScaleOptions {
  /** The verb that asked (its word is in the progress line). */
  readonly verb: "create" | "scale";
  /** Wait for the Nodes to be Ready (else return once the workload is applied). */
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly stallMs: number;
}

/** What bringing the fleet to its spec did. */
export interface ScaleOutcome {
  readonly action: "created" | "scaled" | "unchanged" | "updated";
  readonly ready: number;
  /** Nodes (and their Leases) deleted because no engine backs them any more. */
  readonly removedNodes: number;
  /** The fleet's CSI driver and StorageClass as applied (undefined: none, or nothing was applied). */
  readonly storage?: StorageOutcome | undefined;
}

/**
 * Brings the fleet to `spec` on `runtime` (`existing`: the fleet as recorded, if any). The same
 * spec again, with every node Ready and the workload healthy, changes nothing. A new fleet that
 * fails half-way (other than by a timeout, which the same command resumes) is removed again.
 */
export async function scaleFleet(
  s: Session,
  runtime: FleetRuntime,
  spec: FleetSpec,
  existing: FleetSpec | undefined,
  opts: ScaleOptions,
): Promise<ScaleOutcome> {
  const step = (message: string): void => s.deps.onEvent({ kind: "step", message });
  if (existing && sameSpec(existing, spec)) {
    const census = await nodeCensus(s, spec);
    const healthy = (await runtime.diagnose(spec).catch(() => "unknown")) === undefined;
    if (
      healthy &&
      census.ready === spec.nodes &&
      census.registered === spec.nodes &&
      census.extra.length === 0 &&
      (await storagePresent(s, spec))
    )
      return { action: "unchanged", ready: census.ready, removedNodes: 0 };
  }
  step(
    existing
      ? `${opts.verb === "scale" ? "scaling" : "updating"} fleet ${s.fleet}: ${existing.nodes} -> ${spec.nodes} nodes (${spec.mode})`
      : `creating fleet ${s.fleet}: ${spec.nodes} hollow nodes (${spec.mode}, ${spec.nodesPerShard} per ${runtime.unit}) into ${s.target.access.server}`,
  );
  let made = false;
  try {
    const result = await setup(s, runtime, spec);
    made = !existing;
    // The driver's objects before the engines: their node side registers a driver the cluster knows.
    const storage = await applyStorage(s, spec);
    await applyObject(s.hosting.client, fleetConfigMap(spec));
    await runtime.apply(spec, existing, result.credentials, result.bootstrap);
    let removedNodes = 0;
    const census = await nodeCensus(s, spec);
    if (census.extra.length > 0) {
      removedNodes = await removeNodes(s, census.extra);
      step(`  removed ${removedNodes} Nodes (and their Leases) no longer backed`);
    }
    const ready = opts.wait
      ? await waitForFleet(s, runtime, spec, opts.timeoutMs, opts.stallMs)
      : census.ready;
    return {
      action: existing ? (existing.nodes === spec.nodes ? "updated" : "scaled") : "created",
      ready,
      removedNodes,
      storage,
    };
  } catch (err) {
    if (made && !(err instanceof KubemarkError && (err.code === "TIMEOUT" || err.code === "START_FAILED"))) {
      // A new fleet that failed half-way: undo it, so nothing half-made is left behind.
      step("  undoing the half-made fleet");
      await cleanupFleet(s, { all: false }).catch(() => undefined);
    }
    throw err;
  }
}

function sameSpec(a: FleetSpec, b: FleetSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
