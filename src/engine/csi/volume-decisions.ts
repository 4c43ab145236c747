/*
 * What a kubelet's volume manager and CSI node-info manager decide for the hollow CSI driver's
 * node side, as pure functions: which of a pod's volumes are claims it must mount (the desired
 * state populator's `createVolumeSpec`), whether their PVC and PV let it (its errors, verbatim),
 * which plugin takes the PV, the messages of the FailedMount events, the operation executor's
 * back-off, the VolumeAttachment's name, what the node status's `volumesInUse` field becomes and
 * what the node-info manager writes on the Node and the CSINode (kubelet v1.36: volumemanager/,
 * volume/csi/, volume/util/operationexecutor/, nodeinfomanager/).
 */
import { createHash } from "node:crypto";
import { topologyKey, uniqueVolumeName, type CsiConfig } from "./csi-names.ts";

/** The annotation the node-info manager keeps on the Node: driver name -> node ID, as JSON. */
export const NODE_ID_ANNOTATION = "csi.volume.kubernetes.io/nodeid";

/** The parts of a raw pod spec (as the API server sends it) the populator reads. */
export interface PodVolumesSpec {
  readonly metadata: { readonly name: string; readonly namespace: string; readonly uid: string };
  readonly spec: {
    readonly volumes?: readonly {
      readonly name: string;
      readonly persistentVolumeClaim?: { readonly claimName: string; readonly readOnly?: boolean };
      readonly ephemeral?: unknown;
    }[];
    readonly containers: readonly UsesVolumes[];
    readonly initContainers?: readonly UsesVolumes[];
  };
}

interface UsesVolumes {
  readonly volumeMounts?: readonly { readonly name: string }[];
  readonly volumeDevices?: readonly { readonly name: string }[];
}

/** One claim-backed volume of a pod: its name in the pod, its PVC, whether a generic ephemeral volume made it. */
export interface PodClaim {
  readonly volume: string;
  readonly claim: string;
  readonly ephemeral: boolean;
}

/**
 * The pod's volumes backed by a PVC (`persistentVolumeClaim`, or generic `ephemeral` whose PVC is
 * `<pod>-<volume>`) that a container mounts or uses as a device: the populator skips the others.
 * Undefined when there are none (most pods), so a pod without claims keeps nothing.
 */
export function podClaims(pod: PodVolumesSpec): PodClaim[] | undefined {
  const vols = pod.spec.volumes;
  if (!vols?.some((v) => v.persistentVolumeClaim || v.ephemeral)) return undefined;
  const used = new Set<string>();
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const m of c.volumeMounts ?? []) used.add(m.name);
    for (const d of c.volumeDevices ?? []) used.add(d.name);
  }
  const out: PodClaim[] = [];
  for (const v of vols) {
    if (!used.has(v.name)) continue;
    if (v.persistentVolumeClaim)
      out.push({ volume: v.name, claim: v.persistentVolumeClaim.claimName, ephemeral: false });
    else if (v.ephemeral)
      out.push({ volume: v.name, claim: `${pod.metadata.name}-${v.name}`, ephemeral: true });
  }
  return out.length > 0 ? out : undefined;
}

/** The parts of a PVC the populator reads. */
export interface ClaimView {
  readonly metadata: {
    readonly uid?: string;
    readonly deletionTimestamp?: string;
    readonly ownerReferences?: readonly { readonly uid: string; readonly controller?: boolean }[];
  };
  readonly spec: { readonly volumeName?: string };
  readonly status?: { readonly phase?: string };
}

/** The parts of a PV the populator and the CSI plugin read. */
export interface VolumeView {
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly claimRef?: { readonly uid?: string };
    readonly csi?: {
      readonly driver: string;
      readonly volumeHandle: string;
      readonly volumeAttributes?: Readonly<Record<string, string>>;
    };
  };
}

/**
 * Why the populator cannot use a pod's PVC (`getPVCExtractPV`, and for a generic ephemeral volume
 * `ephemeral.VolumeIsForPod`), as it words it; undefined when it can.
 */
