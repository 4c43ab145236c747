import type { Logger } from "pino";
import type { KubeRequest } from "../client/kube-client.ts";
import type { EngineContext } from "./engine-context.ts";
import type { NodeIdentity } from "./node-object.ts";
import type { ObservedNodeStatus } from "./node-status.ts";
import type { Versioned } from "./watcher.ts";

/** The parts of a Node the engine reads. */
export interface NodeObject extends Versioned {
  metadata: { name: string; uid: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: { podCIDR?: string };
  status?: ObservedNodeStatus;
}

/** What the node status reads of a volume manager (csi/volume-manager.ts's `NodeVolumes`). */
export interface VolumesInUse {
  /** The status's `volumesInUse`; undefined while it is not known (the field is left as it is). */
  inUse(): string[] | undefined;
  /** A status write reported these volumes in use. */
  markReportedInUse(names: readonly string[]): void;
}

/**
 * What a hollow node's parts (its Lease heartbeat, status reporter, watches and pod lifecycle)
 * share of their node: the engine's context, the node's identity and state, its rate-limited API
 * and its logger. The parts keep a reference to it instead of copies, so each is a few fields.
 */
export interface NodeHandle {
  readonly ctx: EngineContext;
  readonly id: NodeIdentity;
  /** The node's ordinal in the fleet (its fallback pod CIDR). */
  readonly index: number;
  /** The Node's uid as the API server has it ("" before registration). */
  readonly uid: string;
  readonly registered: boolean;
  /**
   * The Node was deleted after this node registered it. A kubelet registers once per process
   * (registrationCompleted), so it does not create it again: it only reads it back.
   */
  readonly gone: boolean;
  /** Stopped: no new work starts. */
  readonly stopped: boolean;
  /** This node's logger. */
  readonly log: Logger;
  /** The volume manager of the node's pods with CSI volumes (undefined until one comes). */
  readonly volumes?: VolumesInUse | undefined;
  /** Sends one request on this node's behalf (rate-limited, counted). */
  api<T>(req: KubeRequest): Promise<T>;
  /** The Node was deleted under the node (a write found it gone): it stays gone. */
  nodeGone(): void;
  /**
   * GETs the Node through the heartbeat client (as the status loop's retries and the lease
   * controller do) and follows it; false when it does not exist.
   */
  readNode(): Promise<boolean>;
}
