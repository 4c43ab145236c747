import { test } from "node:test";
import assert from "node:assert/strict";
import { KubemarkError } from "../../kernel/errors.ts";
import { objectPath } from "../apply.ts";
import { FLEET_CONFIGMAP } from "../objects.ts";
import { readFleet } from "../session.ts";
import { fakeFleet, type FakeFleet } from "../testdata/fake-fleet.ts";
import { cleanupFleet } from "./cleanup.ts";
import { createFleet } from "./create.ts";

const DRIVER = "hollow.csi.kubemark-cluster.io";
const create = { verb: "create" as const, wait: true, timeoutMs: 60_000, stallMs: 30_000 };
const DEFAULT = "storageclass.kubernetes.io/is-default-class";

type Obj = { metadata: { annotations?: Record<string, string>; finalizers?: string[] } };

function get(f: FakeFleet, kind: string, name: string, ns?: string): Obj | undefined {
  return f.store.objects.get(objectPath(kind, name, ns)) as Obj | undefined;
}

/** A volume of `driver` with its claim and attachment, finalized as the provisioner and attacher leave them. */
function volume(f: FakeFleet, name: string, driver = DRIVER): void {
  f.store.put(objectPath("PersistentVolume", name), {
    metadata: {
      name,
      finalizers: ["kubernetes.io/pv-protection", `external-attacher/${driver.replaceAll("/", "-")}`],
    },
    spec: { csi: { driver, volumeHandle: name }, claimRef: { namespace: "app", name: `claim-${name}` } },
  });
  f.store.put(objectPath("PersistentVolumeClaim", `claim-${name}`, "app"), {
    metadata: {
      name: `claim-${name}`,
      namespace: "app",
      annotations: { "volume.kubernetes.io/storage-provisioner": driver },
      finalizers: ["kubernetes.io/pvc-protection"],
    },
    spec: { volumeName: name },
  });
  f.store.put(objectPath("VolumeAttachment", `csi-${name}`), {
    metadata: { name: `csi-${name}`, finalizers: [`external-attacher/${driver}`] },
    spec: { attacher: driver, nodeName: "hollow-node-0", source: { persistentVolumeName: name } },
  });
}

test("create makes the CSIDriver and the StorageClass, the default only where the cluster has none, before the engines", async (t) => {
  await t.test("no default class: ours is", async () => {
    const f = fakeFleet();
    const r = await createFleet(f.session, { ...create, nodes: 2 });
    assert.deepEqual(r.spec.storage, { driver: DRIVER, attachRequired: true });
    assert.equal(r.storage?.isDefault, true);
    assert.equal(get(f, "StorageClass", "hollow-csi")?.metadata.annotations?.[DEFAULT], "true");
    const driverAt = f.store.requests.indexOf(`PATCH ${objectPath("CSIDriver", DRIVER)}`);
    const configAt = f.store.requests.indexOf(
      `PATCH ${objectPath("ConfigMap", FLEET_CONFIGMAP, "kubemark")}`,
    );
    assert.ok(driverAt >= 0 && driverAt < configAt, "the driver's objects come before the fleet's record");
  });
  await t.test("another default class: ours is not, and says which is", async () => {
    const f = fakeFleet();
    f.store.put(objectPath("StorageClass", "standard"), {
      metadata: { name: "standard", annotations: { [DEFAULT]: "true" } },
    });
    const r = await createFleet(f.session, { ...create, nodes: 1, attach: false });
    assert.deepEqual([r.storage?.isDefault, r.storage?.otherDefaults], [false, ["standard"]]);
    assert.equal(get(f, "StorageClass", "hollow-csi")?.metadata.annotations, undefined);
    assert.equal(
      (f.store.objects.get(objectPath("CSIDriver", DRIVER)) as { spec: { attachRequired: boolean } }).spec
        .attachRequired,
      false,
    );
  });
  await t.test("--no-storage makes none", async () => {
    const f = fakeFleet();
    const r = await createFleet(f.session, { ...create, nodes: 1, storage: false });
    assert.equal(r.spec.storage, undefined);
    assert.equal(f.store.has(objectPath("CSIDriver", DRIVER)), false);
    assert.equal(f.store.has(objectPath("StorageClass", "hollow-csi")), false);
  });
  await t.test("a class of that name the fleet did not make is refused, naming the fix", async () => {
    const f = fakeFleet();
    f.store.put(objectPath("StorageClass", "hollow-csi"), {
      metadata: { name: "hollow-csi" },
      provisioner: "ebs.csi.aws.com",
    });
    await assert.rejects(createFleet(f.session, { ...create, nodes: 1 }), (err: unknown) => {
      assert.ok(err instanceof KubemarkError);
      assert.match(err.message, /StorageClass hollow-csi that fleet kubemark did not make/);
      assert.match(err.hint ?? "", /--no-storage/);
      return true;
    });
  });
});

test("create again makes a deleted CSIDriver again instead of saying there is nothing to do", async () => {
  const f = fakeFleet();
  await createFleet(f.session, { ...create, nodes: 2 });
  assert.equal((await createFleet(f.session, { ...create, nodes: 2 })).action, "unchanged");
  f.store.objects.delete(objectPath("CSIDriver", DRIVER));
  const r = await createFleet(f.session, { ...create, nodes: 2 });
  assert.equal(r.action, "updated");
  assert.ok(f.store.has(objectPath("CSIDriver", DRIVER)));
});

