/**
 * `cleanup` of a fleet's hollow CSI driver, once its engines are stopped: its VolumeAttachments
 * and PersistentVolumes (their finalizers removed, as the attacher and provisioner that would
 * have removed them are gone), the claims bound to them only when asked, the controller's Lease,
 * the CSIDriver and the StorageClasses the fleet made. Safe to run twice; a failure says what is
 * left and how to finish.
 */
import { isNotFound } from "../client/api-error.ts";
import { csiDriverName, controllerLeaseName } from "../engine/csi/csi-names.ts";
import { forEachLimit } from "../kernel/concurrency.ts";
import { KubemarkError, describeError } from "../kernel/errors.ts";
import { deleteObject, objectPath } from "./apply.ts";
import type { FleetContext } from "./context.ts";
import { ownedLabels } from "./objects.ts";
import { plural } from "./wording.ts";

/** The annotations the PV controller puts on a claim for the provisioner that serves it. */
const PROVISIONER_ANNOTATIONS = [
  "volume.kubernetes.io/storage-provisioner",
  "volume.beta.kubernetes.io/storage-provisioner",
];

/** Storage objects as cleanup reads them. */
export interface StorageItem {
  metadata: {
    name: string;
    namespace?: string;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: {
    attacher?: string;
    csi?: { driver?: string };
    volumeName?: string;
    claimRef?: { namespace?: string; name?: string };
  };
}

/** What the storage part of `cleanup` removed and left. */
export interface StorageCleanup {
  /** CSIDrivers deleted. */
  readonly drivers: string[];
  readonly storageClasses: string[];
  readonly attachments: number;
  readonly volumes: number;
  readonly claimsDeleted: number;
  /** `namespace/name` of the claims of the driver left in place (without `--delete-claims`). */
  readonly claimsLeft: string[];
}

/** The VolumeAttachments of `drivers` (their attacher). */
export function driverAttachments(
  items: readonly StorageItem[],
  drivers: ReadonlySet<string>,
): StorageItem[] {
  return items.filter((i) => drivers.has(i.spec?.attacher ?? ""));
}

/** The PersistentVolumes of `drivers`. */
export function driverVolumes(items: readonly StorageItem[], drivers: ReadonlySet<string>): StorageItem[] {
  return items.filter((i) => drivers.has(i.spec?.csi?.driver ?? ""));
}

/**
 * The claims of `drivers`: bound to one of their `volumes`, or annotated for one of them as their
 * provisioner (found again after their volumes are gone). Claims being deleted are left out.
 */
export function driverClaims(
  items: readonly StorageItem[],
  drivers: ReadonlySet<string>,
  volumes: readonly StorageItem[],
): StorageItem[] {
  const bound = new Set(
    volumes.map((v) => `${v.spec?.claimRef?.namespace ?? ""}/${v.spec?.claimRef?.name ?? ""}`),
  );
  return items.filter(
    (c) =>
      !c.metadata.deletionTimestamp &&
      (bound.has(`${c.metadata.namespace ?? ""}/${c.metadata.name}`) ||
        PROVISIONER_ANNOTATIONS.some((a) => drivers.has(c.metadata.annotations?.[a] ?? ""))),
  );
}

/** The path listing every object of `kind` (of every namespace, for namespaced kinds). */
export function clusterWidePath(kind: string): string {
  return objectPath(kind, undefined).replace(/\/namespaces\/default\//, "/");
}

/** `namespace/name` (or `name`) of an object. */
function refName(i: StorageItem): string {
  return i.metadata.namespace ? `${i.metadata.namespace}/${i.metadata.name}` : i.metadata.name;
}

/** One step of the storage cleanup: what it removes (for the message when an earlier one fails). */
interface Step {
  readonly what: string;
  readonly run: () => Promise<void>;
}

/** Removes the fleet's storage objects from the target cluster (see the module comment). */
export async function cleanupStorage(
  s: FleetContext,
  opts: { deleteClaims: boolean },
): Promise<StorageCleanup> {
  const client = s.target.client;
  const selector = Object.entries(ownedLabels(s.fleet))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const list = async (kind: string, query?: Record<string, string>): Promise<StorageItem[]> =>
    (await client.get<{ items?: StorageItem[] }>(clusterWidePath(kind), query)).items ?? [];
  const labelled = await list("CSIDriver", { labelSelector: selector });
  const classes = await list("StorageClass", { labelSelector: selector });
  const drivers = new Set(labelled.map((d) => d.metadata.name));
  try {
    drivers.add(csiDriverName(s.fleet));
  } catch {
    // A fleet name too long for a driver: the fleet never had one of that name.
  }
  const attachments = driverAttachments(await list("VolumeAttachment"), drivers);
  const volumes = driverVolumes(await list("PersistentVolume"), drivers);
  const claims = driverClaims(await list("PersistentVolumeClaim"), drivers, volumes);
  // Delete first, then drop the finalizers: a protection controller re-adds its finalizer to an
  // object that is not being deleted.
  const remove = async (kind: string, items: readonly StorageItem[]): Promise<void> =>
    forEachLimit(items, 8, async (i) => {
      const path = objectPath(kind, i.metadata.name, i.metadata.namespace);
      if (!(await deleteObject(client, path))) return;
      await client
        .request({ method: "PATCH", path, patchType: "merge", body: { metadata: { finalizers: null } } })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    });
  const steps: Step[] = [];
  if (attachments.length > 0)
    steps.push({
      what: plural(attachments.length, "VolumeAttachment", "VolumeAttachments"),
      run: () => remove("VolumeAttachment", attachments),
    });
  if (opts.deleteClaims && claims.length > 0)
    steps.push({
      what: plural(claims.length, "PersistentVolumeClaim", "PersistentVolumeClaims"),
      run: () =>
        forEachLimit(claims, 8, async (c) => {
          await deleteObject(
            client,
            objectPath("PersistentVolumeClaim", c.metadata.name, c.metadata.namespace),
          );
        }),
    });
  if (volumes.length > 0)
    steps.push({
      what: plural(volumes.length, "PersistentVolume", "PersistentVolumes"),
      run: () => remove("PersistentVolume", volumes),
    });
  for (const d of drivers)
    steps.push({
      what: `the controller's Lease ${s.namespace}/${controllerLeaseName(d)}`,
      run: async () => {
        await deleteObject(client, objectPath("Lease", controllerLeaseName(d), s.namespace));
      },
    });
  for (const d of labelled)
    steps.push({
      what: `CSIDriver ${d.metadata.name}`,
      run: async () => {
        await deleteObject(client, objectPath("CSIDriver", d.metadata.name));
      },
    });
  for (const c of classes)
    steps.push({
      what: `StorageClass ${c.metadata.name}`,
      run: async () => {
        await deleteObject(client, objectPath("StorageClass", c.metadata.name));
      },
    });
  for (const [i, step] of steps.entries()) {
    try {
      await step.run();
    } catch (err) {
      throw new KubemarkError(
        "API_ERROR",
        `cleanup of the fleet's storage in ${s.target.access.server} stopped removing ${step.what}: ${describeError(err)}; left: ${steps
          .slice(i)
          .map((x) => x.what)
          .join(", ")}`,
        { hint: `run '${s.suggest("cleanup")}' again to finish`, cause: err },
      );
    }
  }
  return {
    drivers: labelled.map((d) => d.metadata.name),
    storageClasses: classes.map((c) => c.metadata.name),
    attachments: attachments.length,
    volumes: volumes.length,
    claimsDeleted: opts.deleteClaims ? claims.length : 0,
    claimsLeft: opts.deleteClaims ? [] : claims.map(refName),
  };
}
