/*
 * The parts of the storage API objects the hollow CSI controller reads (core/v1 PVC and PV,
 * storage.k8s.io/v1 StorageClass, VolumeAttachment and CSINode), and the annotations and
 * finalizers the external-provisioner, external-attacher and external-resizer use. Types only.
 */

/** Object metadata as the controller reads it. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
}

/** A PVC condition (`Resizing`, `FileSystemResizePending`, ...). */
export interface ClaimCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  message?: string;
}

/** A PersistentVolumeClaim. */
export interface ClaimObject {
  metadata: ObjectMeta;
  spec: {
    storageClassName?: string | null;
    volumeName?: string;
    accessModes?: string[];
    volumeMode?: string;
    resources?: { requests?: Record<string, string> };
  };
  status?: {
    phase?: string;
    capacity?: Record<string, string>;
    conditions?: ClaimCondition[];
    allocatedResources?: Record<string, string>;
    allocatedResourceStatuses?: Record<string, string>;
  };
}

/** A PersistentVolume. */
export interface VolumeObject {
  metadata: ObjectMeta;
  spec: {
    capacity?: Record<string, string>;
    claimRef?: { namespace?: string; name?: string; uid?: string };
    persistentVolumeReclaimPolicy?: string;
    storageClassName?: string;
    csi?: { driver: string; volumeHandle: string; volumeAttributes?: Record<string, string> };
  };
  status?: { phase?: string };
}

/** A StorageClass. */
export interface ClassObject {
  metadata: ObjectMeta;
  provisioner: string;
  parameters?: Record<string, string>;
  reclaimPolicy?: string;
  mountOptions?: string[];
  volumeBindingMode?: string;
  allowVolumeExpansion?: boolean;
}

/** A VolumeAttachment. */
export interface AttachmentObject {
  metadata: ObjectMeta;
  spec: { attacher: string; nodeName: string; source: { persistentVolumeName?: string } };
  status?: { attached?: boolean; attachError?: { message?: string } };
}

/** A CSINode. */
export interface CsiNodeObject {
  metadata: ObjectMeta;
  spec?: { drivers?: { name: string; nodeID?: string; topologyKeys?: string[] | null }[] | null };
}

/** The PV controller's annotation naming the provisioner a claim waits for (and its beta form). */
export const ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner";
export const ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner";
/** The scheduler's node for a WaitForFirstConsumer claim. */
export const ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node";
/** The provisioner that made a PV. */
export const ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
/** The external-provisioner's deletion-secret annotations (written on every PV, empty without secrets). */
export const ANN_DELETION_SECRET_NAME = "volume.kubernetes.io/provisioner-deletion-secret-name";
export const ANN_DELETION_SECRET_NAMESPACE = "volume.kubernetes.io/provisioner-deletion-secret-namespace";
/** The external-provisioner's finalizer on the PVs it provisioned with reclaim Delete. */
export const PV_PROTECTION_FINALIZER = "external-provisioner.volume.kubernetes.io/finalizer";
/** The volume attribute naming the provisioner instance that created a volume. */
export const PROVISIONER_IDENTITY_KEY = "storage.kubernetes.io/csiProvisionerIdentity";
/** The external-attacher's record of the node ID it attached a volume to. */
export const ANN_VA_NODE_ID = "csi.alpha.kubernetes.io/node-id";
/** Set by the external-resizer when the node need not expand the file system. */
export const ANN_NODE_EXPANSION_NOT_REQUIRED = "volume.kubernetes.io/node-expansion-not-required";

/** The external-attacher's finalizer (on VolumeAttachments and PVs): `external-attacher/<driver, sanitized>`. */
export function attacherFinalizer(driver: string): string {
  let name = driver.replace(/[^a-zA-Z0-9-]/g, "-");
  if (name.endsWith("-")) name += "X";
  return `external-attacher/${name}`;
}