test("scale of a fleet recorded before storage existed keeps it without a driver", async () => {
  const f = fakeFleet();
  await createFleet(f.session, { ...create, nodes: 2, storage: false });
  // A spec as older versions stored it: no storage field at all.
  const path = objectPath("ConfigMap", FLEET_CONFIGMAP, "kubemark");
  const cm = f.store.objects.get(path) as { data: Record<string, string> };
  const old = JSON.parse(cm.data["spec.json"]!) as Record<string, unknown>;
  delete old["storage"];
  cm.data["spec.json"] = JSON.stringify(old);
  const r = await createFleet(f.session, { ...create, verb: "scale", nodes: 3 });
  assert.equal(r.spec.storage, undefined);
  assert.equal((await readFleet(f.session))?.storage, undefined);
  assert.equal(f.store.has(objectPath("CSIDriver", DRIVER)), false);
});

test("cleanup removes the driver's attachments, volumes, CSIDriver and class, leaves and counts the claims", async () => {
  const f = fakeFleet();
  await createFleet(f.session, { ...create, nodes: 2 });
  volume(f, "pv-1");
  volume(f, "pv-2");
  volume(f, "pv-other", "ebs.csi.aws.com");
  f.store.put(objectPath("StorageClass", "standard"), { metadata: { name: "standard" } });
  f.store.requests.length = 0;
  const r = await cleanupFleet(f.session, { all: false });
  assert.deepEqual(r.storage, {
    drivers: [DRIVER],
    storageClasses: ["hollow-csi"],
    attachments: 2,
    volumes: 2,
    claimsDeleted: 0,
    claimsLeft: ["app/claim-pv-1", "app/claim-pv-2"],
  });
  for (const [kind, name] of [
    ["VolumeAttachment", "csi-pv-1"],
    ["PersistentVolume", "pv-2"],
    ["CSIDriver", DRIVER],
    ["StorageClass", "hollow-csi"],
  ] as const)
    assert.equal(f.store.has(objectPath(kind, name)), false, `${kind} ${name} is gone`);
  for (const [kind, name, ns] of [
    ["PersistentVolume", "pv-other"],
    ["VolumeAttachment", "csi-pv-other"],
    ["PersistentVolumeClaim", "claim-pv-1", "app"],
    ["StorageClass", "standard"],
  ] as const)
    assert.equal(f.store.has(objectPath(kind, name, ns)), true, `${kind} ${name} stays`);
  // Order: engines stopped first (runtime.remove), attachments before volumes, the driver last.
  const first = (what: string): number => f.store.requests.findIndex((q) => q.startsWith(what));
  assert.ok(
    first("DELETE /apis/storage.k8s.io/v1/volumeattachments/") < first("DELETE /api/v1/persistentvolumes/"),
  );
  assert.ok(first("DELETE /api/v1/persistentvolumes/") < first(`DELETE ${objectPath("CSIDriver", DRIVER)}`));

  const claims = await cleanupFleet(f.session, { all: false, deleteClaims: true });
  assert.equal(claims.storage.claimsDeleted, 2, "the claims are found again by their provisioner annotation");
  assert.equal(get(f, "PersistentVolumeClaim", "claim-pv-1", "app")?.metadata.finalizers?.length, 1);
});

test("cleanup --delete-claims deletes the claims before their volumes", async () => {
  const f = fakeFleet();
  await createFleet(f.session, { ...create, nodes: 1 });
  volume(f, "pv-1");
  f.store.requests.length = 0;
  const r = await cleanupFleet(f.session, { all: false, deleteClaims: true });
  assert.deepEqual([r.storage.claimsDeleted, r.storage.claimsLeft], [1, []]);
  const at = (q: string): number => f.store.requests.indexOf(q);
  assert.ok(
    at(`DELETE ${objectPath("PersistentVolumeClaim", "claim-pv-1", "app")}`) <
      at(`DELETE ${objectPath("PersistentVolume", "pv-1")}`),
  );
});

test("a failed storage cleanup says what is left and how to finish; running it again finishes", async () => {
  const f = fakeFleet();
  await createFleet(f.session, { ...create, nodes: 1 });
  volume(f, "pv-1");
  f.store.failing.push(`DELETE ${objectPath("PersistentVolume", "pv-1")}`);
  await assert.rejects(cleanupFleet(f.session, { all: false }), (err: unknown) => {
    assert.ok(err instanceof KubemarkError);
    assert.match(err.message, /stopped removing 1 PersistentVolume: .*500/);
    assert.match(
      err.message,
      /left: 1 PersistentVolume, the controller's Lease .*, CSIDriver hollow\.csi\.kubemark-cluster\.io, StorageClass hollow-csi/,
    );
    assert.equal(err.hint, "run 'kubemark-cluster cleanup' again to finish");
    return true;
  });
  assert.ok(
    f.store.has(objectPath("ConfigMap", FLEET_CONFIGMAP, "kubemark")),
    "the fleet's record stays for the rerun",
  );
  f.store.failing.length = 0;
  const r = await cleanupFleet(f.session, { all: false });
  assert.deepEqual([r.storage.volumes, r.storage.drivers], [1, [DRIVER]]);
  assert.equal(f.store.has(objectPath("PersistentVolume", "pv-1")), false);
});
