import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  NODE_ID_ANNOTATION,
  attachmentName,
  claimProblem,
  csiNodeDriver,
  driversWith,
  listedAttached,
  nextRetryMs,
  nodeInfoPatch,
  podClaims,
  unableToMountMessage,
  unregisteredDriverMessage,
  volumePlugin,
  volumeProblem,
  volumesInUseField,
  type ClaimView,
  type PodVolumesSpec,
} from "./volume-decisions.ts";

const DRIVER = "hollow.csi.kubemark-cluster.io";
const pod = (volumes: PodVolumesSpec["spec"]["volumes"], mounts: string[]): PodVolumesSpec => ({
  metadata: { name: "web-0", namespace: "ns", uid: "pod-uid" },
  spec: { volumes, containers: [{ volumeMounts: mounts.map((name) => ({ name })) }] },
});

test("podClaims: the mounted PVC and generic ephemeral volumes; none for pods without claims", () => {
  const cases: Array<[string, PodVolumesSpec, ReturnType<typeof podClaims>]> = [
    ["no volumes", pod(undefined, []), undefined],
    ["configMap and emptyDir only", pod([{ name: "c" }, { name: "e" }], ["c", "e"]), undefined],
    [
      "a PVC",
      pod([{ name: "data", persistentVolumeClaim: { claimName: "data-web-0" } }], ["data"]),
      [{ volume: "data", claim: "data-web-0", ephemeral: false }],
    ],
    [
      "a generic ephemeral volume: the PVC is <pod>-<volume>",
      pod([{ name: "scratch", ephemeral: {} }], ["scratch"]),
      [{ volume: "scratch", claim: "web-0-scratch", ephemeral: true }],
    ],
    [
      "a PVC no container uses is skipped",
      pod([{ name: "data", persistentVolumeClaim: { claimName: "x" } }], []),
      undefined,
    ],
  ];
  for (const [name, p, want] of cases) assert.deepEqual(podClaims(p), want, name);
});

test("claimProblem / volumeProblem: the populator's errors, verbatim", () => {
  const ref = { namespace: "ns", claim: "data-web-0", ephemeral: false };
  const p = { name: "web-0", uid: "pod-uid" };
  const bound: ClaimView = {
    metadata: { uid: "c1" },
    spec: { volumeName: "pv1" },
    status: { phase: "Bound" },
  };
  const cases: Array<[string, ClaimView, typeof ref, string | undefined]> = [
    ["bound", bound, ref, undefined],
    ["pending", { ...bound, status: { phase: "Pending" } }, ref, "PVC is not bound"],
    [
      "being deleted",
      { ...bound, metadata: { deletionTimestamp: "2026-01-01T00:00:00Z" } },
      ref,
      "PVC is being deleted",
    ],
    ["no volume name", { ...bound, spec: {} }, ref, "PVC has empty pvc.Spec.VolumeName"],
    [
      "ephemeral not owned by the pod",
      bound,
      { ...ref, claim: "web-0-scratch", ephemeral: true },
      "PVC ns/web-0-scratch was not created for pod ns/web-0 (pod is not owner)",
    ],
    [
      "ephemeral owned",
      { ...bound, metadata: { uid: "c1", ownerReferences: [{ uid: "pod-uid", controller: true }] } },
      { ...ref, ephemeral: true },
      undefined,
    ],
  ];
  for (const [name, claim, r, why] of cases) {
    assert.equal(
      claimProblem(claim, r, p),
      why === undefined ? undefined : `error processing PVC ns/${r.claim}: ${why}`,
      name,
    );
  }
  const pv = { metadata: { name: "pv1" }, spec: { claimRef: { uid: "c1" } } };
  assert.equal(volumeProblem(pv, ref, "c1"), undefined);
  assert.equal(
    volumeProblem(pv, ref, "c2"),
    "error processing PVC ns/data-web-0: found PV object pv1 but its pv.Spec.ClaimRef.UID c1 does not point to claim.UID c2",
  );
  assert.match(volumeProblem({ ...pv, spec: {} }, ref, "c1")!, /nil pv.Spec.ClaimRef/);
});

