/*
 * The external-provisioner of the hollow driver: provisions a PV for each claim the PV controller
 * annotated for the driver (after the scheduler chose a node for WaitForFirstConsumer), with the
 * modelled CreateVolume time, and deletes Released volumes with reclaim Delete (DeleteVolume
 * time, not while a VolumeAttachment still uses them). Events as the external-provisioner's.
 */
import { isAlreadyExists, isNotFound } from "../../client/api-error.ts";
import { drawLatency, latenciesFrom } from "./csi-names.ts";
import { refTo } from "./controller-events.ts";
import { errorText, SIDECAR_WORKERS, type PartContext } from "./part-context.ts";
import {
  claimClassName,
  createVolume,
  protectionFinalizerChange,
  provisionDecision,
  shouldDeleteVolume,
} from "./provision-decisions.ts";
import { removeFinalizerJsonPatch } from "./attach-decisions.ts";
import { renderVolume, volumeNameFor } from "./pv-object.ts";
import { PV_PROTECTION_FINALIZER, type ClaimObject, type VolumeObject } from "./storage-objects.ts";
import type { WorkQueue } from "./work-queue.ts";

/** How long retries wait after an InvalidArgument (the provisioner's slow set: --retry-interval-max). */
const INFEASIBLE_DELAY_MS = 300_000;

/** The provisioner part of the controller. */
export class Provisioner {
  private readonly p: PartContext;
  private readonly component: string;
  /** Claims with work queued, by uid (their latest object). */
  private readonly claims = new Map<string, ClaimObject>();
  /** Claims whose last attempt was infeasible: no retry before `until` while the class is the same. */
  private readonly slow = new Map<string, { until: number; classUid: string }>();
  private readonly volumes = new Map<string, VolumeObject>();
  private readonly claimQueue: WorkQueue;
  private readonly volumeQueue: WorkQueue;

  constructor(p: PartContext) {
    this.p = p;
    this.component = `${p.driver}_${p.identity}`;
    this.claimQueue = p.queue("claims", SIDECAR_WORKERS.provisioner, (uid) => this.syncClaim(uid));
    this.volumeQueue = p.queue("volumes", SIDECAR_WORKERS.provisioner, (name) => this.syncVolume(name));
  }

  /** A claim event. */
  onClaim(type: string, claim: ClaimObject): void {
    const uid = claim.metadata.uid ?? "";
    if (type === "DELETED") {
      this.claims.delete(uid);
      this.slow.delete(uid);
      return;
    }
    const d = provisionDecision(claim, this.p.driver, (n) => this.p.cache.classes.map.get(n));
    if (d.kind === "skip" && !this.claims.has(uid)) return;
    this.claims.set(uid, claim);
    this.claimQueue.add(uid);
  }

  /** After a relist: drops the queued claims whose uid it did not show (deleted meanwhile). */
  forgetClaimsBut(uids: ReadonlySet<string>): void {
    for (const uid of [...this.claims.keys()]) if (!uids.has(uid)) this.claims.delete(uid);
  }

  /** An event of one of the driver's PVs (after the cache has it). */
  onVolume(type: string, pv: VolumeObject): void {
    const name = pv.metadata.name;
    if (type === "DELETED") {
      this.volumes.delete(name);
      return;
    }
    if (!protectionFinalizerChange(pv) && !shouldDeleteVolume(pv) && !this.volumes.has(name)) return;
    this.volumes.set(name, pv);
    this.volumeQueue.add(name);
  }

  /** The last VolumeAttachment of `pv` is gone: a deletion waiting for it may go on. */
  detached(pvName: string): void {
    if (this.volumes.has(pvName)) this.volumeQueue.add(pvName);
  }

