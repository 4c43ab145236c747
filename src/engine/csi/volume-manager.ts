/*
 * A hollow node's volume manager for the fleet's CSI driver, as a kubelet's runs for pods with
 * PVC-backed volumes: the desired-state populator reads each claim and its PV; the reconciler
 * verifies an attachable volume attached (once the node status reported it in use, the Node's
 * `status.volumesAttached` must list it) and mounts it (the CSI attacher's wait for the
 * VolumeAttachment, the mount's modelled time); the pod's sandbox waits until all are mounted.
 * A terminated pod's volumes are unmounted; a volume no pod uses leaves `volumesInUse`. Decisions
 * are volume-decisions.ts's; this is the I/O. Created on a node's first pod with claims: other
 * nodes carry none of it.
 */
import { describeError } from "../../kernel/errors.ts";
import type { NodeHandle, VolumesInUse } from "../node-handle.ts";
import type { PodObject } from "../pod-object.ts";
import {
  DEFAULT_LATENCIES,
  drawLatency,
  latenciesFrom,
  uniqueVolumeName,
  type CsiConfig,
  type LatencyRange,
} from "./csi-names.ts";
import {
  attachmentName,
  listedAttached,
  nextRetryMs,
  podSyncRetryMs,
  unableToMountMessage,
  unregisteredDriverMessage,
  type PodClaim,
  type VolumeView,
} from "./volume-decisions.ts";
import { readPodVolumes } from "./volume-populator.ts";

/** The parts of a pod's state the volume manager reads. */
export interface VolumePod {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly pod: PodObject;
  readonly alive: boolean;
  readonly deleting: boolean;
  /** Its claim-backed volumes (volume-decisions.ts's `podClaims`). */
  readonly claims?: readonly PodClaim[] | undefined;
}

/** One volume in the node's desired (and actual) state. */
interface Volume {
  readonly key: string;
  readonly pv: string;
  readonly handle: string;
  /** The hollow driver's volume with attach required: reported in use, verified attached. */
  readonly attachable: boolean;
  /** A CSI driver that never registered on this node: its mounts fail. */
  readonly foreignDriver: string | undefined;
  readonly mount: LatencyRange;
  readonly unmount: LatencyRange;
  /** Pods (uids) that use it. */
  readonly pods: Set<string>;
  reportedInUse: boolean;
  attached: boolean;
  verifying: boolean;
  retryMs: number;
}

/** One pod with claims. */
interface PodEntry {
  readonly st: VolumePod;
  resume: (() => void) | undefined;
  volumes: Volume[];
  /** Each volume's name in the pod (its outer volume spec name), by index. */
  names: string[];
  /** Volumes (keys) mounted for the pod, and those with a mount under way (a few: arrays, not sets). */
  readonly mounted: string[];
  readonly busy: string[];
  phase: "populating" | "mounting" | "mounted" | "unmounting";
  retryMs: number;
  unmounted?: Promise<void>;
}

/** The volume manager of one hollow node (kubelet v1.36 volumemanager/, volume/csi/). */
export class NodeVolumes implements VolumesInUse {
  private readonly node: NodeHandle;
  private readonly csi: CsiConfig;
  private readonly volumes = new Map<string, Volume>();
  private readonly pods = new Map<string, PodEntry>();
  /** Running pods adopted after a restart whose volumes are still being read back. */
  private adopting = 0;
  /** The node's pods are known (the populator has seen them all): what is not in use can be cleared. */
  private synced: boolean;

  /** `synced` false: made before the node's pods were listed (for volumes the server lists in use). */
  constructor(node: NodeHandle, csi: CsiConfig, synced = true) {
    this.node = node;
    this.csi = csi;
    this.synced = synced;
  }

  /** The node's pods have been listed. */
  markSynced(): void {
    this.synced = true;
  }

  /**
   * The node status's `volumesInUse` (`GetVolumesInUse`: attachable volumes desired or still
   * attached, sorted); undefined until the volumes of adopted pods are known (the kubelet's
   * reconciler has not synced its states: the field is left as it is).
   */
  inUse(): string[] | undefined {
    if (!this.synced || this.adopting > 0) return undefined;
    const out: string[] = [];
    for (const v of this.volumes.values()) if (v.attachable) out.push(v.key);
    return out.sort();
  }

  /** A status write with `volumesInUse` = `names` succeeded (`MarkVolumesAsReportedInUse`). */
  markReportedInUse(names: readonly string[]): void {
    const set = new Set(names);
    for (const v of this.volumes.values()) v.reportedInUse = set.has(v.key);
  }

