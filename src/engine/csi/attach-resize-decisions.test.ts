// The external-attacher's and external-resizer's decisions, as tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addFinalizerJsonPatch,
  attachMetadataPatch,
  attachWork,
  detachMetadataPatch,
  nodeIdFor,
  removeFinalizerJsonPatch,
} from "./attach-decisions.ts";
import { resizeFinishedPatch, resizeInProgressPatch, resizeWork } from "./resize-decisions.ts";
import {
  attacherFinalizer,
  type AttachmentObject,
  type ClaimObject,
  type VolumeObject,
} from "./storage-objects.ts";

const D = "hollow.csi.kubemark-cluster.io";
const FIN = "external-attacher/hollow-csi-kubemark-cluster-io";

function va(
  over: {
    attacher?: string;
    attached?: boolean;
    deleting?: boolean;
    fin?: string[];
    ann?: Record<string, string>;
  } = {},
): AttachmentObject {
  return {
    metadata: {
      name: "csi-1",
      ...(over.fin ? { finalizers: over.fin } : {}),
      ...(over.ann ? { annotations: over.ann } : {}),
      ...(over.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: { attacher: over.attacher ?? D, nodeName: "n1", source: { persistentVolumeName: "pv1" } },
    status: { attached: over.attached ?? false },
  };
}

test("attachWork and nodeIdFor: what the attacher does with a VolumeAttachment, and the node ID", () => {
  assert.equal(attacherFinalizer(D), FIN);
  const rows: [string, AttachmentObject, string | undefined][] = [
    ["new", va(), "attach"],
    ["attached", va({ attached: true }), undefined],
    ["another attacher", va({ attacher: "x" }), undefined],
    ["deleted with our finalizer", va({ deleting: true, fin: [FIN] }), "detach"],
    ["deleted without it", va({ deleting: true }), undefined],
  ];
  for (const [what, v, want] of rows) assert.equal(attachWork(v, D), want, what);
  const nodes = new Map<string, string | null>([
    ["n1", "n1"],
    ["n2", null],
  ]);
  assert.deepEqual(nodeIdFor("n1", D, nodes), { nodeId: "n1" });
  assert.deepEqual(nodeIdFor("n2", D, nodes), { error: `CSINode n2 does not contain driver ${D}` });
  assert.deepEqual(nodeIdFor("n3", D, nodes), { error: 'csinode.storage.k8s.io "n3" not found' });
  assert.deepEqual(nodeIdFor("n3", D, nodes, va({ ann: { "csi.alpha.kubernetes.io/node-id": "n3" } })), {
    nodeId: "n3",
  });
});

test("attacher patches: VA finalizer and node ID, PV finalizer JSON patches", () => {
  assert.deepEqual(attachMetadataPatch(va({ fin: ["other"] }), D, "n1"), {
    metadata: { annotations: { "csi.alpha.kubernetes.io/node-id": "n1" }, finalizers: ["other", FIN] },
  });
  assert.equal(
    attachMetadataPatch(va({ fin: [FIN], ann: { "csi.alpha.kubernetes.io/node-id": "n1" } }), D, "n1"),
    undefined,
  );
  assert.deepEqual(detachMetadataPatch(va({ fin: [FIN] }), D), { metadata: { finalizers: null } });
  assert.deepEqual(addFinalizerJsonPatch(undefined, FIN), [
    { op: "test", path: "/metadata/finalizers", value: null },
    { op: "add", path: "/metadata/finalizers", value: [FIN] },
  ]);
  assert.deepEqual(addFinalizerJsonPatch(["a"], FIN), [
    { op: "add", path: "/metadata/finalizers/-", value: FIN },
  ]);
  assert.deepEqual(removeFinalizerJsonPatch(["a", FIN], FIN), [
    { op: "test", path: "/metadata/finalizers/1", value: FIN },
    { op: "remove", path: "/metadata/finalizers/1" },
  ]);
  assert.equal(removeFinalizerJsonPatch(["a"], FIN), undefined);
});

function pvc(request: string, capacity: string, status: ClaimObject["status"] = {}): ClaimObject {
  return {
    metadata: { name: "c", namespace: "ns", uid: "u", resourceVersion: "9" },
    spec: { volumeName: "pv1", resources: { requests: { storage: request } } },
    status: { phase: "Bound", capacity: { storage: capacity }, ...status },
  };
}
const pv = (cap: string, driver = D, uid = "u"): VolumeObject => ({
  metadata: { name: "pv1" },
  spec: {
    capacity: { storage: cap },
    claimRef: { namespace: "ns", uid },
    csi: { driver, volumeHandle: "pv1" },
  },
});

test("resizeWork: which claims expand and to what (expandAndRecover)", () => {
  const rows: [string, ClaimObject, VolumeObject | undefined, string | undefined][] = [
    ["grown", pvc("2Gi", "1Gi"), pv("1Gi"), "2Gi:status"],
    ["not grown", pvc("1Gi", "1Gi"), pv("1Gi"), undefined],
    ["not bound", { ...pvc("2Gi", "1Gi"), status: { phase: "Pending" } }, pv("1Gi"), undefined],
    ["another driver", pvc("2Gi", "1Gi"), pv("1Gi", "x"), undefined],
    ["PV of another claim", pvc("2Gi", "1Gi"), pv("1Gi", D, "other"), undefined],
    [
      "retry at the allocated size",
      pvc("2Gi", "1Gi", {
        allocatedResources: { storage: "2Gi" },
        allocatedResourceStatuses: { storage: "ControllerResizeInProgress" },
      }),
      pv("1Gi"),
      "2Gi:same",
    ],
    [
      "node resize pending",
      pvc("2Gi", "1Gi", { allocatedResourceStatuses: { storage: "NodeResizePending" } }),
      pv("2Gi"),
      undefined,
    ],
    [
      "PV done, status not recorded",
      pvc("2Gi", "1Gi", { allocatedResources: { storage: "2Gi" } }),
      pv("2Gi"),
      "2Gi:same",
    ],
  ];
  for (const [what, c, v, want] of rows) {
    const w = resizeWork(c, v, D);
    assert.equal(w && `${w.newSize}:${w.updateStatus ? "status" : "same"}`, want, what);
  }
});

test("resize patches: in progress, then finished (strategic merge on status, with the resourceVersion)", () => {
  const c = pvc("2Gi", "1Gi", { conditions: [{ type: "FileSystemResizePending", status: "True" }] });
  assert.deepEqual(resizeInProgressPatch(c, { newSize: "2Gi", updateStatus: true }, "T"), {
    metadata: { resourceVersion: "9" },
    status: {
      conditions: [
        { type: "Resizing", status: "True", lastTransitionTime: "T" },
        { type: "FileSystemResizePending", $patch: "delete" },
      ],
      allocatedResourceStatuses: { storage: "ControllerResizeInProgress" },
      allocatedResources: { storage: "2Gi" },
    },
  });
  const inProgress = pvc("2Gi", "1Gi", {
    conditions: [{ type: "Resizing", status: "True" }],
    allocatedResourceStatuses: { storage: "ControllerResizeInProgress" },
  });
  assert.deepEqual(resizeFinishedPatch(inProgress, "2Gi"), {
    metadata: {
      resourceVersion: "9",
      annotations: { "volume.kubernetes.io/node-expansion-not-required": "true" },
    },
    status: {
      capacity: { storage: "2Gi" },
      conditions: [{ type: "Resizing", $patch: "delete" }],
      allocatedResourceStatuses: null,
    },
  });
});