export function claimProblem(
  claim: ClaimView,
  ref: { readonly namespace: string; readonly claim: string; readonly ephemeral: boolean },
  pod: { readonly name: string; readonly uid: string },
): string | undefined {
  const why = ((): string | undefined => {
    if (claim.metadata.deletionTimestamp) return "PVC is being deleted";
    if (claim.status?.phase !== "Bound") return "PVC is not bound";
    if (!claim.spec.volumeName) return "PVC has empty pvc.Spec.VolumeName";
    if (ref.ephemeral && !claim.metadata.ownerReferences?.some((o) => o.controller && o.uid === pod.uid))
      return `PVC ${ref.namespace}/${ref.claim} was not created for pod ${ref.namespace}/${pod.name} (pod is not owner)`;
    return undefined;
  })();
  return why === undefined ? undefined : `error processing PVC ${ref.namespace}/${ref.claim}: ${why}`;
}

/** Why the populator cannot use the PV bound to a PVC (`getPVSpec`); undefined when it can. */
export function volumeProblem(
  pv: VolumeView,
  ref: { readonly namespace: string; readonly claim: string },
  claimUid: string | undefined,
): string | undefined {
  const name = pv.metadata.name;
  const why = !pv.spec.claimRef
    ? `found PV object ${name} but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim`
    : pv.spec.claimRef.uid !== claimUid
      ? `found PV object ${name} but its pv.Spec.ClaimRef.UID ${pv.spec.claimRef.uid ?? ""} does not point to claim.UID ${claimUid ?? ""}`
      : undefined;
  return why === undefined ? undefined : `error processing PVC ${ref.namespace}/${ref.claim}: ${why}`;
}

/** Which plugin of a hollow node takes a PV. */
export type VolumePlugin =
  /** The fleet's hollow driver: attached (when the CSIDriver requires it) and mounted. */
  | { readonly kind: "hollow"; readonly uniqueName: string; readonly attachable: boolean }
  /** Another CSI driver: the kubelet's CSI plugin takes it, but the driver never registered here. */
  | { readonly kind: "foreign"; readonly driver: string }
  /** Another volume plugin: a hollow node has none. */
  | { readonly kind: "none" };

/** The plugin that takes `pv` on a node of the fleet whose driver is `csi`. */
export function volumePlugin(
  pv: VolumeView,
  csi: Pick<CsiConfig, "driver" | "attachRequired">,
): VolumePlugin {
  const src = pv.spec.csi;
  if (!src) return { kind: "none" };
  if (src.driver !== csi.driver) return { kind: "foreign", driver: src.driver };
  return {
    kind: "hollow",
    uniqueName: uniqueVolumeName(src.driver, src.volumeHandle),
    attachable: csi.attachRequired,
  };
}

/** The populator's error for a PV no plugin takes (`AddPodToVolume`). */
export function noPluginError(pvName: string): string {
  return `failed to get Plugin from volumeSpec for volume "${pvName}" err=no volume plugin matched`;
}

/**
 * The operation executor's FailedMount for a PV of a CSI driver that is not registered on the
 * node: MountDevice cannot reach it (`attacher.MountDevice failed to create newCsiDriverClient`).
 */
export function unregisteredDriverMessage(pvName: string, driver: string): string {
  return `MountVolume.MountDevice failed for volume "${pvName}" : kubernetes.io/csi: attacher.MountDevice failed to create newCsiDriverClient: driver name ${driver} not found in the list of registered CSI drivers`;
}

/**
 * The pod worker's FailedMount when the populator could not add a pod's volumes
 * (`WaitForAttachAndMount` returns the populator's errors at once; Go prints the lists as `[a b]`).
 */
export function unableToMountMessage(input: {
  readonly unmounted: readonly string[];
  readonly unattached: readonly string[];
  readonly notProcessed: readonly string[];
  readonly errors: readonly string[];
}): string {
  const list = (xs: readonly string[]): string => `[${[...xs].sort().join(" ")}]`;
  return (
    `Unable to attach or mount volumes: unmounted volumes=${list(input.unmounted)}, ` +
    `unattached volumes=${list(input.unattached)}, failed to process volumes=${list(input.notProcessed)}: ` +
    input.errors.join("; ")
  );
}

/** The operation executor's first wait after a failed operation (nestedpendingoperations). */
export const FIRST_RETRY_MS = 500;
/** Its longest wait: 2 min 2 s. */
export const MAX_RETRY_MS = 122_000;

