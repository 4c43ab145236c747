/*
 * The PersistentVolume the external-provisioner creates for a claim the hollow driver provisioned:
 * named `pvc-<claim uid>`, bound to the claim by claimRef (the PV controller completes the bind),
 * with the class's reclaim policy and mount options and the volume's node affinity. Pure.
 */
import { topologyKey } from "./csi-names.ts";
import type { CreatedVolume } from "./provision-decisions.ts";
import {
  ANN_DELETION_SECRET_NAME,
  ANN_DELETION_SECRET_NAMESPACE,
  ANN_PROVISIONED_BY,
  PROVISIONER_IDENTITY_KEY,
  PV_PROTECTION_FINALIZER,
  type ClaimObject,
  type ClassObject,
} from "./storage-objects.ts";
import { bytesQuantity } from "./volume-size.ts";

/** The PV's name for a claim (`getProvisionedVolumeNameForClaim`). */
export function volumeNameFor(claimUid: string): string {
  return `pvc-${claimUid}`;
}

/** What a PV is made from. */
export interface VolumeInput {
  readonly claim: ClaimObject;
  readonly className: string;
  readonly cls: ClassObject;
  readonly created: CreatedVolume;
  readonly driver: string;
  /** The provisioner's identity (`<ms>-<n>-<driver>`), recorded in the volume attributes. */
  readonly identity: string;
}

/** The PV as the external-provisioner (v5/v6, with its deletion-protection finalizer) writes it. */
export function renderVolume(v: VolumeInput): Record<string, unknown> {
  const { claim, cls, created } = v;
  const uid = claim.metadata.uid ?? "";
  const name = volumeNameFor(uid);
  const block = claim.spec.volumeMode === "Block";
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name,
      annotations: {
        [ANN_PROVISIONED_BY]: v.driver,
        [ANN_DELETION_SECRET_NAME]: "",
        [ANN_DELETION_SECRET_NAMESPACE]: "",
      },
      finalizers: [PV_PROTECTION_FINALIZER],
    },
    spec: {
      accessModes: claim.spec.accessModes,
      ...(cls.mountOptions?.length ? { mountOptions: cls.mountOptions } : {}),
      capacity: { storage: bytesQuantity(created.capacityBytes) },
      csi: {
        driver: v.driver,
        volumeHandle: name,
        ...(!block && created.fsType ? { fsType: created.fsType } : {}),
        volumeAttributes: { [PROVISIONER_IDENTITY_KEY]: v.identity, ...created.volumeContext },
      },
      persistentVolumeReclaimPolicy: cls.reclaimPolicy ?? "Delete",
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: topologyKey(v.driver), operator: "In", values: [created.node] }] },
          ],
        },
      },
      ...(claim.spec.volumeMode ? { volumeMode: claim.spec.volumeMode } : {}),
      storageClassName: v.className,
      claimRef: {
        kind: "PersistentVolumeClaim",
        namespace: claim.metadata.namespace,
        name: claim.metadata.name,
        uid,
        apiVersion: "v1",
        resourceVersion: claim.metadata.resourceVersion,
      },
    },
  };
}
