import { isAlreadyExists, isConflict, isNotFound } from "../client/api-error.ts";
import { decodeObject, readObjectMeta } from "../client/protobuf.ts";
import { NODE_LEASES_PATH, nodeLeasePath } from "../kernel/k8s.ts";
import { renewIntervalMs } from "./heartbeat-schedule.ts";
import type { NodeHandle } from "./node-handle.ts";
import { encodeLease, microTime, renderLease, type LeaseObject } from "./node-object.ts";
import type { Versioned } from "./watcher.ts";

/**
 * A node's Lease, kept fresh as the kubelet's lease controller does: created (or adopted) at
 * registration, PUT with a new renewTime every renewal period through the heartbeat client,
 * recreated when somebody deleted it (unless its Node is gone too), re-read on a conflict. The
 * node's heartbeat loop renews it when {@link nextAt} is due (heartbeat-schedule.ts); this is the
 * I/O.
 */
export class LeaseHeartbeat {
  private readonly node: NodeHandle;
  private rv = "";
  private lastRenewAt = 0;
  /** When the next renewal is due (epoch ms): one jittered period after the last one ended. */
  nextAt = 0;

  constructor(node: NodeHandle) {
    this.node = node;
  }

  /** Time of the last successful renewal (epoch ms, 0 = never). */
  get lastRenew(): number {
    return this.lastRenewAt;
  }

  /** One renewal period from now, jittered. */
  intervalMs(): number {
    const { cfg, random } = this.node.ctx;
    return renewIntervalMs(cfg, random());
  }

  /**
   * Sends a Lease request through the heartbeat client in the configured encoding (protobuf, as a
   * kubelet's client, unless `--kube-api-content-type application/json`); returns the Lease's
   * resourceVersion.
   */
  private async call(method: "GET" | "POST" | "PUT", path: string, lease?: LeaseObject): Promise<string> {
    const { ctx } = this.node;
    const proto = ctx.cfg.leaseContentType === "protobuf";
    const body = lease === undefined ? undefined : proto ? encodeLease(lease) : lease;
    const res = await ctx.heartbeat<Uint8Array | Versioned>({
      method,
      path,
      ...(body === undefined ? {} : { body }),
      ...(proto ? { accept: "protobuf" as const } : {}),
    });
    // A server may answer JSON whatever was asked (the client then parses it).
    if (res instanceof Uint8Array) return readObjectMeta(decodeObject(res).raw).resourceVersion;
    return res.metadata.resourceVersion ?? "";
  }

  /**
   * Creates the Lease, or adopts an existing one (a kubelet reads it first); false when there is
   * none to renew: the lease controller owns the Lease by its Node (SetNodeOwnerFunc), so with the
   * Node gone it reads the Node and creates nothing until the Node exists again.
   */
  async ensure(): Promise<boolean> {
    const { ctx, id } = this.node;
    if (ctx.cfg.traffic === "kubelet") {
      let rv: string | undefined;
      try {
        rv = await this.call("GET", nodeLeasePath(id.name));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (rv !== undefined) {
        this.rv = rv;
        return this.renew();
      }
    }
    if (this.node.gone && !(await this.node.readNode())) {
      this.rv = "";
      return false;
    }
    const body = renderLease({
      name: id.name,
      nodeUid: this.node.uid,
      durationSeconds: ctx.cfg.leaseDurationSeconds,
      renewTime: microTime(ctx.clock.now()),
    });
    try {
      this.rv = await this.call("POST", NODE_LEASES_PATH, body);
      this.lastRenewAt = ctx.clock.now();
      return true;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      await this.refreshRv();
      return this.renew();
    }
  }

  private async refreshRv(): Promise<void> {
    this.rv = await this.call("GET", nodeLeasePath(this.node.id.name));
  }

  /**
   * PUTs the Lease with a fresh renewTime, as the kubelet's lease controller does (or creates it
   * when there is none: {@link ensure}); false when there was no Lease to renew.
   */
  async renew(): Promise<boolean> {
    if (this.rv === "") return this.ensure();
    const { ctx, id } = this.node;
    const put = (): Promise<string> =>
      this.call(
        "PUT",
        nodeLeasePath(id.name),
        renderLease({
          name: id.name,
          nodeUid: this.node.uid,
          durationSeconds: ctx.cfg.leaseDurationSeconds,
          renewTime: microTime(ctx.clock.now()),
          resourceVersion: this.rv,
        }),
      );
    let rv: string;
    try {
      rv = await put();
    } catch (err) {
      if (isNotFound(err)) {
        // Somebody deleted the Lease (or the garbage collector did, with the Node that owned it):
        // a kubelet recreates it if its Node is there.
        if (!this.node.gone) {
          this.node.log.info({ node: id.name }, "lease was deleted; recreating it");
          ctx.metrics.leaseRecreated();
        }
        return this.ensure();
      }
      if (!isConflict(err)) throw err;
      await this.refreshRv();
      rv = await put();
    }
    this.rv = rv;
    this.lastRenewAt = ctx.clock.now();
    return true;
  }
}
