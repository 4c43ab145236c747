/**
 * The objects of a fleet's hollow CSI driver in the cluster its nodes register into: the
 * CSIDriver and the StorageClass (the cluster's default only where it has none). Pure; the RBAC
 * the driver's parts need is in objects.ts.
 */
import { DEFAULT_CSI_DRIVER } from "../engine/csi/csi-names.ts";
import { ownedLabels, type KubeObject } from "./objects.ts";
import type { FleetSpec, FleetStorage } from "./spec.ts";

/** The annotation that makes a StorageClass the cluster's default (DefaultStorageClass admission). */
export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
/** The beta annotation the admission plugin still honours. */
const BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class";

/** The parts of a StorageClass the fleet reads. */
export interface StorageClassItem {
  readonly metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  readonly provisioner?: string;
}

/** Whether a StorageClass is marked default (as the DefaultStorageClass admission plugin reads it). */
export function isDefaultClass(cls: Pick<StorageClassItem, "metadata">): boolean {
  const a = cls.metadata.annotations ?? {};
  return a[DEFAULT_CLASS_ANNOTATION] === "true" || a[BETA_DEFAULT_CLASS_ANNOTATION] === "true";
}

/** Whether a driver name is a hollow CSI driver (of any fleet). */
export function isHollowDriver(name: string | undefined): boolean {
  return name === DEFAULT_CSI_DRIVER || (name?.endsWith(`.${DEFAULT_CSI_DRIVER}`) ?? false);
}

/**
 * Whether the fleet's class `ours` becomes the cluster's default: only when no other class is.
 * A class of ours already default stays so (applying again changes nothing).
 */
export function defaultClassDecision(
  classes: readonly StorageClassItem[],
  ours: string,
): { makeDefault: boolean; otherDefaults: string[] } {
  const otherDefaults = classes
    .filter((c) => c.metadata.name !== ours && isDefaultClass(c))
    .map((c) => c.metadata.name)
    .sort();
  return { makeDefault: otherDefaults.length === 0, otherDefaults };
}

/**
 * The CSIDriver: attach as configured, persistent volumes only, no pod info on mount, fsGroup
 * applied as the API's default policy does for a block-device driver (ReadWriteOnce volumes with
 * an fsType), no republish, no capacity tracking.
 */
export function csiDriverObject(fleet: string, storage: FleetStorage): KubeObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "CSIDriver",
    metadata: { name: storage.driver, labels: ownedLabels(fleet) },
    spec: {
      attachRequired: storage.attachRequired,
      podInfoOnMount: false,
      volumeLifecycleModes: ["Persistent"],
      fsGroupPolicy: "ReadWriteOnceWithFSType",
      requiresRepublish: false,
      storageCapacity: false,
    },
  };
}

/**
 * The StorageClass of the driver: volumes bound where the first pod is scheduled, deleted with
 * their claim, expandable; no parameters, so the driver's default latencies apply.
 */
export function storageClassObject(
  fleet: string,
  className: string,
  storage: FleetStorage,
  makeDefault: boolean,
): KubeObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: {
      name: className,
      labels: ownedLabels(fleet),
      ...(makeDefault ? { annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" } } : {}),
    },
    provisioner: storage.driver,
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: true,
  };
}

/**
 * The engine flags of a fleet's driver: its name, attach, and the namespace of the controller's
 * election Lease (the fleet's); none without a driver.
 */
export function csiEngineArgs(spec: Pick<FleetSpec, "namespace" | "storage">): string[] {
  const st = spec.storage;
  if (!st) return [];
  return [
    `--csi-driver=${st.driver}`,
    ...(st.attachRequired ? [] : ["--no-csi-attach-required"]),
    `--csi-lease-namespace=${spec.namespace}`,
  ];
}