/** The wait after an operation failed, its previous wait having been `previousMs` (0: none). */
export function nextRetryMs(previousMs: number): number {
  return previousMs <= 0 ? FIRST_RETRY_MS : Math.min(MAX_RETRY_MS, previousMs * 2);
}

/** The pod worker's back-off after a sync failed (10 s, jittered up to +50 %). */
export function podSyncRetryMs(random: () => number): number {
  return 10_000 * (1 + 0.5 * random());
}

/** The VolumeAttachment's name for a volume on a node (`getAttachmentName`): `csi-` + sha256 hex. */
export function attachmentName(volumeHandle: string, driver: string, nodeName: string): string {
  return `csi-${createHash("sha256").update(`${volumeHandle}${driver}${nodeName}`).digest("hex")}`;
}

/** Whether `volumesAttached` (the attach/detach controller's, on the Node's status) lists `uniqueName`. */
export function listedAttached(
  attached: readonly { readonly name: string }[] | undefined,
  uniqueName: string,
): boolean {
  return attached?.some((a) => a.name === uniqueName) ?? false;
}

/**
 * What a status PATCH carries as `volumesInUse` (an atomic list): the list when there is one,
 * `null` to clear what the server has, nothing when both are empty (nodes without volumes send
 * no field at all, as before).
 */
export function volumesInUseField(
  inUse: readonly string[],
  serverHas: boolean,
): readonly string[] | null | undefined {
  if (inUse.length > 0) return inUse;
  return serverHas ? null : undefined;
}

/** The CSINode entry the node-info manager installs for the driver (`installDriverToCSINode`). */
export interface CsiNodeDriver {
  name: string;
  nodeID: string;
  topologyKeys: string[];
  allocatable?: { count: number };
}

/** The driver's CSINode entry on node `nodeName`. */
export function csiNodeDriver(
  csi: Pick<CsiConfig, "driver" | "maxVolumesPerNode">,
  nodeName: string,
): CsiNodeDriver {
  return {
    name: csi.driver,
    nodeID: nodeName,
    topologyKeys: [topologyKey(csi.driver)],
    ...(csi.maxVolumesPerNode > 0 ? { allocatable: { count: csi.maxVolumesPerNode } } : {}),
  };
}

/**
 * The CSINode's drivers with the driver installed, or undefined when it already is, with the same
 * node ID, topology keys and allocatable count (the node-info manager then writes nothing).
 */
export function driversWith(
  current:
    | readonly {
        name: string;
        nodeID?: string;
        topologyKeys?: readonly string[] | null;
        allocatable?: { count?: number } | null;
      }[]
    | null
    | undefined,
  want: CsiNodeDriver,
): object[] | undefined {
  const have = current?.find((d) => d.name === want.name);
  if (
    have &&
    have.nodeID === want.nodeID &&
    (have.topologyKeys ?? []).join(",") === want.topologyKeys.join(",") &&
    have.allocatable?.count === want.allocatable?.count
  )
    return undefined;
  return [...(current ?? []).filter((d) => d.name !== want.name), want];
}

/**
 * What the node-info manager adds to the Node's metadata (`updateNodeIDInNode`,
 * `updateTopologyLabels`): the driver's node ID in the annotation's JSON, the topology label;
 * undefined when the Node has both.
 */
export function nodeInfoPatch(
  meta: {
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  },
  driver: string,
  nodeName: string,
): { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined {
  const key = topologyKey(driver);
  const labels = meta.labels?.[key] === nodeName ? undefined : { [key]: nodeName };
  let ids: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(meta.annotations?.[NODE_ID_ANNOTATION] ?? "{}");
    if (parsed && typeof parsed === "object") ids = parsed as Record<string, string>;
  } catch {
    // A malformed annotation is overwritten, as the node-info manager's unmarshal error leaves only ours.
  }
  // Go marshals the map with its keys sorted.
  const merged: Record<string, string> = { ...ids, [driver]: nodeName };
  const sorted = Object.fromEntries(
    Object.keys(merged)
      .sort()
      .map((k) => [k, merged[k]!]),
  );
  const annotations = ids[driver] === nodeName ? undefined : { [NODE_ID_ANNOTATION]: JSON.stringify(sorted) };
  if (!labels && !annotations) return undefined;
  return { ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) };
}
