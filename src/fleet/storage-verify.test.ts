import { test } from "node:test";
import assert from "node:assert/strict";
import { objectPath } from "./apply.ts";
import { fakeFleet, type FakeFleet } from "./testdata/fake-fleet.ts";
import { createFleet } from "./verbs/create.ts";
import { verifyFleet } from "./verbs/verify.ts";
import { judgeClaims, latestReason, type ClaimItem } from "./storage-verify.ts";

const DRIVER = "hollow.csi.kubemark-cluster.io";
const NOW = Date.parse("2026-01-01T01:00:00Z");
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();

function claim(
  name: string,
  cls: string,
  ageS: number,
  extra: Partial<ClaimItem["metadata"]> = {},
  phase = "Pending",
): ClaimItem {
  return {
    metadata: { name, namespace: "app", creationTimestamp: ago(ageS), ...extra },
    spec: { storageClassName: cls },
    status: { phase },
  };
}

test("judgeClaims: which Pending claims are named, and why", () => {
  const classes = [
    { metadata: { name: "hollow-csi" }, provisioner: DRIVER, volumeBindingMode: "WaitForFirstConsumer" },
    { metadata: { name: "fast" }, provisioner: DRIVER, volumeBindingMode: "Immediate" },
    { metadata: { name: "gone" }, provisioner: `old.${DRIVER}`, volumeBindingMode: "WaitForFirstConsumer" },
    { metadata: { name: "ebs" }, provisioner: "ebs.csi.aws.com" },
  ];
  const selected = { annotations: { "volume.kubernetes.io/selected-node": "hollow-node-1" } };
  const cases: Array<{ name: string; c: ClaimItem; stuck: boolean; orphan: boolean }> = [
    {
      name: "scheduled, Pending 5 min",
      c: claim("a", "hollow-csi", 300, selected),
      stuck: true,
      orphan: false,
    },
    {
      name: "scheduled, Pending 10 s",
      c: claim("b", "hollow-csi", 10, selected),
      stuck: false,
      orphan: false,
    },
    { name: "waiting for its pod", c: claim("c", "hollow-csi", 3600), stuck: false, orphan: false },
    { name: "Immediate, Pending 5 min", c: claim("d", "fast", 300), stuck: true, orphan: false },
    { name: "Bound", c: claim("e", "hollow-csi", 300, selected, "Bound"), stuck: false, orphan: false },
    { name: "a driver no fleet serves", c: claim("f", "gone", 5), stuck: false, orphan: true },
    { name: "another driver's", c: claim("g", "ebs", 3600), stuck: false, orphan: false },
    {
      name: "being deleted",
      c: claim("h", "fast", 300, { deletionTimestamp: ago(1) }),
      stuck: false,
      orphan: false,
    },
  ];
  for (const c of cases) {
    const r = judgeClaims([c.c], classes, new Set([DRIVER]), DRIVER, NOW);
    assert.deepEqual([r.stuck.length === 1, r.orphans.length === 1], [c.stuck, c.orphan], c.name);
  }
  const [orphan] = judgeClaims([claim("f", "gone", 5)], classes, new Set([DRIVER]), DRIVER, NOW).orphans;
  assert.equal(orphan?.reason, `no fleet serves its driver old.${DRIVER} (no CSIDriver)`);
});

test("latestReason: the newest event's reason and message", () => {
  assert.equal(latestReason([]), "no events on the claim");
  assert.equal(
    latestReason([
      { reason: "Provisioning", message: "External provisioner is provisioning", lastTimestamp: ago(60) },
      { reason: "ProvisioningFailed", message: 'unknown parameter "speed"', lastTimestamp: ago(5) },
      { reason: "ExternalProvisioning", message: "Waiting", lastTimestamp: ago(30) },
    ]),
    'ProvisioningFailed: unknown parameter "speed"',
  );
});

async function healthyFleet(): Promise<FakeFleet> {
  const f = fakeFleet();
  await createFleet(f.session, { verb: "create", nodes: 3, wait: true, timeoutMs: 60_000, stallMs: 30_000 });
  return f;
}