  private async syncClaim(uid: string): Promise<void> {
    const { p } = this;
    const claim = this.claims.get(uid);
    if (!claim) return;
    const className = claimClassName(claim);
    const cls = p.cache.classes.map.get(className);
    const slow = this.slow.get(uid);
    if (slow && cls && slow.classUid === (cls.metadata.uid ?? "")) {
      const wait = slow.until - p.ctx.clock.now();
      if (wait > 0) {
        this.claimQueue.addAfter(uid, wait);
        return;
      }
    }
    this.slow.delete(uid);
    const d = provisionDecision(claim, p.driver, (n) => p.cache.classes.map.get(n));
    if (d.kind === "retry") throw new Error(d.message);
    const pvName = volumeNameFor(uid);
    if (d.kind === "skip" || !cls || p.cache.volumes.map.has(pvName)) {
      this.drop(uid, claim);
      return;
    }
    const ref = refTo("PersistentVolumeClaim", "v1", claim.metadata);
    const event = (type: "Normal" | "Warning", reason: string, message: string): void =>
      p.events.record(this.component, ref, type, reason, message);
    event(
      "Normal",
      "Provisioning",
      `External provisioner is provisioning volume for claim "${claim.metadata.namespace}/${claim.metadata.name}"`,
    );
    const created = createVolume(
      claim,
      cls,
      d.selectedNode,
      () => p.cache.driverNodes(),
      (n) => !!p.cache.csiNodes.map.get(n),
    );
    if ("message" in created) {
      if (created.infeasible) {
        this.slow.set(uid, {
          until: p.ctx.clock.now() + INFEASIBLE_DELAY_MS,
          classUid: cls.metadata.uid ?? "",
        });
        event(
          "Warning",
          "ProvisioningFailed",
          `Volume provisioning failed with infeasible error. Retries will be delayed. ${created.message}`,
        );
      } else {
        event("Warning", "ProvisioningFailed", created.message);
      }
      throw new Error(created.message);
    }
    const lat = latenciesFrom(created.volumeContext);
    if (!("error" in lat)) await p.ctx.clock.sleep(drawLatency(lat.provision, p.ctx.random));
    if (!p.active()) return;
    const body = renderVolume({ claim, className, cls, created, driver: p.driver, identity: this.component });
    try {
      const pv = await p.ctx.request<VolumeObject>({
        method: "POST",
        path: "/api/v1/persistentvolumes",
        body,
      });
      p.cache.setVolume(pv);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    event("Normal", "ProvisioningSucceeded", `Successfully provisioned volume ${pvName}`);
    this.drop(uid, claim);
  }

  /** Forgets a claim's object unless a newer one came while it was processed. */
  private drop(uid: string, claim: ClaimObject): void {
    if (this.claims.get(uid) === claim) this.claims.delete(uid);
  }

  private async syncVolume(name: string): Promise<void> {
    const { p } = this;
    let pv = this.volumes.get(name);
    if (!pv) return;
    const seen = pv;
    const change = protectionFinalizerChange(pv);
    if (change) {
      const rest = (pv.metadata.finalizers ?? []).filter((f) => f !== PV_PROTECTION_FINALIZER);
      const finalizers = change === "add" ? [...rest, PV_PROTECTION_FINALIZER] : rest.length ? rest : null;
      pv = p.cache.setVolume(
        await p.ctx.request<VolumeObject>({
          method: "PATCH",
          path: `/api/v1/persistentvolumes/${name}`,
          patchType: "strategic",
          body: { metadata: { finalizers } },
        }),
      );
    }
    if (shouldDeleteVolume(pv)) await this.deleteVolume(pv);
    if (this.volumes.get(name) === seen) this.volumes.delete(name);
  }

  private async deleteVolume(pv: VolumeObject): Promise<void> {
    const { p } = this;
    const name = pv.metadata.name;
    const node = p.cache.attachedNode(name);
    if (node !== undefined) {
      const message = `persistentvolume ${name} is still attached to node ${node}`;
      p.events.record(
        this.component,
        refTo("PersistentVolume", "v1", pv.metadata),
        "Warning",
        "VolumeFailedDelete",
        message,
      );
      throw new Error(message);
    }
    await p.ctx.clock.sleep(drawLatency(p.cache.latencies(pv).delete, p.ctx.random));
    if (!p.active()) return;
    let deleted: VolumeObject;
    try {
      deleted = await p.ctx.request<VolumeObject>({
        method: "DELETE",
        path: `/api/v1/persistentvolumes/${name}`,
      });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const patch = removeFinalizerJsonPatch(deleted.metadata?.finalizers, PV_PROTECTION_FINALIZER);
    if (!patch) return;
    await p.ctx
      .request({ method: "PATCH", path: `/api/v1/persistentvolumes/${name}`, patchType: "json", body: patch })
      .catch((err: unknown) => {
        if (!isNotFound(err))
          throw new Error(`Failed to remove finalizer for persistentvolume: ${errorText(err)}`, {
            cause: err,
          });
      });
  }
}
