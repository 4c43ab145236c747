/*
 * What the elected controller keeps of the cluster between events, as little as the decisions
 * need: the StorageClasses, which nodes run the driver (CSINodes), the driver's PVs trimmed to the
 * fields the provisioner, attacher and resizer read (volume attributes shared between PVs), and
 * which PV each of the driver's VolumeAttachments attaches. Claims are not kept: a claim's
 * object stays only while it has work queued.
 */
import { DEFAULT_LATENCIES, latenciesFrom, type CsiLatencies } from "./csi-names.ts";
import {
  ANN_PROVISIONED_BY,
  type AttachmentObject,
  type ClassObject,
  type CsiNodeObject,
  type VolumeObject,
} from "./storage-objects.ts";

/** A watched collection's relist: entries not seen again before the list ends are gone. */
export class RelistSweep<V> {
  private seen: Set<string> | undefined;
  readonly map = new Map<string, V>();

  /** A full list starts. */
  start(): void {
    this.seen = new Set();
  }

  /** `key` is (still) there. */
  set(key: string, value: V): void {
    this.seen?.add(key);
    this.map.set(key, value);
  }

  /** The list has ended: drops what it did not show; returns the keys dropped. */
  end(): string[] {
    const seen = this.seen;
    this.seen = undefined;
    if (!seen) return [];
    const gone = [...this.map.keys()].filter((k) => !seen.has(k));
    for (const k of gone) this.map.delete(k);
    return gone;
  }
}

/** The controller's view of the cluster. */
export class ControllerCache {
  readonly driver: string;
  readonly classes = new RelistSweep<ClassObject>();
  /** Node name -> the driver's node ID there, null when the CSINode does not list the driver. */
  readonly csiNodes = new RelistSweep<string | null>();
  readonly volumes = new RelistSweep<VolumeObject>();
  /** VolumeAttachment name -> [PV name, node name], for the driver's attachments. */
  readonly attachments = new RelistSweep<readonly [string, string]>();
  private readonly attachedCount = new Map<string, number>();
  private readonly interned = new Map<string, unknown>();

  constructor(driver: string) {
    this.driver = driver;
  }

  /** Nodes whose CSINode lists the driver. */
  driverNodes(): string[] {
    const out: string[] = [];
    for (const [name, id] of this.csiNodes.map) if (id !== null) out.push(name);
    return out;
  }

  /** Records a CSINode. */
  setCsiNode(n: CsiNodeObject): void {
    const d = n.spec?.drivers?.find((x) => x.name === this.driver);
    this.csiNodes.set(n.metadata.name, d ? d.nodeID || n.metadata.name : null);
  }

  /** Whether `pv` belongs to the driver (provisioned by it, or a CSI volume of it). */
  ours(pv: VolumeObject): boolean {
    const by = pv.metadata.annotations?.[ANN_PROVISIONED_BY];
    return by === this.driver || pv.spec.csi?.driver === this.driver;
  }

  /**
   * Records one of the driver's PVs, trimmed to what the parts read; the parts many PVs have alike
   * (annotations, finalizers, capacity, CSI source, phase) are shared. Returns the trimmed object.
   */
  setVolume(pv: VolumeObject): VolumeObject {
    const m = pv.metadata;
    const { capacity, claimRef, csi, persistentVolumeReclaimPolicy: policy } = pv.spec;
    const by = m.annotations?.[ANN_PROVISIONED_BY];
    const phase = pv.status?.phase;
    const trimmed: VolumeObject = {
      metadata: {
        name: m.name,
        ...(m.uid ? { uid: m.uid } : {}),
        ...(by !== undefined
          ? { annotations: this.shared(`a${by}`, () => ({ [ANN_PROVISIONED_BY]: by })) }
          : {}),
        ...(m.finalizers
          ? { finalizers: this.shared(`f${m.finalizers.join("\u0000")}`, () => m.finalizers!) }
          : {}),
        ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      },
      spec: {
        ...(capacity ? { capacity: this.shared(`c${JSON.stringify(capacity)}`, () => capacity) } : {}),
        ...(claimRef ? { claimRef: { namespace: claimRef.namespace, uid: claimRef.uid } } : {}),
        ...(policy ? { persistentVolumeReclaimPolicy: this.shared(`p${policy}`, () => policy) } : {}),
        ...(csi
          ? {
              csi: this.shared(`s${csi.driver}\u0000${JSON.stringify(csi.volumeAttributes ?? {})}`, () => ({
                driver: csi.driver,
                volumeHandle: "",
                ...(csi.volumeAttributes ? { volumeAttributes: csi.volumeAttributes } : {}),
              })),
            }
          : {}),
      },
      ...(phase ? { status: this.shared(`h${phase}`, () => ({ phase })) } : {}),
    };
    this.volumes.set(m.name, trimmed);
    return trimmed;
  }

  /** One object for every equal `key` (a few thousand kinds at most: beyond, each keeps its own). */
  private shared<T>(key: string, make: () => T): T {
    const hit = this.interned.get(key) as T | undefined;
    if (hit !== undefined) return hit;
    const made = make();
    if (this.interned.size < 4096) this.interned.set(key, made);
    return made;
  }

  /** The modelled latencies of a volume (its volume attributes, else the defaults). */
  latencies(pv: VolumeObject | undefined): CsiLatencies {
    const l = latenciesFrom(pv?.spec.csi?.volumeAttributes, { strict: false });
    return "error" in l ? DEFAULT_LATENCIES : l;
  }

  /** Records one of the driver's VolumeAttachments (or its deletion). */
  setAttachment(va: AttachmentObject, deleted: boolean): void {
    const name = va.metadata.name;
    const old = this.attachments.map.get(name);
    if (old) this.count(old[0], -1);
    if (deleted) {
      this.attachments.map.delete(name);
      return;
    }
    const pv = va.spec.source.persistentVolumeName ?? "";
    this.attachments.set(name, [pv, va.spec.nodeName]);
    this.count(pv, 1);
  }

  /** Drops attachments a relist did not show. */
  sweepAttachments(): void {
    const before = new Map(this.attachments.map);
    for (const name of this.attachments.end()) this.count(before.get(name)![0], -1);
  }

  /** A node the PV is attached to by some VolumeAttachment, if any. */
  attachedNode(pvName: string): string | undefined {
    if (!this.attachedCount.get(pvName)) return undefined;
    for (const [pv, node] of this.attachments.map.values()) if (pv === pvName) return node;
    return undefined;
  }

  private count(pv: string, d: number): void {
    const n = (this.attachedCount.get(pv) ?? 0) + d;
    if (n > 0) this.attachedCount.set(pv, n);
    else this.attachedCount.delete(pv);
  }
}
