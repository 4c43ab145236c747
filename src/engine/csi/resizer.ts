/*
 * The external-resizer of the hollow driver (controller expansion only, no node step): a bound
 * claim of the driver whose request grew beyond its capacity is marked Resizing with its
 * allocatedResources, the volume takes the modelled ControllerExpandVolume time, the PV's
 * capacity grows to what the driver allocated, and the claim's capacity follows with the resize
 * conditions and status cleared. Events Resizing and VolumeResizeSuccessful (VolumeResizeFailed).
 */
import { isNotFound } from "../../client/api-error.ts";
import { rfc3339 } from "../node-object.ts";
import { drawLatency } from "./csi-names.ts";
import { refTo } from "./controller-events.ts";
import { errorText, SIDECAR_WORKERS, type PartContext } from "./part-context.ts";
import { resizeFinishedPatch, resizeInProgressPatch, resizeWork } from "./resize-decisions.ts";
import type { ClaimObject, VolumeObject } from "./storage-objects.ts";
import { allocatedBytes, bytesQuantity, quantityBytes } from "./volume-size.ts";
import type { WorkQueue } from "./work-queue.ts";

/** The resizer part of the controller. */
export class Resizer {
  private readonly p: PartContext;
  private readonly component: string;
  /** Claims with work queued, by namespace/name (their latest object). */
  private readonly claims = new Map<string, ClaimObject>();
  private readonly queue: WorkQueue;

  constructor(p: PartContext) {
    this.p = p;
    this.component = `external-resizer ${p.driver}`;
    this.queue = p.queue("resize", SIDECAR_WORKERS.resizer, (key) => this.sync(key));
  }

  /** A claim event. */
  onClaim(type: string, claim: ClaimObject): void {
    const key = `${claim.metadata.namespace}/${claim.metadata.name}`;
    if (type === "DELETED") {
      this.claims.delete(key);
      return;
    }
    if (!this.claims.has(key) && !this.work(claim)) return;
    this.claims.set(key, claim);
    this.queue.add(key);
  }

  /** After a relist: drops the queued claims whose uid it did not show (deleted meanwhile). */
  forgetClaimsBut(uids: ReadonlySet<string>): void {
    for (const [key, c] of [...this.claims]) if (!uids.has(c.metadata.uid ?? "")) this.claims.delete(key);
  }

  private work(claim: ClaimObject): ReturnType<typeof resizeWork> {
    const pv = this.p.cache.volumes.map.get(claim.spec.volumeName ?? "");
    return resizeWork(claim, pv, this.p.driver);
  }

  private async sync(key: string): Promise<void> {
    const seen = this.claims.get(key);
    if (!seen) return;
    try {
      await this.resize(key, seen);
    } catch (err) {
      // The claim is gone (a deletion the watch did not show): forget it.
      if (!isNotFound(err)) throw err;
      if (this.claims.get(key) === seen) this.claims.delete(key);
    }
  }

  private async resize(key: string, seen: ClaimObject): Promise<void> {
    const { p } = this;
    const work = this.work(seen);
    if (!work) {
      if (this.claims.get(key) === seen) this.claims.delete(key);
      return;
    }
    const pvName = seen.spec.volumeName!;
    const ns = seen.metadata.namespace ?? "";
    const statusPath = `/api/v1/namespaces/${ns}/persistentvolumeclaims/${seen.metadata.name}/status`;
    const patchClaim = (body: object): Promise<ClaimObject> =>
      p.ctx.request<ClaimObject>({ method: "PATCH", path: statusPath, patchType: "strategic", body });
    let claim = await patchClaim(resizeInProgressPatch(seen, work, rfc3339(p.ctx.clock.now())));
    this.remember(key, seen, claim);
    const event = (type: "Normal" | "Warning", reason: string, message: string): void =>
      p.events.record(
        this.component,
        refTo("PersistentVolumeClaim", "v1", claim.metadata),
        type,
        reason,
        message,
      );
    event("Normal", "Resizing", `External resizer is resizing volume ${pvName}`);
    const pv = p.cache.volumes.map.get(pvName);
    await p.ctx.clock.sleep(drawLatency(p.cache.latencies(pv).expand, p.ctx.random));
    if (!p.active()) return;
    const capacity = bytesQuantity(allocatedBytes(quantityBytes(work.newSize) ?? 0));
    try {
      p.cache.setVolume(
        await p.ctx.request<VolumeObject>({
          method: "PATCH",
          path: `/api/v1/persistentvolumes/${pvName}`,
          patchType: "strategic",
          body: { spec: { capacity: { storage: capacity } } },
        }),
      );
    } catch (err) {
      const message = `error updating pv "${pvName}" by resizer: ${errorText(err)}`;
      event("Warning", "VolumeResizeFailed", message);
      throw new Error(message, { cause: err });
    }
    const before = claim;
    claim = await patchClaim(resizeFinishedPatch(claim, capacity));
    this.remember(key, before, claim);
    event("Normal", "VolumeResizeSuccessful", "Resize volume succeeded");
  }

  /** Keeps the claim as the patch returned it (the informer-cache update), unless a newer event came. */
  private remember(key: string, old: ClaimObject, updated: ClaimObject): void {
    if (this.claims.get(key) === old) this.claims.set(key, updated);
  }
}
