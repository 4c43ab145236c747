import { isNotFound } from "../client/api-error.ts";
import { NODE } from "../client/protobuf-types.ts";
import { NODES_PATH } from "../kernel/k8s.ts";
import { volumesInUseField } from "./csi/volume-decisions.ts";
import { jittered } from "./heartbeat-schedule.ts";
import type { NodeHandle } from "./node-handle.ts";
import { renderNodeStatus, rfc3339 } from "./node-object.ts";
import { statusDrift, statusReportDue, type ObservedNodeStatus, type StatusDrift } from "./node-status.ts";

/** Tries per status sync (the kubelet's nodeStatusUpdateRetry). */
export const NODE_STATUS_RETRIES = 5;

/**
 * A node's status as the kubelet's status loop keeps it: it recomputes the status every
 * nodeStatusUpdateFrequency and PATCHes it only when it differs from the Node as the server has
 * it (the kubelet's node informer copy: so a controller's Ready=Unknown is corrected within one
 * period) or nodeStatusReportFrequency has passed since the last report. The decisions are
 * node-status.ts's ({@link statusDrift}, {@link statusReportDue}); this is the I/O.
 */
export class NodeStatusReporter {
  private readonly node: NodeHandle;
  /** When the conditions last became healthy (their lastTransitionTime). */
  private since = "";
  private lastReportAt = 0;
  private reportedKey = "";
  /** How the Node's status as the server last showed it differs from what this node reports. */
  private drift: StatusDrift = "none";
  /** How many times the server's status was observed (to tell whether one came during a write). */
  private observations = 0;
  /** The server's status lists volumes in use (which a write must clear when none are). */
  private serverVolumes = false;
  /** The last successful write listed volumes in use (the server has them, whatever a lagging watch shows). */
  private wroteVolumes = false;
  /** When the next status check is due (epoch ms). */
  nextAt = 0;

  constructor(node: NodeHandle) {
    this.node = node;
  }

  /** The node registers (again) at `now`: its conditions turn healthy from now. */
  registering(now: number): void {
    this.since = rfc3339(now);
  }

  /** One status period from now, jittered. */
  intervalMs(): number {
    const { cfg, random } = this.node.ctx;
    return jittered(cfg.statusUpdateMs, cfg.jitter, random());
  }

  /** The Node's status as the server has it (a watch event, a write's answer). */
  observe(status: ObservedNodeStatus | undefined): void {
    if (!status) return;
    this.observations++;
    this.serverVolumes = (status.volumesInUse?.length ?? 0) > 0;
    this.drift = statusDrift(status);
    if (this.drift === "transition")
      this.node.ctx.events?.nodeStatusDrifted(this.node.id.name, status.conditions ?? []);
  }

  /** Whether the status check at `now` PATCHes the status. */
  reportDue(now: number): boolean {
    return statusReportDue({
      now,
      lastReportAt: this.lastReportAt,
      reportEveryMs: this.node.ctx.cfg.statusReportMs,
      drift: this.drift,
      ownChange: this.statusKey() !== this.reportedKey,
    });
  }

  /** Reports the status at `now`, correcting the server's copy when it drifted. */
  report(now: number): Promise<void> {
    const drift = this.drift;
    if (drift !== "none") this.node.ctx.metrics.statusCorrected();
    // The conditions turn healthy anew: their transition time is now.
    if (drift === "transition") this.since = rfc3339(now);
    return this.patch(drift);
  }

  /**
   * What the reported status depends on besides heartbeat times. Capacity, addresses and
   * nodeInfo come from the node's fixed identity; the conditions' transition time changes when
   * the node registers again; the volumes in use change with the pods' CSI volumes (a list the
   * server has but the node no longer uses is cleared).
   */
  private statusKey(): string {
    return this.keyOf(this.since, this.node.volumes?.inUse());
  }

  /** {@link statusKey} of a status with conditions since `since` and volumes in use `inUse`. */
  private keyOf(since: string, inUse: readonly string[] | undefined): string {
    if (inUse === undefined) return since;
    return inUse.length > 0 || this.mayHaveVolumes() ? `${since}|${inUse.join(",")}` : since;
  }

  /** Whether the server's Node may list volumes in use: a write to clear them is needed when none are. */
  private mayHaveVolumes(): boolean {
    return this.serverVolumes || this.wroteVolumes;
  }

  /**
   * PATCHes the node status (conditions with a fresh heartbeat), as the kubelet's status loop;
   * `drift` is what the write corrects (decided before it: the node's watch may report the write's
   * own result, or another writer's, before the write returns).
   */
  async patch(drift: StatusDrift = this.drift): Promise<void> {
    const { ctx, id } = this.node;
    const now = ctx.clock.now();
    const since = this.since;
    const seen = this.observations;
    const volumes = this.node.volumes;
    const inUse = volumes?.inUse();
    const status = renderNodeStatus(id, rfc3339(now), since);
    // The VolumesInUse setter, once the volume manager's states are synced; never volumesAttached
    // (the attach/detach controller's). The list is atomic: all of it, or null to clear it.
    const field = inUse && volumesInUseField(inUse, this.mayHaveVolumes());
    if (field !== undefined) status.volumesInUse = field;
    try {
      await ctx.heartbeat({
        method: "PATCH",
        path: `${NODES_PATH}/${id.name}/status`,
        patchType: "strategic",
        body: { status },
        // The patch is JSON; the answer (the whole Node) comes in protobuf, as a kubelet accepts it.
        ...ctx.proto(NODE),
      });
      this.lastReportAt = now;
      if (inUse) {
        // Only what a write reported counts as in use (MarkVolumesAsReportedInUse).
        volumes!.markReportedInUse(inUse);
        if (this.observations === seen) this.serverVolumes = inUse.length > 0;
        this.wroteVolumes = inUse.length > 0;
      }
      // What this write reported, not what is in use now: a volume that left use while it was in
      // flight is still listed by the server and must be cleared at the next check.
      this.reportedKey = this.keyOf(since, inUse);
      if (drift === "transition") this.node.ctx.events?.nodeStatusRestored(this.node.id.name);
      // The server now has this status (unless the watch showed a later one meanwhile: that stands).
      if (this.observations === seen) this.drift = "none";
    } catch (err) {
      if (isNotFound(err) && this.node.registered) {
        // The Node was deleted under us (and no watch told us yet): the kubelet's next tries read
        // it back; it stays gone.
        this.node.nodeGone();
        await this.readBack();
        return;
      }
      throw err;
    }
  }

  /**
   * The status loop while the Node is gone: a kubelet's first try reads its informer's copy (no
   * request), each of the next {@link NODE_STATUS_RETRIES} - 1 GETs the Node from the API server.
   * One that finds it (somebody created it again) hands it to the node, which then reports to it.
   */
  async readBack(): Promise<void> {
    for (let i = 1; i < NODE_STATUS_RETRIES && this.node.gone && !this.node.stopped; i++) {
      if (await this.node.readNode()) return;
    }
  }
}