  /**
   * Whether the pod's volumes are all mounted (`WaitForAttachAndMount`); when not, they are being
   * set up and `resume` is called once they are.
   */
  ensureMounted(st: VolumePod, resume: () => void): boolean {
    // An entry still unmounting belongs to the pod as it was before it was forgotten and seen
    // again (a relist, a status write's conflict): the pod as seen now gets an entry of its own.
    const e = this.live(this.pods.get(st.uid)) ? this.pods.get(st.uid) : undefined;
    if (e?.phase === "mounted") return true;
    if (e) {
      e.resume = resume;
      return false;
    }
    // The populator adds no volume of a pod that is gone or whose containers must terminate (its
    // deletion is seen); a forgotten pod's entry would never be released.
    if (st.deleting || !st.alive) return false;
    const entry = this.entry(st, resume);
    void this.populate(entry);
    return false;
  }

  /** A running pod adopted after a restart: its volumes count as attached and mounted (reconstructed). */
  adoptMounted(st: VolumePod): void {
    if (this.live(this.pods.get(st.uid))) return;
    const e = this.entry(st, undefined);
    this.adopting++;
    void this.populate(e, true);
  }

  /**
   * Unmounts the pod's volumes (its containers have stopped, or it is gone): each takes its unmount
   * time; then a volume no other pod uses leaves the node's state (and `volumesInUse`).
   */
  unmount(uid: string): Promise<void> {
    const e = this.pods.get(uid);
    if (!e) return Promise.resolve();
    if (e.unmounted) return e.unmounted;
    e.phase = "unmounting";
    const { random } = this.node.ctx;
    const ms = Math.max(
      0,
      ...e.volumes.filter((v) => e.mounted.includes(v.key)).map((v) => drawLatency(v.unmount, random)),
    );
    e.unmounted = this.delay(ms).then(() => this.release(e));
    return e.unmounted;
  }

  private entry(st: VolumePod, resume: (() => void) | undefined): PodEntry {
    const e: PodEntry = {
      st,
      resume,
      volumes: [],
      names: [],
      mounted: [],
      busy: [],
      phase: "populating",
      retryMs: 0,
    };
    this.pods.set(st.uid, e);
    return e;
  }

  private release(e: PodEntry): void {
    const current = this.pods.get(e.st.uid);
    if (current === e) this.pods.delete(e.st.uid);
    for (const v of e.volumes) {
      // The same pod seen again has an entry of its own that uses the volume: it stays.
      if (current && current !== e && current.volumes.includes(v)) continue;
      v.pods.delete(e.st.uid);
      if (v.pods.size === 0 && this.volumes.get(v.key) === v) this.volumes.delete(v.key);
    }
  }

