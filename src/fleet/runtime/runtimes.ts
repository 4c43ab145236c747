import type { FleetContext } from "../context.ts";
import type { FleetMode } from "../spec.ts";
import { InClusterRuntime } from "./in-cluster.ts";
import { LocalRuntime } from "./local.ts";
import type { FleetRuntime } from "./runtime.ts";

/** The runtime of `mode` for a fleet's clusters. */
export function fleetRuntime(ctx: FleetContext, mode: FleetMode): FleetRuntime {
  return mode === "local" ? new LocalRuntime(ctx) : new InClusterRuntime(ctx);
}
