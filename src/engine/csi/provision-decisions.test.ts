// The external-provisioner's decisions and the hollow driver's CreateVolume, as tables.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  createVolume,
  fnv1,
  protectionFinalizerChange,
  provisionDecision,
  shouldDeleteVolume,
  spreadIndex,
  type CreatedVolume,
  type ProvisionFailure,
} from "./provision-decisions.ts";
import { renderVolume } from "./pv-object.ts";
import {
  PV_PROTECTION_FINALIZER,
  type ClaimObject,
  type ClassObject,
  type VolumeObject,
} from "./storage-objects.ts";
import { allocatedBytes, bytesQuantity, quantityBytes } from "./volume-size.ts";

const DRIVER = "hollow.csi.kubemark-cluster.io";

function claim(
  over: { ann?: Record<string, string>; volumeName?: string; storage?: string; name?: string } = {},
): ClaimObject {
  return {
    metadata: {
      name: over.name ?? "data-web-0",
      namespace: "ns",
      uid: "u1",
      resourceVersion: "5",
      annotations: { "volume.kubernetes.io/storage-provisioner": DRIVER, ...over.ann },
    },
    spec: {
      storageClassName: "hollow-csi",
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: over.storage ?? "1Gi" } },
      ...(over.volumeName ? { volumeName: over.volumeName } : {}),
    },
  };
}

function cls(over: Partial<ClassObject> = {}): ClassObject {
  return {
    metadata: { name: "hollow-csi", uid: "c1" },
    provisioner: DRIVER,
    reclaimPolicy: "Delete",
    ...over,
  };
}

test("provisionDecision: which claims are provisioned (shouldProvision and the class checks)", () => {
  const wffc = cls({ volumeBindingMode: "WaitForFirstConsumer" });
  const rows: [string, ClaimObject, ClassObject | undefined, string][] = [
    ["immediate, annotated for us", claim(), cls(), "provision:-"],
    ["beta annotation", claim({ ann: { "volume.kubernetes.io/storage-provisioner": "" } }), cls(), "skip"],
    ["already bound", claim({ volumeName: "pv1" }), cls(), "skip"],
    [
      "another provisioner",
      claim({ ann: { "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com" } }),
      cls(),
      "skip",
    ],
    ["class missing", claim(), undefined, 'retry:storageClass "hollow-csi" not found'],
    ["WFFC without a node", claim(), wffc, "skip"],
    [
      "WFFC with the node",
      claim({ ann: { "volume.kubernetes.io/selected-node": "n1" } }),
      wffc,
      "provision:n1",
    ],
    ["class changed provisioner", claim(), cls({ provisioner: "other" }), "skip"],
  ];
  for (const [what, c, k, want] of rows) {
    const d = provisionDecision(c, DRIVER, () => k);
    const got =
      d.kind === "provision"
        ? `provision:${d.selectedNode ?? "-"}`
        : d.kind === "retry"
          ? `retry:${d.message}`
          : d.kind;
    assert.equal(got, want, what);
  }
});

test("createVolume: topology, parameters and the driver's validation (InvalidArgument names the parameter)", () => {
  const nodes = ["n2", "n0", "n1"];
  const has = (n: string): boolean => nodes.includes(n);
  const run = (
    c: ClaimObject,
    k: ClassObject,
    node?: string,
    list = nodes,
  ): CreatedVolume | ProvisionFailure => createVolume(c, k, node, () => list, has);
  const ok = run(
    claim({ storage: "1G" }),
    cls({ parameters: { mountLatency: "1s", "csi.storage.k8s.io/fstype": "ext4" } }),
    "n1",
  );
  assert.ok("node" in ok);
  assert.deepEqual(ok, {
    capacityBytes: 954 * 2 ** 20,
    node: "n1",
    fsType: "ext4",
    volumeContext: { mountLatency: "1s" },
  });
  const rows: [string, CreatedVolume | ProvisionFailure, string][] = [
    [
      "unknown parameter",
      run(claim(), cls({ parameters: { speed: "fast" } })),
      'infeasible:rpc error: code = InvalidArgument desc = unknown parameter "speed"',
    ],
    [
      "bad latency",
      run(claim(), cls({ parameters: { attachLatency: "soon" } })),
      "infeasible:rpc error: code = InvalidArgument desc = parameter attachLatency",
    ],
    [
      "unknown reserved key",
      run(claim(), cls({ parameters: { "csi.storage.k8s.io/speed": "x" } })),
      'failed:failed to strip CSI Parameters of prefixed keys: found unknown parameter key "csi.storage.k8s.io/speed"',
    ],
    [
      "selected node without the driver",
      run(claim(), cls(), "n9"),
      "failed:error generating accessibility requirements: no topology key found for node n9",
    ],
    [
      "no node has the driver",
      run(claim(), cls(), undefined, []),
      "failed:error generating accessibility requirements: no available topology found",
    ],
    [
      "two fstypes",
      run(claim(), cls({ parameters: { fstype: "xfs", "csi.storage.k8s.io/fstype": "ext4" } })),
      'failed:fstype specified in parameters with both "fstype"',
    ],
  ];
  for (const [what, r, want] of rows) {
    assert.ok("message" in r, what);
    assert.ok(
      `${r.infeasible ? "infeasible" : "failed"}:${r.message}`.startsWith(want),
      `${what}: ${r.message}`,
    );
  }
});