test("volumePlugin: ours (attachable as the CSIDriver says), another CSI driver, no plugin", () => {
  const pv = (csi?: { driver: string; volumeHandle: string }) => ({
    metadata: { name: "pv1" },
    spec: { ...(csi ? { csi } : {}) },
  });
  const csi = { driver: DRIVER, attachRequired: true };
  assert.deepEqual(volumePlugin(pv({ driver: DRIVER, volumeHandle: "h" }), csi), {
    kind: "hollow",
    uniqueName: `kubernetes.io/csi/${DRIVER}^h`,
    attachable: true,
  });
  assert.equal(
    (
      volumePlugin(pv({ driver: DRIVER, volumeHandle: "h" }), { ...csi, attachRequired: false }) as {
        attachable: boolean;
      }
    ).attachable,
    false,
  );
  assert.deepEqual(volumePlugin(pv({ driver: "ebs.csi.aws.com", volumeHandle: "h" }), csi), {
    kind: "foreign",
    driver: "ebs.csi.aws.com",
  });
  assert.deepEqual(volumePlugin(pv(), csi), { kind: "none" });
});

test("event messages as the kubelet writes them", () => {
  assert.equal(
    unableToMountMessage({
      unmounted: ["data"],
      unattached: [],
      notProcessed: ["data"],
      errors: ["e1", "e2"],
    }),
    "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[data]: e1; e2",
  );
  assert.equal(
    unregisteredDriverMessage("pv1", "x.example.com"),
    'MountVolume.MountDevice failed for volume "pv1" : kubernetes.io/csi: attacher.MountDevice failed to create newCsiDriverClient: driver name x.example.com not found in the list of registered CSI drivers',
  );
});

test("nextRetryMs: the operation executor's back-off, 0.5 s doubling to 2 min 2 s", () => {
  const seq: number[] = [];
  let ms = 0;
  for (let i = 0; i < 10; i++) seq.push((ms = nextRetryMs(ms)));
  assert.deepEqual(seq, [500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 122000, 122000]);
});

test("attachmentName: csi- and the sha256 of handle, driver and node (getAttachmentName)", () => {
  const want = createHash("sha256").update(`pvc-1${DRIVER}node-0`).digest("hex");
  assert.equal(attachmentName("pvc-1", DRIVER, "node-0"), `csi-${want}`);
  assert.equal(attachmentName("pvc-1", DRIVER, "node-0").length, 68);
});

test("listedAttached and volumesInUseField", () => {
  assert.equal(listedAttached(undefined, "a"), false);
  assert.equal(listedAttached([{ name: "b" }, { name: "a" }], "a"), true);
  const cases: Array<[string[], boolean, readonly string[] | null | undefined]> = [
    [[], false, undefined],
    [[], true, null],
    [["a"], false, ["a"]],
    [["a"], true, ["a"]],
  ];
  for (const [inUse, server, want] of cases) assert.deepEqual(volumesInUseField(inUse, server), want);
});

test("node-info manager: the CSINode driver entry, written only when it differs", () => {
  const want = csiNodeDriver({ driver: DRIVER, maxVolumesPerNode: 32 }, "node-0");
  assert.deepEqual(want, {
    name: DRIVER,
    nodeID: "node-0",
    topologyKeys: [`topology.${DRIVER}/node`],
    allocatable: { count: 32 },
  });
  assert.deepEqual(driversWith(undefined, want), [want]);
  assert.equal(driversWith([want], want), undefined);
  const other = { name: "other", nodeID: "n" };
  assert.deepEqual(driversWith([other, { ...want, allocatable: { count: 8 } }], want), [other, want]);
});

test("node-info manager: the Node's topology label and node-ID annotation (merged, keys sorted)", () => {
  const key = `topology.${DRIVER}/node`;
  assert.deepEqual(nodeInfoPatch({}, DRIVER, "node-0"), {
    labels: { [key]: "node-0" },
    annotations: { [NODE_ID_ANNOTATION]: `{"${DRIVER}":"node-0"}` },
  });
  assert.deepEqual(
    nodeInfoPatch(
      { labels: { [key]: "node-0" }, annotations: { [NODE_ID_ANNOTATION]: '{"z.io":"n1"}' } },
      DRIVER,
      "node-0",
    ),
    { annotations: { [NODE_ID_ANNOTATION]: `{"${DRIVER}":"node-0","z.io":"n1"}` } },
  );
  assert.equal(
    nodeInfoPatch(
      { labels: { [key]: "node-0" }, annotations: { [NODE_ID_ANNOTATION]: `{"${DRIVER}":"node-0"}` } },
      DRIVER,
      "node-0",
    ),
    undefined,
  );
});
