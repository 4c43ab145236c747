/**
 * The fleet side of the hollow CSI driver on the real local control plane, through the operations
 * the CLI verbs call (issue #18): `create` makes the fleet's CSIDriver and StorageClass (the
 * cluster's default only where there is none, and says which), its engines run with the driver
 * under the fleet's least-privilege RBAC (a claim of the class is provisioned and its pod runs on
 * a hollow node), `--no-attach` and `--no-storage` do what they say, and `cleanup` removes exactly
 * the fleet's storage objects: its attachments and volumes although finalized, its CSIDriver and
 * class; the claims only with `--delete-claims`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { csiDriverName, storageClassName } from "../../src/engine/csi/csi-names.ts";
import type { Session } from "../../src/fleet/session.ts";
import { describeStorage } from "../../src/fleet/storage.ts";
import { cleanupFleet } from "../../src/fleet/verbs/cleanup.ts";
import { createFleet } from "../../src/fleet/verbs/create.ts";
import { verifyFleet } from "../../src/fleet/verbs/verify.ts";
import { defaultServiceAccount } from "../engine-process.ts";
import { FLEET } from "../fleet-checks.ts";
import { adminClientFor, eventually, testFleetSession } from "../harness.ts";

const A = "sfleet-a";
const B = "sfleet-b";
const C = "sfleet-c";
const APP = "sfleet-app";
const DEFAULT = "storageclass.kubernetes.io/is-default-class";

interface Obj {
  metadata: { name: string; annotations?: Record<string, string>; finalizers?: string[] };
  spec?: Record<string, unknown>;
  status?: { phase?: string };
}

const session = testFleetSession;

const create = { verb: "create" as const, wait: true, timeoutMs: 120_000, stallMs: 60_000 };

async function exists(client: KubeClient, path: string): Promise<boolean> {
  return client.get(path).then(
    () => true,
    (err: unknown) => {
      if ((err as { status?: number }).status === 404) return false;
      throw err;
    },
  );
}

const driverPath = (d: string): string => `/apis/storage.k8s.io/v1/csidrivers/${d}`;
const classPath = (n: string): string => `/apis/storage.k8s.io/v1/storageclasses/${n}`;

/** The command lines of a local fleet's engine processes. */
async function engineArgs(s: Session): Promise<string[]> {
  const procs = (await s.runtime("local").processes()) ?? [];
  assert.ok(procs.length > 0, "the fleet runs engine processes");
  return Promise.all(
    procs.map(async (p) => (await readFile(`/proc/${p.pid}/cmdline`, "utf8")).split("\0").join(" ")),
  );
}

