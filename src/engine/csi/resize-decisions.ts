/*
 * What the external-resizer decides with RecoverVolumeExpansionFailure (GA), for a driver whose
 * expansion needs no node step (expand_and_recover.go, resize_status.go): whether a claim needs
 * expanding and to what size, and the PVC status patches it sends (strategic merge on the status
 * subresource, with the claim's resourceVersion). Pure.
 */
import {
  ANN_NODE_EXPANSION_NOT_REQUIRED,
  type ClaimCondition,
  type ClaimObject,
  type VolumeObject,
} from "./storage-objects.ts";
import { quantityBytes } from "./volume-size.ts";

const RESIZE_CONDITIONS = new Set([
  "Resizing",
  "FileSystemResizePending",
  "ControllerResizeError",
  "NodeResizeError",
]);

/** The expansion a claim needs: the size to expand to, and whether its status changes (not a retry at the same size). */
export interface ResizeWork {
  readonly newSize: string;
  readonly updateStatus: boolean;
}

/** `pvcNeedResize`, `pvCanBeExpanded` and `expandAndRecover`'s choice of size; undefined = nothing to do. */
export function resizeWork(
  pvc: ClaimObject,
  pv: VolumeObject | undefined,
  driver: string,
): ResizeWork | undefined {
  if (pvc.status?.phase !== "Bound" || !pvc.spec.volumeName) return undefined;
  const spec = pvc.spec.resources?.requests?.["storage"];
  const specBytes = quantityBytes(spec);
  if (spec === undefined || specBytes === undefined) return undefined;
  if (specBytes <= (quantityBytes(pvc.status.capacity?.["storage"]) ?? 0)) return undefined;
  if (!pv || pv.spec.csi?.driver !== driver) return undefined;
  const ref = pv.spec.claimRef;
  if (!ref || ref.namespace !== pvc.metadata.namespace || ref.uid !== pvc.metadata.uid) return undefined;
  const pvBytes = quantityBytes(pv.spec.capacity?.["storage"]) ?? 0;
  const status = pvc.status.allocatedResourceStatuses?.["storage"] ?? "";
  const allocated = pvc.status.allocatedResources?.["storage"];
  let newSize = spec;
  if (pvBytes < specBytes) {
    if (status === "NodeResizePending" || status === "NodeResizeInProgress") {
      newSize = allocated ?? spec;
      if (pvBytes >= (quantityBytes(newSize) ?? 0)) return undefined;
    } else if (status === "NodeResizeInfeasible" || status === "ControllerResizeInProgress") {
      newSize = allocated ?? spec;
    }
  } else if (status === "NodeResizePending" || status === "NodeResizeInProgress") {
    return undefined;
  } else if (status !== "") {
    newSize = allocated ?? spec;
  } else if (allocated !== undefined) {
    newSize = allocated;
  } else if (
    pvc.status.conditions?.some((c) => c.type === "FileSystemResizePending" && c.status === "True")
  ) {
    return undefined;
  }
  const same = allocated !== undefined && quantityBytes(allocated) === quantityBytes(newSize);
  return { newSize, updateStatus: !same };
}

/** Strategic-merge list entries that set `next`'s resize conditions and delete the dropped ones (`MergeResizeConditionsOfPVC`). */
function conditionPatch(
  old: readonly ClaimCondition[],
  set: readonly ClaimCondition[],
  keepOld: boolean,
): object[] {
  const out: object[] = [...set];
  for (const c of old) {
    if (!RESIZE_CONDITIONS.has(c.type) || set.some((s) => s.type === c.type) || keepOld) continue;
    out.push({ type: c.type, $patch: "delete" });
  }
  return out;
}

/** `markControllerResizeInProgress`: the Resizing condition, allocatedResources and (unless a retry) ControllerResizeInProgress. */
export function resizeInProgressPatch(pvc: ClaimObject, work: ResizeWork, now: string): object {
  const resizing: ClaimCondition = { type: "Resizing", status: "True", lastTransitionTime: now };
  const ann = pvc.metadata.annotations?.[ANN_NODE_EXPANSION_NOT_REQUIRED] !== undefined;
  return {
    metadata: {
      resourceVersion: pvc.metadata.resourceVersion,
      ...(ann ? { annotations: { [ANN_NODE_EXPANSION_NOT_REQUIRED]: null } } : {}),
    },
    status: {
      conditions: conditionPatch(pvc.status?.conditions ?? [], [resizing], !work.updateStatus),
      ...(work.updateStatus ? { allocatedResourceStatuses: { storage: "ControllerResizeInProgress" } } : {}),
      allocatedResources: { storage: work.newSize },
    },
  };
}

/** `markOverallExpansionAsFinished`: the new capacity, no resize conditions or storage resize status, node expansion not required. */
export function resizeFinishedPatch(pvc: ClaimObject, capacity: string): object {
  const statuses = { ...pvc.status?.allocatedResourceStatuses };
  delete statuses["storage"];
  const conditions = conditionPatch(pvc.status?.conditions ?? [], [], false);
  return {
    metadata: {
      resourceVersion: pvc.metadata.resourceVersion,
      annotations: { [ANN_NODE_EXPANSION_NOT_REQUIRED]: "true" },
    },
    status: {
      capacity: { storage: capacity },
      ...(conditions.length ? { conditions } : {}),
      allocatedResourceStatuses: Object.keys(statuses).length ? { storage: null } : null,
    },
  };
}