  private live(e: PodEntry | undefined): e is PodEntry {
    return e !== undefined && e.phase !== "unmounting" && e.st.alive && !this.node.stopped;
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => this.node.ctx.queue.after(ms, resolve));
  }

  /** The populator: the pod's claims and PVs; the volumes go into the desired state. */
  private async populate(e: PodEntry, adopted = false): Promise<void> {
    const { st } = e;
    const ns = st.namespace;
    const { found: read, errors, notProcessed } = await readPodVolumes(this.node, st, this.csi);
    if (adopted) this.adopting--;
    // Gone meanwhile, or terminating (the populator does not (re)add the volumes of a pod that
    // cannot start containers): nothing of it enters the node's state.
    if (!this.live(e) || (st.deleting && !adopted)) return;
    const found = read.map((r) => ({ v: this.volume(r.pv, r.foreignDriver, r.attachable), name: r.name }));
    for (const { v, name } of found) {
      if (!e.volumes.includes(v)) {
        e.volumes.push(v);
        e.names.push(name);
      }
      v.pods.add(st.uid);
    }
    if (adopted) {
      for (const { v } of found) {
        v.attached ||= v.attachable;
        if (!e.mounted.includes(v.key)) e.mounted.push(v.key);
      }
      e.phase = "mounted";
      return;
    }
    if (errors.length > 0) {
      // WaitForAttachAndMount returns the populator's errors; the pod worker records them and syncs
      // the pod again after its back-off (the populator reads the claims again meanwhile).
      this.node.log.warn({ pod: `${ns}/${st.name}`, errors }, "unable to attach or mount volumes");
      const volumes = (st.claims ?? []).map((c) => c.volume);
      this.failedMount(
        st,
        unableToMountMessage({
          unmounted: volumes,
          unattached: e.names.filter((_, i) => e.volumes[i]!.attachable && !e.volumes[i]!.attached),
          notProcessed,
          errors,
        }),
      );
      this.node.ctx.queue.after(podSyncRetryMs(this.node.ctx.random), () => {
        if (this.live(e)) void this.populate(e);
      });
      return;
    }
    e.phase = "mounting";
    for (const v of e.volumes) this.mountVolume(e, v);
  }

  /** The desired state's entry for a PV (shared by every pod of the node that uses it). */
  private volume(pv: VolumeView, foreignDriver: string | undefined, attachable: boolean): Volume {
    const src = pv.spec.csi!;
    const key = uniqueVolumeName(src.driver, src.volumeHandle);
    const have = this.volumes.get(key);
    if (have) return have;
    // The provisioner copied the class's latency parameters into the volume's attributes.
    const lat = latenciesFrom(src.volumeAttributes, { strict: false });
    const l = "error" in lat ? DEFAULT_LATENCIES : lat;
    const v: Volume = {
      key,
      pv: pv.metadata.name,
      handle: src.volumeHandle,
      attachable,
      foreignDriver,
      mount: l.mount,
      unmount: l.unmount,
      pods: new Set(),
      reportedInUse: false,
      attached: false,
      verifying: false,
      retryMs: 0,
    };
    this.volumes.set(key, v);
    return v;
  }

  /** The reconciler's MountVolume for one of the pod's volumes (after the attach is verified). */
  private mountVolume(e: PodEntry, v: Volume): void {
    if (!this.live(e) || e.mounted.includes(v.key) || e.busy.includes(v.key)) return;
    if (v.attachable && !v.attached) {
      this.verifyAttached(v);
      return;
    }
    e.busy.push(v.key);
    const { ctx } = this.node;
    const attempt = async (): Promise<void> => {
      if (v.foreignDriver !== undefined) {
        this.failedMount(e.st, unregisteredDriverMessage(v.pv, v.foreignDriver));
        throw new Error(`driver ${v.foreignDriver} is not registered on this node`);
      }
      if (v.attachable) {
        // The CSI attacher's WaitForAttach, then SetUp's publish context: both read the VolumeAttachment.
        const path = `/apis/storage.k8s.io/v1/volumeattachments/${attachmentName(v.handle, this.csi.driver, this.node.id.name)}`;
        const va = await this.node.api<{ status?: { attached?: boolean } }>({ method: "GET", path });
        if (!va.status?.attached) throw new Error(`volume ${v.handle} is not attached yet`);
        await this.node.api({ method: "GET", path });
      }
      await this.delay(drawLatency(v.mount, ctx.random));
    };
    attempt().then(
      () => {
        drop(e.busy, v.key);
        if (!this.live(e)) return;
        e.mounted.push(v.key);
        e.retryMs = 0;
        if (e.volumes.every((x) => e.mounted.includes(x.key))) {
          e.phase = "mounted";
          const resume = e.resume;
          e.resume = undefined;
          resume?.();
        }
      },
      (err: unknown) => {
        drop(e.busy, v.key);
        if (!this.live(e)) return;
        e.retryMs = nextRetryMs(e.retryMs);
        this.node.log.debug(
          { pod: `${e.st.namespace}/${e.st.name}`, volume: v.pv, err: describeError(err) },
          "MountVolume failed; retrying",
        );
        ctx.queue.after(e.retryMs, () => this.mountVolume(e, v));
      },
    );
  }

  /**
   * The reconciler's VerifyControllerAttachedVolume: it fails until a status write reported the
   * volume in use, then GETs the Node until the attach/detach controller lists the volume in
   * `status.volumesAttached`; each failure doubles the wait (0.5 s to 2 min 2 s).
   */
  private verifyAttached(v: Volume): void {
    if (v.verifying) return;
    v.verifying = true;
    const { ctx } = this.node;
    const attempt = async (): Promise<void> => {
      if (v.pods.size === 0 || this.volumes.get(v.key) !== v || this.node.stopped) {
        v.verifying = false;
        return;
      }
      let attached = false;
      if (v.reportedInUse) {
        try {
          const node = await this.node.api<{ status?: { volumesAttached?: { name: string }[] } }>({
            method: "GET",
            path: `/api/v1/nodes/${this.node.id.name}`,
          });
          attached = listedAttached(node.status?.volumesAttached, v.key);
        } catch (err) {
          this.node.log.debug(
            { volume: v.pv, err: describeError(err) },
            "VerifyControllerAttachedVolume failed fetching node",
          );
        }
      }
      if (!attached) {
        v.retryMs = nextRetryMs(v.retryMs);
        ctx.queue.after(v.retryMs, attempt);
        return;
      }
      v.attached = true;
      v.verifying = false;
      v.retryMs = 0;
      for (const uid of v.pods) {
        const e = this.pods.get(uid);
        if (e) this.mountVolume(e, v);
      }
    };
    ctx.queue.after(0, attempt);
  }

  private failedMount(st: VolumePod, message: string): void {
    this.node.ctx.events?.podEvent(this.node.id.name, st.pod, "Warning", "FailedMount", message);
  }
}

/** Removes `x` from `xs`. */
function drop(xs: string[], x: string): void {
  const i = xs.indexOf(x);
  if (i >= 0) xs.splice(i, 1);
}
