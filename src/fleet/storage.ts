/**
 * A fleet's hollow CSI driver in the cluster its nodes register into: the CSIDriver and the
 * StorageClass, made before the engines start (so the node side registers a driver the cluster
 * knows) and made the cluster's default class only where it has none.
 */
import { storageClassName } from "../engine/csi/csi-names.ts";
import { KubemarkError } from "../kernel/errors.ts";
import { FLEET_LABEL } from "../kernel/k8s.ts";
import { applyObject, getObject, objectPath } from "./apply.ts";
import type { FleetContext } from "./context.ts";
import type { KubeObject } from "./objects.ts";
import type { FleetSpec, FleetStorage } from "./spec.ts";
import {
  csiDriverObject,
  defaultClassDecision,
  storageClassObject,
  type StorageClassItem,
} from "./storage-objects.ts";

/** What the fleet's driver objects are (or would be, in a dry run). */
export interface StorageOutcome {
  readonly driver: string;
  readonly attachRequired: boolean;
  readonly storageClass: string;
  /** The StorageClass is the cluster's default. */
  readonly isDefault: boolean;
  /** The other classes marked default (why ours is not). */
  readonly otherDefaults: string[];
  readonly objects: KubeObject[];
}

/** The driver's objects for `spec` in the target cluster, the default decided from its classes. */
export async function plannedStorage(
  s: FleetContext,
  spec: Pick<FleetSpec, "fleet" | "storage">,
): Promise<StorageOutcome | undefined> {
  const storage: FleetStorage | undefined = spec.storage;
  if (!storage) return undefined;
  const className = storageClassName(spec.fleet);
  const classes = await s.target.client.get<{ items?: StorageClassItem[] }>(
    objectPath("StorageClass", undefined),
  );
  const items = classes.items ?? [];
  const clash = items.find(
    (c) => c.metadata.name === className && c.metadata.labels?.[FLEET_LABEL] !== spec.fleet,
  );
  if (clash) {
    throw new KubemarkError(
      "CONFLICT",
      `a StorageClass ${className} that fleet ${spec.fleet} did not make exists in ${s.target.access.server} (provisioner ${clash.provisioner ?? "none"})`,
      {
        hint: `delete it ('kubectl delete storageclass ${className}'), or create the fleet without storage (--no-storage)`,
      },
    );
  }
  const { makeDefault, otherDefaults } = defaultClassDecision(items, className);
  return {
    driver: storage.driver,
    attachRequired: storage.attachRequired,
    storageClass: className,
    isDefault: makeDefault,
    otherDefaults,
    objects: [
      csiDriverObject(spec.fleet, storage),
      storageClassObject(spec.fleet, className, storage, makeDefault),
    ],
  };
}

/** Applies the driver's CSIDriver and StorageClass to the target cluster (idempotent). */
export async function applyStorage(
  s: FleetContext,
  spec: Pick<FleetSpec, "fleet" | "storage">,
): Promise<StorageOutcome | undefined> {
  const planned = await plannedStorage(s, spec);
  for (const obj of planned?.objects ?? []) await applyObject(s.target.client, obj);
  return planned;
}

/** Whether the driver's CSIDriver and StorageClass are in the target (true without a driver). */
export async function storagePresent(
  s: FleetContext,
  spec: Pick<FleetSpec, "fleet" | "storage">,
): Promise<boolean> {
  if (!spec.storage) return true;
  const driver = await getObject(s.target.client, objectPath("CSIDriver", spec.storage.driver));
  const cls = await getObject(s.target.client, objectPath("StorageClass", storageClassName(spec.fleet)));
  return driver !== undefined && cls !== undefined;
}

/**
 * One line on the driver for the user: `StorageClass hollow-csi (driver hollow.csi...), the
 * cluster's default` or `..., not the default: standard is`.
 */
export function describeStorage(o: Omit<StorageOutcome, "objects">): string {
  const what = `StorageClass ${o.storageClass} (driver ${o.driver}${o.attachRequired ? "" : ", no attach step"})`;
  if (o.isDefault) return `${what}, the cluster's default`;
  const others = o.otherDefaults;
  return `${what}, not the default: ${others.join(", ")} ${others.length === 1 ? "is" : "are"}`;
}
