import type { Clock } from "../kernel/clock.ts";
import type { ClusterIdentity } from "./cluster-identity.ts";
import type { Endpoint } from "./endpoints.ts";
import type { FleetEvent } from "./events.ts";

/** What every fleet operation needs from its caller (the CLI). */
export interface FleetDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stateDir: string;
  readonly clock: Clock;
  /** Receives progress; operations never print. */
  readonly onEvent: (e: FleetEvent) => void;
  readonly signal: AbortSignal;
}

/** A fleet's clusters as an open session reaches them: what operations and runtimes work with. */
export interface FleetContext {
  readonly deps: FleetDeps;
  readonly hosting: Endpoint;
  readonly target: Endpoint;
  readonly namespace: string;
  readonly twoCluster: boolean;
  /** The fleet's name (the value of its ownership label on Nodes and objects). */
  readonly fleet: string;
  /** `kubemark-cluster <verbAndArgs>` with the flags the user gave (for hints). */
  suggest(verbAndArgs: string): string;
  /** The target cluster's identity (read once): local processes are bound to it. */
  targetIdentity(): Promise<ClusterIdentity>;
}
