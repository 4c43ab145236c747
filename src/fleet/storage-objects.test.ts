import { test } from "node:test";
import assert from "node:assert/strict";
import { KubemarkError } from "../kernel/errors.ts";
import { localFleetLayout, shardArgs } from "./local-runner.ts";
import { hollowNodeClusterRole, identityObjects } from "./objects.ts";
import type { FleetSpec } from "./spec.ts";
import {
  csiDriverObject,
  csiEngineArgs,
  defaultClassDecision,
  isHollowDriver,
  storageClassObject,
} from "./storage-objects.ts";
import { describeStorage } from "./storage.ts";
import { desiredStorage } from "./verbs/desired-spec.ts";
import { statefulSet } from "./workload-objects.ts";

const storage = { driver: "hollow.csi.kubemark-cluster.io", attachRequired: true };

test("the CSIDriver: attach as configured, persistent volumes, no pod info, the API's default fsGroup policy", () => {
  for (const attachRequired of [true, false]) {
    const d = csiDriverObject("kubemark", { ...storage, attachRequired });
    assert.equal(d.metadata.name, "hollow.csi.kubemark-cluster.io");
    assert.deepEqual(d["spec"], {
      attachRequired,
      podInfoOnMount: false,
      volumeLifecycleModes: ["Persistent"],
      fsGroupPolicy: "ReadWriteOnceWithFSType",
      requiresRepublish: false,
      storageCapacity: false,
    });
    assert.equal(d.metadata.labels?.["kubemark-cluster.io/fleet"], "kubemark");
  }
});

test("the StorageClass: the driver, WaitForFirstConsumer, Delete, expandable; default only when asked", () => {
  const sc = storageClassObject("kubemark", "hollow-csi", storage, true);
  assert.equal(sc["provisioner"], storage.driver);
  assert.equal(sc["volumeBindingMode"], "WaitForFirstConsumer");
  assert.equal(sc["reclaimPolicy"], "Delete");
  assert.equal(sc["allowVolumeExpansion"], true);
  assert.equal(sc.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"], "true");
  assert.equal(storageClassObject("kubemark", "hollow-csi", storage, false).metadata.annotations, undefined);
});

test("defaultClassDecision: ours becomes the default only where no other class is", () => {
  const cls = (name: string, annotations?: Record<string, string>) => ({ metadata: { name, annotations } });
  const cases = [
    { name: "no classes", classes: [], makeDefault: true, others: [] },
    { name: "a class that is not default", classes: [cls("slow")], makeDefault: true, others: [] },
    {
      name: "another default",
      classes: [cls("standard", { "storageclass.kubernetes.io/is-default-class": "true" })],
      makeDefault: false,
      others: ["standard"],
    },
    {
      name: "another default by the beta annotation",
      classes: [cls("old", { "storageclass.beta.kubernetes.io/is-default-class": "true" })],
      makeDefault: false,
      others: ["old"],
    },
    {
      name: "ours already default stays so",
      classes: [cls("hollow-csi", { "storageclass.kubernetes.io/is-default-class": "true" })],
      makeDefault: true,
      others: [],
    },
    {
      name: "annotated false",
      classes: [cls("x", { "storageclass.kubernetes.io/is-default-class": "false" })],
      makeDefault: true,
      others: [],
    },
  ];
  for (const c of cases) {
    const d = defaultClassDecision(c.classes, "hollow-csi");
    assert.deepEqual([d.makeDefault, d.otherDefaults], [c.makeDefault, c.others], c.name);
  }
});

test("describeStorage says whether the class is the cluster's default, and which is", () => {
  const o = { driver: storage.driver, attachRequired: true, storageClass: "hollow-csi" };
  assert.equal(
    describeStorage({ ...o, isDefault: true, otherDefaults: [] }),
    "StorageClass hollow-csi (driver hollow.csi.kubemark-cluster.io), the cluster's default",
  );
  assert.equal(
    describeStorage({ ...o, attachRequired: false, isDefault: false, otherDefaults: ["standard"] }),
    "StorageClass hollow-csi (driver hollow.csi.kubemark-cluster.io, no attach step), not the default: standard is",
  );
});

test("csiEngineArgs: the driver, attach and the Lease's namespace; nothing without a driver", () => {
  assert.deepEqual(csiEngineArgs({ namespace: "ns", storage: undefined }), []);
  assert.deepEqual(csiEngineArgs({ namespace: "ns", storage }), [
    "--csi-driver=hollow.csi.kubemark-cluster.io",
    "--csi-lease-namespace=ns",
  ]);
  assert.deepEqual(csiEngineArgs({ namespace: "ns", storage: { ...storage, attachRequired: false } }), [
    "--csi-driver=hollow.csi.kubemark-cluster.io",
    "--no-csi-attach-required",
    "--csi-lease-namespace=ns",
  ]);
  assert.ok(isHollowDriver("x.hollow.csi.kubemark-cluster.io") && !isHollowDriver("ebs.csi.aws.com"));
});

test("the storage RBAC only with a driver: the controller's verbs, and its Lease's Role in the fleet's namespace", () => {
  type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
  const verbs = (rules: Rule[], resource: string): string[] =>
    rules.filter((r) => r.resources.includes(resource)).flatMap((r) => r.verbs);
  const without = hollowNodeClusterRole("f").rules as Rule[];
  assert.deepEqual(verbs(without, "persistentvolumes"), []);
  const rules = hollowNodeClusterRole("f", storage).rules as Rule[];
  assert.deepEqual(verbs(rules, "persistentvolumes"), ["get", "list", "watch", "create", "patch", "delete"]);
  assert.deepEqual(verbs(rules, "persistentvolumeclaims"), ["get", "list", "watch"]);
  assert.deepEqual(verbs(rules, "persistentvolumeclaims/status"), ["patch"]);
  assert.deepEqual(verbs(rules, "storageclasses"), ["list", "watch"]);
  assert.deepEqual(verbs(rules, "volumeattachments"), ["get", "list", "watch", "patch"]);
  assert.deepEqual(verbs(rules, "volumeattachments/status"), ["patch"]);
  assert.ok(!verbs(rules, "volumeattachments").includes("delete"), "the attacher never deletes attachments");
  assert.ok(!verbs(rules, "persistentvolumeclaims").includes("delete"), "nor claims");
  const spec = { namespace: "ns", fleet: "f" };
  assert.equal(
    identityObjects(spec, false).filter((o) => o.kind === "Role" && o.metadata.namespace === "ns").length,
    0,
  );
  const role = identityObjects({ ...spec, storage }, false).find(
    (o) => o.kind === "Role" && o.metadata.namespace === "ns",
  );
  const leaseRules = role?.["rules"] as Rule[];
  assert.deepEqual(leaseRules, [
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: ["hollow-csi-kubemark-cluster-io-controller"],
      verbs: ["get", "update"],
    },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
  ]);
});