test("storage fleets: driver and default class made, engines run with it, cleanup removes exactly the fleet's objects", async () => {
  const client = await adminClientFor();
  const sessions: Session[] = [];
  const open = async (ns: string): Promise<Session> => {
    const s = await session(ns);
    sessions.push(s);
    return s;
  };
  const foreignPv = "sfleet-foreign-pv";
  try {
    const classes = await client.get<{ items: Obj[] }>("/apis/storage.k8s.io/v1/storageclasses");
    const defaults = classes.items.filter((c) => c.metadata.annotations?.[DEFAULT] === "true");
    assert.deepEqual(
      defaults.map((c) => c.metadata.name),
      [],
      "the local control plane starts without a default class",
    );

    // A: the default driver settings, the cluster's default class.
    const sa = await open(A);
    const a = await createFleet(sa, { ...create, nodes: 3 });
    const driverA = csiDriverName(A);
    assert.deepEqual(a.spec.storage, { driver: driverA, attachRequired: true });
    assert.equal(a.storage?.isDefault, true);
    assert.equal(
      describeStorage(a.storage),
      `StorageClass ${storageClassName(A)} (driver ${driverA}), the cluster's default`,
    );
    const csiDriver = await client.get<Obj>(driverPath(driverA));
    assert.deepEqual(
      [
        csiDriver.spec?.["attachRequired"],
        csiDriver.spec?.["volumeLifecycleModes"],
        csiDriver.spec?.["podInfoOnMount"],
      ],
      [true, ["Persistent"], false],
    );
    const classA = await client.get<Obj & { provisioner: string; volumeBindingMode: string }>(
      classPath(storageClassName(A)),
    );
    assert.equal(classA.metadata.annotations?.[DEFAULT], "true");
    assert.deepEqual([classA.provisioner, classA.volumeBindingMode], [driverA, "WaitForFirstConsumer"]);
    for (const args of await engineArgs(sa)) {
      assert.match(args, new RegExp(`--csi-driver=${driverA.replaceAll(".", "\\.")}`));
      assert.match(args, new RegExp(`--csi-lease-namespace=${A}`));
      assert.doesNotMatch(args, /--no-csi-attach-required/);
    }
    // The node side registered the driver in each node's CSINode.
    await eventually("the fleet's CSINodes list its driver", 60_000, async () => {
      const nodes = await client.get<{ items: { spec?: { drivers?: { name: string }[] | null } }[] }>(
        "/apis/storage.k8s.io/v1/csinodes",
      );
      const n = nodes.items.filter((x) => x.spec?.drivers?.some((d) => d.name === driverA)).length;
      return { done: n === 3, status: `${n}/3 CSINodes list ${driverA}` };
    });

    // A claim of the class (no class named: the default) is provisioned on the node its pod is
    // scheduled to and the pod runs: the fleet's RBAC lets the controller and node side work.
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: APP } } });
    await defaultServiceAccount(client, APP);
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${APP}/persistentvolumeclaims`,
      body: {
        metadata: { name: "data" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    });
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${APP}/pods`,
      body: {
        metadata: { name: "db" },
        spec: {
          nodeSelector: { [FLEET]: A },
          containers: [
            {
              name: "db",
              image: "registry.k8s.io/pause:3.10",
              volumeMounts: [{ name: "d", mountPath: "/d" }],
            },
          ],
          volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }],
        },
      },
    });
    await eventually("the pod with the claim Running", 90_000, async () => {
      const p = await client.get<Obj>(`/api/v1/namespaces/${APP}/pods/db`);
      return { done: p.status?.phase === "Running", status: p.status?.phase ?? "none" };
    });
    const claim = await client.get<Obj & { spec: { volumeName?: string; storageClassName?: string } }>(
      `/api/v1/namespaces/${APP}/persistentvolumeclaims/data`,
    );
    assert.equal(
      claim.spec.storageClassName,
      storageClassName(A),
      "the default class was given to the claim",
    );
    const pvName = claim.spec.volumeName!;
    assert.ok(pvName, "the claim is bound");
    // An expansion: the resizer's writes (the volume, the claim's status) are allowed too.
    await client.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${APP}/persistentvolumeclaims/data`,
      patchType: "merge",
      body: { spec: { resources: { requests: { storage: "2Gi" } } } },
    });
    await eventually("the claim expanded to 2Gi", 60_000, async () => {
      const c = await client.get<{ status?: { capacity?: { storage?: string } } }>(
        `/api/v1/namespaces/${APP}/persistentvolumeclaims/data`,
      );
      return { done: c.status?.capacity?.storage === "2Gi", status: c.status?.capacity?.storage ?? "none" };
    });
    const report = await verifyFleet(sa);
    assert.deepEqual(
      [
        report.storage.csiDriver,
        report.storage.storageClass,
        report.storage.isDefault,
        report.storage.nodesWithDriver,
      ],
      [true, storageClassName(A), true, 3],
    );
    assert.equal(report.healthy, true, `verify: ${report.problems.join("; ")}`);

    // B: another fleet's class is not the default while A's is; --no-attach.
    const sb = await open(B);
    const b = await createFleet(sb, { ...create, nodes: 1, attach: false });
    assert.deepEqual([b.storage?.isDefault, b.storage?.otherDefaults], [false, [storageClassName(A)]]);
    assert.match(describeStorage(b.storage!), new RegExp(`not the default: ${storageClassName(A)} is$`));
    const driverB = await client.get<Obj>(driverPath(csiDriverName(B)));
    assert.equal(driverB.spec?.["attachRequired"], false);
    for (const args of await engineArgs(sb)) assert.match(args, /--no-csi-attach-required/);

    // C: --no-storage makes nothing and runs the engines without a driver.
    const sc = await open(C);
    const cr = await createFleet(sc, { ...create, nodes: 1, storage: false });
    assert.equal(cr.spec.storage, undefined);
    assert.equal(await exists(client, driverPath(csiDriverName(C))), false);
    assert.equal(await exists(client, classPath(storageClassName(C))), false);
    for (const args of await engineArgs(sc)) assert.doesNotMatch(args, /--csi-driver/);

    // A volume of another driver stays; A's cleanup removes only A's storage.
    await client.request({
      method: "POST",
      path: "/api/v1/persistentvolumes",
      body: {
        metadata: { name: foreignPv },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteOnce"],
          csi: { driver: "ebs.csi.aws.com", volumeHandle: "vol-1" },
        },
      },
    });
    const vas = await client.get<{ items: (Obj & { spec: { attacher: string } })[] }>(
      "/apis/storage.k8s.io/v1/volumeattachments",
    );
    const attachmentsA = vas.items.filter((v) => v.spec.attacher === driverA).length;
    const cleanA = await cleanupFleet(sa, { all: false });
    assert.deepEqual(
      {
        drivers: cleanA.storage.drivers,
        classes: cleanA.storage.storageClasses,
        volumes: cleanA.storage.volumes,
        attachments: cleanA.storage.attachments,
        claimsLeft: cleanA.storage.claimsLeft,
      },
      {
        drivers: [driverA],
        classes: [storageClassName(A)],
        volumes: 1,
        attachments: attachmentsA,
        claimsLeft: [`${APP}/data`],
      },
    );
    assert.equal(await exists(client, `/api/v1/persistentvolumes/${pvName}`), false, "A's volume is gone");
    assert.equal(await exists(client, driverPath(driverA)), false);
    assert.equal(await exists(client, classPath(storageClassName(A))), false);
    const leftVas = await client.get<{ items: (Obj & { spec: { attacher: string } })[] }>(
      "/apis/storage.k8s.io/v1/volumeattachments",
    );
    assert.equal(leftVas.items.filter((v) => v.spec.attacher === driverA).length, 0);
    assert.equal(
      await exists(client, `/api/v1/persistentvolumes/${foreignPv}`),
      true,
      "another driver's volume stays",
    );
    assert.equal(await exists(client, driverPath(csiDriverName(B))), true, "fleet B's driver stays");
    assert.equal(await exists(client, classPath(storageClassName(B))), true, "and its class");
    assert.equal(await exists(client, `/api/v1/namespaces/${APP}/persistentvolumeclaims/data`), true);

    const claims = await cleanupFleet(sa, { all: true, deleteClaims: true });
    assert.equal(claims.storage.claimsDeleted, 1, "the claim is found again and deleted");
  } finally {
    for (const s of sessions) {
      await cleanupFleet(s, { all: true }).catch((err: unknown) =>
        process.stderr.write(`cleanup: ${String(err)}\n`),
      );
      await s.close();
    }
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${APP}` }).catch(() => undefined);
    await client
      .request({ method: "DELETE", path: `/api/v1/persistentvolumes/${foreignPv}` })
      .catch(() => undefined);
    await client.close();
  }
  const after = await adminClientFor();
  try {
    for (const ns of [A, B, C]) assert.equal(await exists(after, driverPath(csiDriverName(ns))), false);
  } finally {
    await after.close();
  }
});
