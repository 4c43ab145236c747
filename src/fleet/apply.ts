import { describeAccess, mayI, type AccessAttributes } from "../client/access-review.ts";
import type { KubeClient } from "../client/kube-client.ts";
import { KubeApiError, isNotFound } from "../client/api-error.ts";
import { forEachLimit } from "../kernel/concurrency.ts";
import { KubemarkError } from "../kernel/errors.ts";
import type { KubeObject } from "./objects.ts";
import { FIELD_MANAGER } from "./spec.ts";

interface ResourceInfo {
  readonly base: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const RBAC = "/apis/rbac.authorization.k8s.io/v1";
const STORAGE = "/apis/storage.k8s.io/v1";
const RESOURCES: Record<string, ResourceInfo> = {
  Namespace: { base: "/api/v1", plural: "namespaces", namespaced: false },
  ServiceAccount: { base: "/api/v1", plural: "serviceaccounts", namespaced: true },
  Secret: { base: "/api/v1", plural: "secrets", namespaced: true },
  ConfigMap: { base: "/api/v1", plural: "configmaps", namespaced: true },
  Service: { base: "/api/v1", plural: "services", namespaced: true },
  ClusterRole: { base: RBAC, plural: "clusterroles", namespaced: false },
  ClusterRoleBinding: { base: RBAC, plural: "clusterrolebindings", namespaced: false },
  Role: { base: RBAC, plural: "roles", namespaced: true },
  RoleBinding: { base: RBAC, plural: "rolebindings", namespaced: true },
  StatefulSet: { base: "/apis/apps/v1", plural: "statefulsets", namespaced: true },
  CSIDriver: { base: STORAGE, plural: "csidrivers", namespaced: false },
  CSINode: { base: STORAGE, plural: "csinodes", namespaced: false },
  StorageClass: { base: STORAGE, plural: "storageclasses", namespaced: false },
  VolumeAttachment: { base: STORAGE, plural: "volumeattachments", namespaced: false },
  PersistentVolume: { base: "/api/v1", plural: "persistentvolumes", namespaced: false },
  PersistentVolumeClaim: { base: "/api/v1", plural: "persistentvolumeclaims", namespaced: true },
  Lease: { base: "/apis/coordination.k8s.io/v1", plural: "leases", namespaced: true },
};

/** Kinds the CLI writes. */
export type ObjectKind = keyof typeof RESOURCES;

/** REST path of one object (or of its collection when `name` is undefined). */
export function objectPath(kind: string, name: string | undefined, namespace?: string): string {
  const r = RESOURCES[kind];
  if (!r) throw new KubemarkError("INTERNAL", `no REST mapping for kind ${kind}`);
  const ns = r.namespaced ? `/namespaces/${namespace ?? "default"}` : "";
  return `${r.base}${ns}/${r.plural}${name === undefined ? "" : `/${name}`}`;
}

/** REST path an object is written at. */
export function pathOf(obj: KubeObject): string {
  return objectPath(obj.kind, obj.metadata.name, obj.metadata.namespace);
}

/** A `kind/name` reference for messages (`statefulset/hollow-node`). */
export function refOf(obj: Pick<KubeObject, "kind" | "metadata">): string {
  const ns = obj.metadata.namespace ? ` -n ${obj.metadata.namespace}` : "";
  return `${obj.kind.toLowerCase()}/${obj.metadata.name}${ns}`;
}

/**
 * Server-side apply with the CLI's field manager: creates or updates the object to exactly what
 * the CLI owns, so running a verb twice changes nothing the second time. `dryRun` asks the API
 * server to validate and admit it without storing it.
 */
export async function applyObject(client: KubeClient, obj: KubeObject, dryRun = false): Promise<unknown> {
  return client.request({
    method: "PATCH",
    path: pathOf(obj),
    query: { fieldManager: FIELD_MANAGER, force: true, ...(dryRun ? { dryRun: "All" } : {}) },
    patchType: "apply",
    body: obj,
  });
}

/** Creates an object unless it exists; true when this call created it. */
export async function createIfAbsent(client: KubeClient, obj: KubeObject): Promise<boolean> {
  try {
    await client.request({
      method: "POST",
      path: objectPath(obj.kind, undefined, obj.metadata.namespace),
      body: obj,
    });
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 409) return false;
    throw err;
  }
}

/** Reads an object, or undefined when it does not exist. */
export async function getObject<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Deletes an object; false when it did not exist. */
export async function deleteObject(
  client: KubeClient,
  path: string,
  query: Record<string, string | number> = {},
): Promise<boolean> {
  try {
    await client.request({ method: "DELETE", path, query });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Whether a namespace exists. */
export async function namespaceExists(client: KubeClient, ns: string): Promise<boolean> {
  return (await getObject(client, objectPath("Namespace", ns))) !== undefined;
}

/**
 * Deletes an object in the background (its dependents follow); returns its `kind/name -n ns` when
 * it existed, undefined when it did not.
 */
export async function deleteInBackground(
  client: KubeClient,
  kind: string,
  name: string,
  namespace?: string,
): Promise<string | undefined> {
  const deleted = await deleteObject(client, objectPath(kind, name, namespace), {
    propagationPolicy: "Background",
  });
  return deleted ? `${kind.toLowerCase()}/${name}${namespace ? ` -n ${namespace}` : ""}` : undefined;
}

/** One permission to check before changing anything. */
export type Permission = AccessAttributes;

/**
 * Asks the API server whether the CLI's identity may do all of `needed` (SelfSubjectAccessReview),
 * so a forbidden identity fails before anything is made, with every missing permission named.
 */
export async function requirePermissions(
  client: KubeClient,
  needed: readonly Permission[],
  what: string,
): Promise<void> {
  const denied: string[] = [];
  await forEachLimit(needed, 8, async (p) => {
    if (!(await mayI(client, p))) denied.push(describeAccess(p));
  });
  if (denied.length > 0) {
    throw new KubemarkError("FORBIDDEN", `${what}: your identity may not ${denied.sort().join(", ")}`, {
      hint: "use a kubeconfig with cluster-admin rights (or one granted these permissions)",
    });
  }
}