test("desiredStorage: on for a new hollow-node fleet, kept as recorded, refused when it would change", () => {
  const s = { fleet: "kubemark", namespace: "kubemark", suggest: (v: string) => `kubemark-cluster ${v}` };
  const old = { storage: undefined } as unknown as FleetSpec;
  const withDriver = { storage } as unknown as FleetSpec;
  const noAttach = { storage: { ...storage, attachRequired: false } } as unknown as FleetSpec;
  const cases: Array<{
    name: string;
    opts: { storage?: boolean; attach?: boolean };
    existing?: FleetSpec;
    engine?: "kubemark";
    want: unknown;
  }> = [
    { name: "new fleet", opts: {}, want: storage },
    { name: "new fleet --no-storage", opts: { storage: false }, want: undefined },
    { name: "new fleet --no-attach", opts: { attach: false }, want: { ...storage, attachRequired: false } },
    { name: "a fleet recorded before storage keeps none (scale)", opts: {}, existing: old, want: undefined },
    { name: "--storage adds it to such a fleet", opts: { storage: true }, existing: old, want: storage },
    { name: "kept as recorded", opts: {}, existing: noAttach, want: noAttach.storage },
    { name: "kubemark has none", opts: {}, engine: "kubemark", want: undefined },
    {
      name: "--no-storage --no-attach",
      opts: { storage: false, attach: false },
      want: /--no-attach.*--no-storage/,
    },
    { name: "kubemark --no-attach", opts: { attach: false }, engine: "kubemark", want: /hollow-node engine/ },
    { name: "switching off", opts: { storage: false }, existing: withDriver, want: /cannot be switched off/ },
    { name: "changing attach", opts: { attach: false }, existing: withDriver, want: /cannot change/ },
  ];
  for (const c of cases) {
    const run = (): unknown => desiredStorage(s, c.opts, c.existing, c.engine ?? "hollow-node");
    if (c.want instanceof RegExp) {
      assert.throws(
        run,
        (err: unknown) =>
          err instanceof KubemarkError && c.want instanceof RegExp && c.want.test(err.message) && !!err.hint,
        c.name,
      );
    } else assert.deepEqual(run(), c.want, c.name);
  }
  assert.throws(
    () => desiredStorage({ ...s, fleet: "a".repeat(40) }, {}, undefined, "hollow-node"),
    /too long for its CSI driver's name/,
  );
});

test("the engines get the driver's flags: each local process and the in-cluster pods", () => {
  const spec: FleetSpec = {
    namespace: "load",
    fleet: "load",
    nodes: 10,
    nodesPerShard: 5,
    namePrefix: "hollow-node",
    kubeletVersion: undefined,
    mode: "local",
    engine: "hollow-node",
    image: "docker.io/library/node:24-slim",
    prebuiltEngine: false,
    twoCluster: false,
    targetServer: "https://127.0.0.1:6443",
    traffic: "kubelet",
    proxy: true,
    storage: { driver: "load.hollow.csi.kubemark-cluster.io", attachRequired: false },
  };
  const want = [
    "--csi-driver=load.hollow.csi.kubemark-cluster.io",
    "--no-csi-attach-required",
    "--csi-lease-namespace=load",
  ];
  const layout = localFleetLayout("/state", "https://127.0.0.1:6443", "load");
  for (const i of [0, 1]) {
    const args = shardArgs(spec, layout, i);
    for (const w of want) assert.ok(args.includes(w), `process ${i}: ${w}`);
  }
  const sts = statefulSet({ ...spec, mode: "in-cluster" }, { engineHash: "h" }) as unknown as {
    spec: { template: { spec: { containers: { args: string[] }[] } } };
  };
  const args = sts.spec.template.spec.containers[0]!.args;
  for (const w of want) assert.ok(args.includes(w), `pods: ${w}`);
  const without = shardArgs({ ...spec, storage: undefined }, layout, 0);
  assert.ok(
    !without.some((a) => a.startsWith("--csi")),
    "no driver, no flags (a local fleet of before is not restarted)",
  );
});
