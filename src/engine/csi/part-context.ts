/** What the controller's parts (provisioner, attacher, resizer) share while this process leads. */
import type { EngineContext } from "../engine-context.ts";
import type { ControllerCache } from "./controller-cache.ts";
import type { ControllerEvents } from "./controller-events.ts";
import type { WorkQueue } from "./work-queue.ts";

/** The sidecars' worker threads (their flag defaults): how many operations of each run at once. */
export const SIDECAR_WORKERS = { provisioner: 100, attacher: 10, resizer: 10 } as const;

/** A part's view of the controller. */
export interface PartContext {
  readonly ctx: EngineContext;
  readonly driver: string;
  readonly cache: ControllerCache;
  readonly events: ControllerEvents;
  /** This process's identity (the Lease holder), unique per process. */
  readonly identity: string;
  /** False once this process stopped leading: operations in flight write nothing more. */
  active(): boolean;
  /** A work queue of `workers` on the engine's due queue, started when the caches have synced. */
  queue(name: string, workers: number, process: (key: string) => Promise<void>): WorkQueue;
}

/** The message of an error, for an Event or a VolumeAttachment's error. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
