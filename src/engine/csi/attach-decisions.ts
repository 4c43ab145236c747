/*
 * What the external-attacher decides (csi_handler.go, util.go): which VolumeAttachments to attach
 * or detach, the node ID from the CSINode (or the VA's annotation when detaching), and the patches
 * it sends: a merge patch of the VA's finalizers and node-ID annotation, JSON patches that add or
 * remove its finalizer on the PV, the status it writes. Pure.
 */
import { ANN_VA_NODE_ID, attacherFinalizer, type AttachmentObject } from "./storage-objects.ts";

/** The work a VolumeAttachment needs from the attacher of `driver`, if any. */
export function attachWork(va: AttachmentObject, driver: string): "attach" | "detach" | undefined {
  if (va.spec.attacher !== driver) return undefined;
  if (va.metadata.deletionTimestamp)
    return va.metadata.finalizers?.includes(attacherFinalizer(driver)) ? "detach" : undefined;
  return va.status?.attached ? undefined : "attach";
}

/**
 * The driver's node ID on `nodeName` (`getNodeID`): from its CSINode (`csiNodes`: node -> node ID,
 * null when the CSINode lacks the driver), else, when detaching, the VA's annotation.
 */
export function nodeIdFor(
  nodeName: string,
  driver: string,
  csiNodes: ReadonlyMap<string, string | null>,
  va?: AttachmentObject,
): { nodeId: string } | { error: string } {
  const entry = csiNodes.get(nodeName);
  if (entry) return { nodeId: entry };
  const error =
    entry === undefined
      ? `csinode.storage.k8s.io "${nodeName}" not found`
      : `CSINode ${nodeName} does not contain driver ${driver}`;
  const annotated = va?.metadata.annotations?.[ANN_VA_NODE_ID];
  return annotated !== undefined ? { nodeId: annotated } : { error };
}

/** The merge patch that adds the attacher's finalizer and node-ID annotation to a VA; undefined when both are there. */
export function attachMetadataPatch(
  va: AttachmentObject,
  driver: string,
  nodeId: string,
): object | undefined {
  const fin = attacherFinalizer(driver);
  const finalizers = va.metadata.finalizers ?? [];
  const addFinalizer = !finalizers.includes(fin);
  const addId = va.metadata.annotations?.[ANN_VA_NODE_ID] !== nodeId;
  if (!addFinalizer && !addId) return undefined;
  return {
    metadata: {
      ...(addId ? { annotations: { [ANN_VA_NODE_ID]: nodeId } } : {}),
      ...(addFinalizer ? { finalizers: [...finalizers, fin] } : {}),
    },
  };
}

/** The merge patch that removes the attacher's finalizer from a VA (`markAsDetached`). */
export function detachMetadataPatch(va: AttachmentObject, driver: string): object {
  const rest = (va.metadata.finalizers ?? []).filter((f) => f !== attacherFinalizer(driver));
  return { metadata: { finalizers: rest.length ? rest : null } };
}

/** The JSON patch that adds `finalizer` (`addFinalizerPatch`: a test on an absent or empty list, else an append). */
export function addFinalizerJsonPatch(existing: readonly string[] | undefined, finalizer: string): object[] {
  if (existing === undefined)
    return [
      { op: "test", path: "/metadata/finalizers", value: null },
      { op: "add", path: "/metadata/finalizers", value: [finalizer] },
    ];
  if (existing.length === 0)
    return [
      { op: "test", path: "/metadata/finalizers", value: [] },
      { op: "replace", path: "/metadata/finalizers", value: [finalizer] },
    ];
  return [{ op: "add", path: "/metadata/finalizers/-", value: finalizer }];
}

/** The JSON patch that removes `finalizer` at its index after testing it is there; undefined when it is not. */
export function removeFinalizerJsonPatch(
  existing: readonly string[] | undefined,
  finalizer: string,
): object[] | undefined {
  const i = existing?.indexOf(finalizer) ?? -1;
  if (i < 0) return undefined;
  const path = `/metadata/finalizers/${i}`;
  return [
    { op: "test", path, value: finalizer },
    { op: "remove", path },
  ];
}
