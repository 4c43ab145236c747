/*
 * What the external-provisioner decides, as functions of the objects it sees (sig-storage-lib-
 * external-provisioner's shouldProvision/shouldDelete, the CSI provisioner's prepareProvision and
 * topology, and the hollow driver's CreateVolume): which claims to provision and where, what the
 * driver answers, which volumes to delete. Pure.
 */
import { latenciesFrom } from "./csi-names.ts";
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  PV_PROTECTION_FINALIZER,
  type ClaimObject,
  type ClassObject,
  type VolumeObject,
} from "./storage-objects.ts";
import { allocatedBytes, quantityBytes } from "./volume-size.ts";

/** The StorageClass a claim asks for (the beta annotation first, as `GetPersistentVolumeClaimClass`). */
export function claimClassName(claim: ClaimObject): string {
  return (
    claim.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] ??
    claim.spec.storageClassName ??
    ""
  );
}

/** The provisioner the PV controller annotated the claim for, if any. */
export function claimProvisioner(claim: ClaimObject): string | undefined {
  const a = claim.metadata.annotations;
  return a?.[ANN_STORAGE_PROVISIONER] ?? a?.[ANN_BETA_STORAGE_PROVISIONER];
}

/** Whether to provision `claim` now (`shouldProvision`), and for which node when the scheduler chose one. */
export type ProvisionDecision =
  | { readonly kind: "provision"; readonly selectedNode: string | undefined }
  | { readonly kind: "skip" }
  /** Retried with back-off, no event (the class can be created later). */
  | { readonly kind: "retry"; readonly message: string };

/** `shouldProvision` then the class checks of `provisionClaimOperation`. */
export function provisionDecision(
  claim: ClaimObject,
  driver: string,
  classOf: (name: string) => ClassObject | undefined,
): ProvisionDecision {
  if (claim.spec.volumeName) return { kind: "skip" };
  if (claim.metadata.deletionTimestamp) return { kind: "skip" };
  if (claimProvisioner(claim) !== driver) return { kind: "skip" };
  const name = claimClassName(claim);
  const cls = classOf(name);
  if (!cls) return { kind: "retry", message: `storageClass "${name}" not found` };
  const selected = claim.metadata.annotations?.[ANN_SELECTED_NODE] || undefined;
  if (cls.volumeBindingMode === "WaitForFirstConsumer" && !selected) return { kind: "skip" };
  // The class's provisioner changed since the PV controller annotated the claim: not ours.
  if (cls.provisioner !== driver) return { kind: "skip" };
  return { kind: "provision", selectedNode: selected };
}

/** `csi.storage.k8s.io/` parameters the external-provisioner knows (fstype and the secrets). */
const RESERVED = new Set(
  [
    "fstype",
    ...[
      "provisioner-",
      "controller-publish-",
      "node-stage-",
      "node-publish-",
      "controller-expand-",
      "node-expand-",
      "controller-modify-",
      "",
    ].flatMap((p) => [`${p}secret-name`, `${p}secret-namespace`]),
  ].map((k) => `csi.storage.k8s.io/${k}`),
);
const FSTYPE_KEY = "csi.storage.k8s.io/fstype";

/** A volume the hollow driver created (CreateVolume's answer, with what the PV needs of the request). */
export interface CreatedVolume {
  readonly capacityBytes: number;
  /** The node the volume is accessible from (its topology segment). */
  readonly node: string;
  readonly fsType: string;
  /** The driver's volume context: the class's parameters without the `csi.storage.k8s.io/` ones. */
  readonly volumeContext: Record<string, string>;
}

/** Why provisioning failed; `infeasible` is a CSI InvalidArgument (retries delayed). */
export interface ProvisionFailure {
  readonly message: string;
  readonly infeasible: boolean;
}

/**
 * The request the external-provisioner prepares and the hollow driver's CreateVolume answer:
 * the fstype, the topology (the selected node, or for Immediate binding one node with the driver
 * chosen as the provisioner's StatefulSet spreading does), the parameters stripped of the
 * reserved ones, validated by the driver (an unknown parameter or bad latency is InvalidArgument).
 */