test("verify reports the driver, its class and nodes; a stuck claim with its reason; a claim nobody serves as a warning", async () => {
  const f = await healthyFleet();
  const ok = await verifyFleet(f.session);
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(
    {
      driver: ok.storage.driver,
      csiDriver: ok.storage.csiDriver,
      cls: ok.storage.storageClass,
      isDefault: ok.storage.isDefault,
      nodes: ok.storage.nodesWithDriver,
    },
    { driver: DRIVER, csiDriver: true, cls: "hollow-csi", isDefault: true, nodes: 3 },
  );

  f.store.objects.delete("/apis/storage.k8s.io/v1/csinodes/hollow-node-2");
  const now = f.clock.now();
  f.store.put(objectPath("PersistentVolumeClaim", "data", "app"), {
    metadata: {
      name: "data",
      namespace: "app",
      creationTimestamp: new Date(now - 600_000).toISOString(),
      annotations: { "volume.kubernetes.io/selected-node": "hollow-node-0" },
    },
    spec: { storageClassName: "hollow-csi" },
    status: { phase: "Pending" },
  });
  f.store.put("/api/v1/namespaces/app/events/data.1", {
    metadata: { name: "data.1" },
    reason: "ProvisioningFailed",
    message: 'unknown parameter "speed"',
    lastTimestamp: new Date(now - 1000).toISOString(),
  });
  f.store.put(objectPath("StorageClass", "gone"), {
    metadata: { name: "gone" },
    provisioner: `old.${DRIVER}`,
  });
  f.store.put(objectPath("PersistentVolumeClaim", "orphan", "app"), {
    metadata: { name: "orphan", namespace: "app", creationTimestamp: new Date(now).toISOString() },
    spec: { storageClassName: "gone" },
    status: { phase: "Pending" },
  });
  const r = await verifyFleet(f.session);
  assert.deepEqual(r.problems, [
    `1 of 3 nodes' CSINodes do not list ${DRIVER} (hollow-node-2)`,
    `1 claims of ${DRIVER} Pending for over 2 minutes: app/data (600s: ProvisioningFailed: unknown parameter "speed")`,
  ]);
  assert.ok(r.fixes.includes("'kubectl describe pvc -n app data' shows the claim's events"));
  assert.equal(r.warnings.length, 1);
  assert.match(
    r.warnings[0]!,
    /claim app\/orphan of StorageClass gone stays Pending: no fleet serves its driver old\.hollow/,
  );

  f.store.objects.delete(objectPath("CSIDriver", DRIVER));
  const missing = await verifyFleet(f.session);
  assert.ok(missing.problems.includes(`CSIDriver ${DRIVER} is missing`));
  assert.equal(missing.fixes[0], "'kubemark-cluster create 3' makes the driver's objects again");
});

test("verify of a fleet without a driver reports none and asks for no CSINodes", async () => {
  const f = fakeFleet();
  await createFleet(f.session, {
    verb: "create",
    nodes: 2,
    wait: true,
    timeoutMs: 60_000,
    stallMs: 30_000,
    storage: false,
  });
  f.store.requests.length = 0;
  const r = await verifyFleet(f.session);
  assert.deepEqual([r.storage.driver, r.problems], [undefined, []]);
  assert.ok(!f.store.requests.some((q) => q.includes("csinodes")));
});

test("verify: a node registered under a minute ago whose CSINode does not list the driver yet is registering, not a problem", async () => {
  const f = await healthyFleet();
  f.store.objects.delete("/apis/storage.k8s.io/v1/csinodes/hollow-node-2");
  const node = f.store.objects.get("/api/v1/nodes/hollow-node-2") as { metadata: Record<string, unknown> };
  node.metadata["creationTimestamp"] = new Date(f.clock.now() - 10_000).toISOString();
  const young = await verifyFleet(f.session);
  assert.deepEqual(young.problems, []);
  assert.deepEqual([young.storage.nodesWithDriver, young.storage.nodesRegistering], [2, 1]);
  node.metadata["creationTimestamp"] = new Date(f.clock.now() - 120_000).toISOString();
  const old = await verifyFleet(f.session);
  assert.deepEqual(old.problems, [`1 of 3 nodes' CSINodes do not list ${DRIVER} (hollow-node-2)`]);
});