test("spreadIndex: a StatefulSet's claims go round the sorted nodes from the hash of its name (FNV-1)", () => {
  assert.equal(fnv1(""), 2166136261);
  assert.equal(fnv1("a"), 0x050c5d7e);
  const first = spreadIndex("data-web-0", 5);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((i) => spreadIndex(`data-web-${i}`, 5)),
    [0, 1, 2, 3, 4, 5].map((i) => (first + i) % 5),
  );
  assert.equal(
    spreadIndex("other-web-3", 5),
    spreadIndex("data-web-3", 5),
    "only the StatefulSet part is hashed",
  );
});

test("volume sizes: requests in bytes, the driver's MiB rounding, BinarySI quantities", () => {
  const rows: [string, number | undefined][] = [
    ["1Gi", 2 ** 30],
    ["500M", 5e8],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["1e9", 1e9],
    ["10", 10],
    ["x", undefined],
  ];
  for (const [q, b] of rows) assert.equal(quantityBytes(q), b, q);
  assert.equal(allocatedBytes(1), 2 ** 20);
  assert.equal(allocatedBytes(2 ** 30), 2 ** 30);
  assert.deepEqual([2 ** 30, 954 * 2 ** 20, 1000, 1e9, 3 * 2 ** 40].map(bytesQuantity), [
    "1Gi",
    "954Mi",
    "1000",
    "1000000000",
    "3Ti",
  ]);
});

function pv(over: { phase?: string; policy?: string; fin?: string[]; deleting?: boolean }): VolumeObject {
  return {
    metadata: {
      name: "pvc-u1",
      finalizers: over.fin ?? [PV_PROTECTION_FINALIZER],
      ...(over.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: { persistentVolumeReclaimPolicy: over.policy ?? "Delete" },
    status: { phase: over.phase ?? "Bound" },
  };
}

test("shouldDeleteVolume and protectionFinalizerChange: Released + Delete is deleted, Retain is left alone", () => {
  const rows: [string, VolumeObject, boolean, string | undefined][] = [
    ["bound", pv({}), false, undefined],
    ["released, delete", pv({ phase: "Released" }), true, undefined],
    ["released, retain", pv({ phase: "Released", policy: "Retain" }), false, "remove"],
    ["retain without finalizer", pv({ policy: "Retain", fin: [] }), false, undefined],
    ["released, deleting, finalizer", pv({ phase: "Released", deleting: true }), true, undefined],
    [
      "released, deleting, finalizer gone",
      pv({ phase: "Released", deleting: true, fin: [] }),
      false,
      undefined,
    ],
    ["bound, delete, finalizer missing", pv({ fin: [] }), false, "add"],
  ];
  for (const [what, v, del, change] of rows) {
    assert.equal(shouldDeleteVolume(v), del, what);
    assert.equal(protectionFinalizerChange(v), change, what);
  }
});

test("renderVolume: the PV as the external-provisioner writes it", () => {
  const c = { ...claim(), spec: { ...claim().spec, volumeMode: "Filesystem" } };
  const created: CreatedVolume = {
    capacityBytes: 2 ** 30,
    node: "n1",
    fsType: "ext4",
    volumeContext: { mountLatency: "1s" },
  };
  const v = renderVolume({
    claim: c,
    className: "hollow-csi",
    cls: cls({ mountOptions: ["noatime"] }),
    created,
    driver: DRIVER,
    identity: "1-2-d",
  }) as {
    metadata: unknown;
    spec: Record<string, unknown>;
  };
  assert.deepEqual(v.metadata, {
    name: "pvc-u1",
    annotations: {
      "pv.kubernetes.io/provisioned-by": DRIVER,
      "volume.kubernetes.io/provisioner-deletion-secret-name": "",
      "volume.kubernetes.io/provisioner-deletion-secret-namespace": "",
    },
    finalizers: ["external-provisioner.volume.kubernetes.io/finalizer"],
  });
  assert.deepEqual(v.spec["csi"], {
    driver: DRIVER,
    volumeHandle: "pvc-u1",
    fsType: "ext4",
    volumeAttributes: { "storage.kubernetes.io/csiProvisionerIdentity": "1-2-d", mountLatency: "1s" },
  });
  assert.deepEqual(v.spec["capacity"], { storage: "1Gi" });
  assert.deepEqual(v.spec["mountOptions"], ["noatime"]);
  assert.equal(v.spec["persistentVolumeReclaimPolicy"], "Delete");
  assert.deepEqual(v.spec["nodeAffinity"], {
    required: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: `topology.${DRIVER}/node`, operator: "In", values: ["n1"] }] },
      ],
    },
  });
  assert.deepEqual(v.spec["claimRef"], {
    kind: "PersistentVolumeClaim",
    namespace: "ns",
    name: "data-web-0",
    uid: "u1",
    apiVersion: "v1",
    resourceVersion: "5",
  });
  assert.equal(v.spec["volumeMode"], "Filesystem");
});