export function createVolume(
  claim: ClaimObject,
  cls: ClassObject,
  selectedNode: string | undefined,
  driverNodes: () => readonly string[],
  hasDriver: (node: string) => boolean,
): CreatedVolume | ProvisionFailure {
  const params = cls.parameters ?? {};
  let fsType = "";
  let found = 0;
  for (const [k, v] of Object.entries(params)) {
    if (k.toLowerCase() === "fstype" || k === FSTYPE_KEY) {
      fsType = v;
      found++;
    }
  }
  if (found > 1)
    return fail(`fstype specified in parameters with both "fstype" and "${FSTYPE_KEY}" keys`, false);
  const request = quantityBytes(claim.spec.resources?.requests?.["storage"]);
  if (request === undefined) return fail("claim has no storage request", false);
  let node: string;
  if (selectedNode !== undefined) {
    if (!hasDriver(selectedNode))
      return fail(
        `error generating accessibility requirements: no topology key found for node ${selectedNode}`,
        false,
      );
    node = selectedNode;
  } else {
    const nodes = [...driverNodes()].sort();
    if (nodes.length === 0)
      return fail("error generating accessibility requirements: no available topology found", false);
    node = nodes[spreadIndex(claim.metadata.name, nodes.length)]!;
  }
  const volumeContext: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (!k.startsWith("csi.storage.k8s.io/")) volumeContext[k] = v;
    else if (!RESERVED.has(k))
      return fail(
        `failed to strip CSI Parameters of prefixed keys: found unknown parameter key "${k}" with reserved namespace csi.storage.k8s.io/`,
        false,
      );
  }
  const lat = latenciesFrom(volumeContext);
  if ("error" in lat) return fail(`rpc error: code = InvalidArgument desc = ${lat.error}`, true);
  return { capacityBytes: allocatedBytes(request), node, fsType, volumeContext };
}

function fail(message: string, infeasible: boolean): ProvisionFailure {
  return { message, infeasible };
}

/**
 * The external-provisioner's Immediate-binding spreading (`getPVCNameHashAndIndexOffset`): the
 * FNV-1 hash of the claim's name without its StatefulSet ordinal (only the StatefulSet part of
 * `claim-set-3`), plus the ordinal, modulo the number of topologies.
 */
export function spreadIndex(pvcName: string, count: number): number {
  let hashed = pvcName;
  let index = 0;
  const dash = pvcName.lastIndexOf("-");
  if (dash !== -1 && /^\d+$/.test(pvcName.slice(dash + 1)) && Number(pvcName.slice(dash + 1)) < 2 ** 32) {
    index = Number(pvcName.slice(dash + 1));
    hashed = pvcName.slice(0, dash);
    const dash2 = hashed.lastIndexOf("-");
    if (dash2 !== -1) hashed = hashed.slice(dash2 + 1);
  }
  return ((fnv1(hashed) + index) >>> 0) % count;
}

/** 32-bit FNV-1 (Go's `fnv.New32`) of a string's UTF-8 bytes. */
export function fnv1(s: string): number {
  let h = 2166136261;
  for (const b of new TextEncoder().encode(s)) {
    h = Math.imul(h, 16777619) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h;
}

/** Whether `pv` is one this provisioner answers for (`isProvisionerForVolume`). */
export function isOurVolume(pv: VolumeObject, driver: string): boolean {
  const by = pv.metadata.annotations?.[ANN_PROVISIONED_BY];
  if (by !== undefined) return by === driver;
  return pv.spec.csi?.driver === driver;
}

/** The change `handleProtectionFinalizer` makes to the PV's finalizers, if any. */
export function protectionFinalizerChange(pv: VolumeObject): "add" | "remove" | undefined {
  const has = pv.metadata.finalizers?.includes(PV_PROTECTION_FINALIZER) ?? false;
  const policy = pv.spec.persistentVolumeReclaimPolicy;
  if (policy === "Retain" || policy === "Recycle") return has ? "remove" : undefined;
  if (policy === "Delete" && !has && !pv.metadata.deletionTimestamp && pv.status?.phase === "Bound")
    return "add";
  return undefined;
}

/** `shouldDelete`: a Released volume with reclaim Delete whose backing volume is not deleted yet. */
export function shouldDeleteVolume(pv: VolumeObject): boolean {
  const has = pv.metadata.finalizers?.includes(PV_PROTECTION_FINALIZER) ?? false;
  if (!has && pv.metadata.deletionTimestamp) return false;
  return pv.status?.phase === "Released" && pv.spec.persistentVolumeReclaimPolicy === "Delete";
}
