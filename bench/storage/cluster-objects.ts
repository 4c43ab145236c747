/**
 * The benchmark's objects in the cluster: a mode's CSIDriver, the StorageClass and the namespace
 * before a run; after it, everything the run made, in the order that lets the driver finish its
 * part (pods and claims deleted while the engine still unmounts, detaches and deletes volumes).
 */
import { isAlreadyExists, isNotFound } from "../../src/client/api-error.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { realClock } from "../../src/kernel/clock.ts";
import { FLEET_LABEL, NODES_PATH } from "../../src/kernel/k8s.ts";
import { waitUntil } from "../../src/kernel/wait.ts";
import {
  DRIVER,
  FLEET,
  NAMESPACE,
  POD_LABEL,
  POD_LABEL_VALUE,
  STORAGE_CLASS,
  csiDriverBody,
  storageClassBody,
} from "./workload.ts";

const CSIDRIVER_PATH = `/apis/storage.k8s.io/v1/csidrivers/${DRIVER}`;
const NS_PATH = `/api/v1/namespaces/${NAMESPACE}`;

async function create(client: KubeClient, path: string, body: object): Promise<void> {
  await client.request({ method: "POST", path, body }).catch((err: unknown) => {
    if (!isAlreadyExists(err)) throw err;
  });
}

/** Waits until GET `path` answers 404. */
async function gone(client: KubeClient, what: string, path: string, timeoutMs: number): Promise<void> {
  await waitUntil(
    async () => {
      try {
        await client.get(path);
        return { done: false, status: "still there" };
      } catch (err) {
        if (isNotFound(err)) return { done: true, status: "gone" };
        throw err;
      }
    },
    { what: `${what} gone`, timeoutMs, intervalMs: 1000, clock: realClock },
  );
}

/**
 * The namespace (with its default ServiceAccount), the StorageClass and a CSIDriver with
 * `attachRequired`; a CSIDriver left with the other value (immutable) is deleted first.
 */
export async function createStorageObjects(client: KubeClient, attachRequired: boolean): Promise<void> {
  const existing = await client
    .get<{ spec?: { attachRequired?: boolean } }>(CSIDRIVER_PATH)
    .catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  if (existing && existing.spec?.attachRequired !== attachRequired) {
    await client.request({ method: "DELETE", path: CSIDRIVER_PATH });
    await gone(client, "the previous CSIDriver", CSIDRIVER_PATH, 60_000);
  }
  if (existing?.spec?.attachRequired !== attachRequired) {
    await create(client, "/apis/storage.k8s.io/v1/csidrivers", csiDriverBody(attachRequired));
  }
  await create(client, "/apis/storage.k8s.io/v1/storageclasses", storageClassBody());
  await create(client, "/api/v1/namespaces", { metadata: { name: NAMESPACE } });
  await waitUntil(
    async () => {
      await client.get(`${NS_PATH}/serviceaccounts/default`);
      return { done: true, status: "there" };
    },
    { what: `namespace ${NAMESPACE}'s default ServiceAccount`, timeoutMs: 60_000, clock: realClock },
  );
}

/** How many of the driver's PVs and VolumeAttachments are left. */
async function driverVolumesLeft(client: KubeClient): Promise<{ pvs: number; vas: number }> {
  const pvs = await client.get<{ items: { spec?: { csi?: { driver?: string } } }[] }>(
    "/api/v1/persistentvolumes",
  );
  const vas = await client.get<{ items: { spec?: { attacher?: string } }[] }>(
    "/apis/storage.k8s.io/v1/volumeattachments",
  );
  return {
    pvs: pvs.items.filter((p) => p.spec?.csi?.driver === DRIVER).length,
    vas: vas.items.filter((v) => v.spec?.attacher === DRIVER).length,
  };
}

/**
 * Deletes the run's StatefulSets, pods and claims, and waits (up to `timeoutMs`) until the
 * driver's PVs and VolumeAttachments are gone: the engine must still run (it unmounts, the
 * attach/detach controller detaches, its controller deletes the volumes). Throws on timeout.
 */
export async function deleteWorkload(client: KubeClient, timeoutMs: number): Promise<void> {
  const selector = { labelSelector: `${POD_LABEL}=${POD_LABEL_VALUE}` };
  const ns = NS_PATH;
  await client
    .request({
      method: "DELETE",
      path: `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets`,
      query: selector,
    })
    .catch(() => undefined);
  await client.request({ method: "DELETE", path: `${ns}/pods`, query: selector }).catch(() => undefined);
  await client
    .request({ method: "DELETE", path: `${ns}/persistentvolumeclaims`, query: selector })
    .catch(() => undefined);
  await waitUntil(
    async () => {
      const left = await driverVolumesLeft(client);
      return {
        done: left.pvs === 0 && left.vas === 0,
        status: `${left.pvs} PVs and ${left.vas} VolumeAttachments of ${DRIVER} left`,
      };
    },
    { what: "the run's volumes deleted", timeoutMs, intervalMs: 2000, clock: realClock },
  );
}

/**
 * After the engine stopped: the fleet's Nodes (best effort: the engine deletes them on exit), the
 * namespace, the StorageClass and the CSIDriver, waited for so the next mode starts clean.
 */
export async function deleteStorageObjects(client: KubeClient): Promise<void> {
  await client
    .request({ method: "DELETE", path: NODES_PATH, query: { labelSelector: `${FLEET_LABEL}=${FLEET}` } })
    .catch(() => undefined);
  await client.request({ method: "DELETE", path: NS_PATH }).catch(() => undefined);
  const classPath = `/apis/storage.k8s.io/v1/storageclasses/${STORAGE_CLASS}`;
  await client.request({ method: "DELETE", path: classPath }).catch(() => undefined);
  await client.request({ method: "DELETE", path: CSIDRIVER_PATH }).catch(() => undefined);
  await gone(client, `namespace ${NAMESPACE}`, NS_PATH, 180_000);
  await gone(client, `CSIDriver ${DRIVER}`, CSIDRIVER_PATH, 60_000);
}
