/*
 * The external-attacher of the hollow driver: for each VolumeAttachment of the driver, adds its
 * finalizer to the PV and the VA (with the node ID annotation), takes the modelled
 * ControllerPublish time and marks it attached through the status subresource; a VA for a node
 * whose CSINode lacks the driver gets the attach error instead. On deletion it takes the detach
 * time and removes its finalizer; a deleted PV keeps its finalizer until no VA uses it.
 */
import { isNotFound } from "../../client/api-error.ts";
import { rfc3339 } from "../node-object.ts";
import { drawLatency } from "./csi-names.ts";
import {
  addFinalizerJsonPatch,
  attachMetadataPatch,
  attachWork,
  detachMetadataPatch,
  nodeIdFor,
  removeFinalizerJsonPatch,
} from "./attach-decisions.ts";
import { errorText, SIDECAR_WORKERS, type PartContext } from "./part-context.ts";
import { attacherFinalizer, type AttachmentObject, type VolumeObject } from "./storage-objects.ts";
import type { WorkQueue } from "./work-queue.ts";

const VA_PATH = "/apis/storage.k8s.io/v1/volumeattachments";

/** The attacher part of the controller. */
export class Attacher {
  private readonly p: PartContext;
  private readonly finalizer: string;
  /** VolumeAttachments with work queued (their latest object). */
  private readonly vas = new Map<string, AttachmentObject>();
  private readonly vaQueue: WorkQueue;
  private readonly pvQueue: WorkQueue;

  constructor(p: PartContext) {
    this.p = p;
    this.finalizer = attacherFinalizer(p.driver);
    this.vaQueue = p.queue("volumeattachments", SIDECAR_WORKERS.attacher, (n) => this.syncAttachment(n));
    this.pvQueue = p.queue("attacher-volumes", SIDECAR_WORKERS.attacher, (n) => this.syncVolume(n));
  }

  /** An event of one of the driver's VolumeAttachments. */
  onAttachment(type: string, va: AttachmentObject): void {
    const name = va.metadata.name;
    if (type === "DELETED") {
      this.vas.delete(name);
      const pv = va.spec.source.persistentVolumeName;
      if (pv) this.pvQueue.add(pv);
      return;
    }
    if (!attachWork(va, this.p.driver) && !this.vas.has(name)) return;
    this.vas.set(name, va);
    this.vaQueue.add(name);
  }

  /** An event of one of the driver's PVs: a deleted one may lose the attacher's finalizer. */
  onVolume(pv: VolumeObject): void {
    if (pv.metadata.deletionTimestamp && pv.metadata.finalizers?.includes(this.finalizer))
      this.pvQueue.add(pv.metadata.name);
  }

  private async syncAttachment(name: string): Promise<void> {
    const va = this.vas.get(name);
    if (!va) return;
    const work = attachWork(va, this.p.driver);
    try {
      if (work === "attach") await this.attach(va);
      else if (work === "detach") await this.detach(va);
    } catch (err) {
      // The VolumeAttachment is gone (a deletion the watch did not show): nothing left to do.
      if (!isNotFound(err)) throw err;
    }
    if (this.vas.get(name) === va) this.vas.delete(name);
  }

  private async attach(va: AttachmentObject): Promise<void> {
    const { p } = this;
    let current = va;
    let pv: VolumeObject;
    try {
      const pvName = va.spec.source.persistentVolumeName;
      if (!pvName)
        throw new Error("neither InlineCSIVolumeSource nor PersistentVolumeName specified in VA source");
      const found = p.cache.volumes.map.get(pvName);
      if (!found) throw new Error(`persistentvolume "${pvName}" not found`);
      if (found.metadata.deletionTimestamp)
        throw new Error(`PersistentVolume "${pvName}" is marked for deletion`);
      pv = found;
      if (!pv.metadata.finalizers?.includes(this.finalizer)) {
        try {
          pv = p.cache.setVolume(
            await p.ctx.request<VolumeObject>({
              method: "PATCH",
              path: `/api/v1/persistentvolumes/${pvName}`,
              patchType: "json",
              body: addFinalizerJsonPatch(pv.metadata.finalizers, this.finalizer),
            }),
          );
        } catch (err) {
          throw new Error(`could not add PersistentVolume finalizer: ${errorText(err)}`, { cause: err });
        }
      }
      const node = nodeIdFor(va.spec.nodeName, p.driver, p.cache.csiNodes.map);
      if ("error" in node) throw new Error(node.error);
      const patch = attachMetadataPatch(va, p.driver, node.nodeId);
      if (patch) {
        try {
          current = await this.patchVa(va.metadata.name, patch, false);
        } catch (err) {
          throw new Error(`could not save VolumeAttachment: ${errorText(err)}`, { cause: err });
        }
      }
    } catch (err) {
      await this.saveError(current, "attachError", err);
      throw err;
    }
    await p.ctx.clock.sleep(drawLatency(p.cache.latencies(pv).attach, p.ctx.random));
    if (!p.active()) return;
    const status: Record<string, unknown> = { attached: true };
    if (current.status?.attachError) status["attachError"] = null;
    await this.patchVa(va.metadata.name, { status }, true);
  }

  private async detach(va: AttachmentObject): Promise<void> {
    const { p } = this;
    try {
      const pvName = va.spec.source.persistentVolumeName ?? "";
      const pv = p.cache.volumes.map.get(pvName);
      if (!pv) throw new Error(`persistentvolume "${pvName}" not found`);
      const node = nodeIdFor(va.spec.nodeName, p.driver, p.cache.csiNodes.map, va);
      if ("error" in node) throw new Error(node.error);
      await p.ctx.clock.sleep(drawLatency(p.cache.latencies(pv).detach, p.ctx.random));
      if (!p.active()) return;
    } catch (err) {
      await this.saveError(va, "detachError", err);
      throw err;
    }
    // The finalizer first, then the status (markAsDetached): the VA is usually gone by then.
    await this.patchVa(va.metadata.name, detachMetadataPatch(va, p.driver), false);
    await this.patchVa(va.metadata.name, { status: { attached: false } }, true).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  private patchVa(name: string, body: object, status: boolean): Promise<AttachmentObject> {
    return this.p.ctx.request<AttachmentObject>({
      method: "PATCH",
      path: `${VA_PATH}/${name}${status ? "/status" : ""}`,
      patchType: "merge",
      body,
    });
  }

  /** `saveAttachError` / `saveDetachError`: the message in the VA's status (best effort). */
  private async saveError(
    va: AttachmentObject,
    field: "attachError" | "detachError",
    err: unknown,
  ): Promise<void> {
    const error = { message: errorText(err), time: rfc3339(this.p.ctx.clock.now()) };
    await this.patchVa(va.metadata.name, { status: { [field]: error } }, true).catch(() => undefined);
  }

  /** Removes the attacher's finalizer from a deleted PV no VolumeAttachment uses. */
  private async syncVolume(name: string): Promise<void> {
    const { p } = this;
    const pv = p.cache.volumes.map.get(name);
    if (!pv?.metadata.deletionTimestamp || p.cache.attachedNode(name) !== undefined) return;
    const patch = removeFinalizerJsonPatch(pv.metadata.finalizers, this.finalizer);
    if (!patch) return;
    try {
      p.cache.setVolume(
        await p.ctx.request<VolumeObject>({
          method: "PATCH",
          path: `/api/v1/persistentvolumes/${name}`,
          patchType: "json",
          body: patch,
        }),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
