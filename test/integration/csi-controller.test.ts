/**
 * The hollow CSI driver's controller side on a real control plane (the PV controller and the
 * attach/detach controller running): two engine processes of one fleet elect one controller on
 * the Lease; an Immediate-binding claim gets a bound PV as the external-provisioner writes it; a
 * VolumeAttachment to a fleet node is attached and, deleted, goes; an expansion is reported;
 * deleting the claim deletes the PV; a class with an unknown parameter gives ProvisioningFailed
 * naming it; when the leader stops, the other process takes over.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminClientFor, eventually } from "../harness.ts";
import {
  defaultServiceAccount,
  fleetNodesReady,
  removeTestObjects,
  startFleetEngine,
  type EngineProcess,
} from "../engine-process.ts";
import { isNotFound } from "../../src/client/api-error.ts";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { controllerLeaseName, csiDriverName, topologyKey } from "../../src/engine/csi/csi-names.ts";

const FLEET = "it-csi";
const DRIVER = csiDriverName(FLEET);
const NS = `it-csi-${process.pid}`;
const CLASS = `it-csi-immediate-${process.pid}`;
const BAD_CLASS = `it-csi-bad-${process.pid}`;
const WFFC_CLASS = `it-csi-wffc-${process.pid}`;
const LEASE = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${controllerLeaseName(DRIVER)}`;
const VA_PATH = "/apis/storage.k8s.io/v1/volumeattachments";
const ATTACHER_FINALIZER = `external-attacher/${DRIVER.replaceAll(".", "-")}`;

interface Meta {
  name: string;
  uid: string;
  annotations?: Record<string, string>;
  finalizers?: string[];
}
interface Pv {
  metadata: Meta;
  spec: Record<string, unknown> & {
    capacity: { storage: string };
    claimRef: { uid: string; name: string };
    csi: { driver: string; volumeHandle: string; volumeAttributes: Record<string, string> };
    nodeAffinity: {
      required: { nodeSelectorTerms: { matchExpressions: { key: string; values: string[] }[] }[] };
    };
  };
  status: { phase: string };
}
interface Pvc {
  metadata: Meta;
  spec: { volumeName?: string };
  status?: {
    phase?: string;
    capacity?: { storage?: string };
    conditions?: { type: string }[];
    allocatedResourceStatuses?: Record<string, string>;
  };
}
interface Va {
  metadata: Meta;
  status?: { attached?: boolean; attachError?: { message: string } };
}
interface Ev {
  reason: string;
  type: string;
  message: string;
  count?: number;
  source?: { component?: string };
}

describe("the hollow CSI driver's controller on a real control plane", () => {
  let client: KubeClient;
  const engines: EngineProcess[] = [];
  const start = (first: number): EngineProcess =>
    startFleetEngine({ nodes: 3, fleet: FLEET, namePrefix: "it-csi" }, [
      "--first-index",
      String(first),
      "--csi-driver",
      DRIVER,
      "--csi-lease-namespace",
      NS,
    ]);
  const nodeNames = ["it-csi-0", "it-csi-1", "it-csi-2", "it-csi-3", "it-csi-4", "it-csi-5"];

  const claim = (name: string, cls: string): object => ({
    metadata: { name },
    spec: {
      storageClassName: cls,
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "1Gi" } },
    },
  });
  const getClaim = (name: string): Promise<Pvc> =>
    client.get<Pvc>(`/api/v1/namespaces/${NS}/persistentvolumeclaims/${name}`);
  const events = async (name: string): Promise<Ev[]> =>
    (
      await client.get<{ items: Ev[] }>(`/api/v1/namespaces/${NS}/events`, {
        fieldSelector: `involvedObject.name=${name}`,
      })
    ).items;
  const boundClaim = async (name: string): Promise<Pvc> => {
    await eventually(`claim ${name} Bound`, 60_000, async () => {
      const c = await getClaim(name);
      return { done: c.status?.phase === "Bound", status: c.status?.phase ?? "no status" };
    });
    return getClaim(name);
  };
  const gone = (what: string, path: string): Promise<unknown> =>
    eventually(`${what} gone`, 60_000, async () => {
      try {
        await client.get(path);
        return { done: false, status: "still there" };
      } catch (err) {
        if (isNotFound(err)) return { done: true, status: "gone" };
        throw err;
      }
    });

  before(async () => {
    client = await adminClientFor();
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    await defaultServiceAccount(client, NS);
    await client
      .request({
        method: "POST",
        path: "/apis/storage.k8s.io/v1/csidrivers",
        body: { metadata: { name: DRIVER }, spec: { attachRequired: true, podInfoOnMount: false } },
      })
      .catch(() => undefined);
    const latencies = {
      provisionLatency: "300ms",
      attachLatency: "300ms",
      expandLatency: "300ms",
      deleteLatency: "100ms",
      detachLatency: "100ms",
    };
    for (const [name, parameters, volumeBindingMode] of [
      [CLASS, latencies, "Immediate"],
      [BAD_CLASS, { speed: "fast" }, "Immediate"],
      [WFFC_CLASS, latencies, "WaitForFirstConsumer"],
    ] as const) {
      await client.request({
        method: "POST",
        path: "/apis/storage.k8s.io/v1/storageclasses",
        body: {
          metadata: { name },
          provisioner: DRIVER,
          parameters,
          reclaimPolicy: "Delete",
          volumeBindingMode,
          allowVolumeExpansion: true,
        },
      });
    }
    engines.push(start(0), start(3));
    await fleetNodesReady(client, FLEET, 6);
    // The node side registers the driver in each CSINode; where it does not (yet), the test does.
    await eventually("6 CSINodes listing the driver", 60_000, async () => {
      let listed = 0;
      for (const n of nodeNames) {
        const path = `/apis/storage.k8s.io/v1/csinodes/${n}`;
        const cn = await client.get<{ spec?: { drivers?: { name: string }[] } }>(path).catch(() => undefined);
        if (!cn) continue;
        if (cn.spec?.drivers?.some((d) => d.name === DRIVER)) {
          listed++;
          continue;
        }
        await client
          .request({
            method: "PATCH",
            path,
            patchType: "strategic",
            body: { spec: { drivers: [{ name: DRIVER, nodeID: n, topologyKeys: [topologyKey(DRIVER)] }] } },
          })
          .catch(() => undefined);
      }
      return { done: listed === nodeNames.length, status: `${listed}/6` };
    });
  });

  after(async () => {
    for (const e of engines) await e.stop();
    const log = join(tmpdir(), `csi-controller-it-${process.pid}.log`);
    await writeFile(log, engines.map((e) => e.logs()).join("\n----\n"));
    process.stderr.write(`engine logs: ${log}\n`);
    for (const c of [CLASS, BAD_CLASS, WFFC_CLASS])
      await client
        .request({ method: "DELETE", path: `/apis/storage.k8s.io/v1/storageclasses/${c}` })
        .catch(() => undefined);
    await client
      .request({ method: "DELETE", path: `/apis/storage.k8s.io/v1/csidrivers/${DRIVER}` })
      .catch(() => undefined);
    await removeTestObjects(client, NS, FLEET);
  });

  test("two engine processes of the fleet elect one controller on the Lease", async () => {
    const lease = await eventually("the controller Lease held", 30_000, async () => {
      const l = await client.get<{ spec?: { holderIdentity?: string } }>(LEASE).catch(() => undefined);
      return { done: !!l?.spec?.holderIdentity, status: l ? `holder ${l.spec?.holderIdentity}` : "no Lease" };
    });
    assert.ok(lease.done);
    const l = await client.get<{
      spec: { holderIdentity: string; leaseDurationSeconds: number; leaseTransitions: number };
    }>(LEASE);
    assert.equal(l.spec.leaseDurationSeconds, 15);
    const leaders = engines.filter((e) => e.logs().includes("became leader"));
    assert.equal(leaders.length, 1, "exactly one process leads");
    assert.ok(leaders[0]!.logs().includes(l.spec.holderIdentity), "the leader is the Lease's holder");
    const ev = await eventually("the LeaderElection event on the Lease", 20_000, async () => {
      const e = await events(controllerLeaseName(DRIVER));
      return {
        done: e.some(
          (x) => x.reason === "LeaderElection" && x.message === `${l.spec.holderIdentity} became leader`,
        ),
        status: e.map((x) => `${x.reason}: ${x.message}`).join("; "),
      };
    });
    assert.ok(ev.done);
  });

  test("an Immediate claim gets a bound PV as the external-provisioner writes it, once", async () => {
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
      body: claim("data-0", CLASS),
    });
    const c = await boundClaim("data-0");
    const pv = await client.get<Pv>(`/api/v1/persistentvolumes/${c.spec.volumeName}`);
    assert.equal(pv.metadata.name, `pvc-${c.metadata.uid}`);
    assert.equal(pv.metadata.annotations?.["pv.kubernetes.io/provisioned-by"], DRIVER);
    assert.equal(pv.metadata.annotations?.["volume.kubernetes.io/provisioner-deletion-secret-name"], "");
    assert.ok(pv.metadata.finalizers?.includes("external-provisioner.volume.kubernetes.io/finalizer"));
    assert.equal(pv.spec.claimRef.uid, c.metadata.uid);
    assert.equal(pv.spec.capacity.storage, "1Gi");
    assert.equal(pv.spec["persistentVolumeReclaimPolicy"], "Delete");
    assert.equal(pv.spec["storageClassName"], CLASS);
    assert.deepEqual(pv.spec["accessModes"], ["ReadWriteOnce"]);
    assert.equal(pv.spec.csi.driver, DRIVER);
    assert.equal(
      pv.spec.csi.volumeAttributes["attachLatency"],
      "300ms",
      "the class's parameters reach the node side",
    );
    assert.ok(pv.spec.csi.volumeAttributes["storage.kubernetes.io/csiProvisionerIdentity"]);
    const term = pv.spec.nodeAffinity.required.nodeSelectorTerms[0]!.matchExpressions[0]!;
    assert.equal(term.key, topologyKey(DRIVER));
    assert.ok(nodeNames.includes(term.values[0]!), `the volume is on a fleet node (${term.values[0]})`);
    assert.equal(c.status?.capacity?.storage, "1Gi");
    const ev = await eventually("ProvisioningSucceeded recorded", 20_000, async () => {
      const e = await events("data-0");
      return {
        done: e.some((x) => x.reason === "ProvisioningSucceeded"),
        status: e.map((x) => x.reason).join(","),
      };
    });
    assert.ok(ev.done);
    const all = await events("data-0");
    const succeeded = all.filter((x) => x.reason === "ProvisioningSucceeded");
    assert.equal(succeeded.length, 1);
    assert.equal(succeeded[0]!.count ?? 1, 1, "provisioned once");
    assert.match(succeeded[0]!.message, new RegExp(`Successfully provisioned volume ${pv.metadata.name}`));
    assert.ok(all.some((x) => x.reason === "Provisioning" && x.message.includes(`"${NS}/data-0"`)));
  });

  test("a VolumeAttachment to a fleet node is attached, and goes when deleted; one to an unknown node gets an attach error", async () => {
    const c = await getClaim("data-0");
    const pvName = c.spec.volumeName!;
    const make = (name: string, node: string): Promise<unknown> =>
      client.request({
        method: "POST",
        path: VA_PATH,
        body: {
          metadata: { name },
          spec: { attacher: DRIVER, nodeName: node, source: { persistentVolumeName: pvName } },
        },
      });
    await make(`it-csi-va-${process.pid}`, "it-csi-4");
    await eventually("the VolumeAttachment attached", 30_000, async () => {
      const va = await client.get<Va>(`${VA_PATH}/it-csi-va-${process.pid}`);
      return { done: va.status?.attached === true, status: JSON.stringify(va.status ?? {}) };
    });
    const va = await client.get<Va>(`${VA_PATH}/it-csi-va-${process.pid}`);
    assert.deepEqual(va.metadata.finalizers, [ATTACHER_FINALIZER]);
    assert.equal(va.metadata.annotations?.["csi.alpha.kubernetes.io/node-id"], "it-csi-4");
    const pv = await client.get<Pv>(`/api/v1/persistentvolumes/${pvName}`);
    assert.ok(pv.metadata.finalizers?.includes(ATTACHER_FINALIZER), "the attacher protects the PV");
    await client.request({ method: "DELETE", path: `${VA_PATH}/it-csi-va-${process.pid}` });
    await gone("the detached VolumeAttachment", `${VA_PATH}/it-csi-va-${process.pid}`);

    await make(`it-csi-va-x-${process.pid}`, "no-such-node");
    const failed = await eventually("an attach error", 30_000, async () => {
      const v = await client.get<Va>(`${VA_PATH}/it-csi-va-x-${process.pid}`);
      return { done: !!v.status?.attachError, status: JSON.stringify(v.status ?? {}) };
    });
    assert.ok(failed.done);
    const bad = await client.get<Va>(`${VA_PATH}/it-csi-va-x-${process.pid}`);
    assert.equal(bad.status?.attachError?.message, 'csinode.storage.k8s.io "no-such-node" not found');
    assert.notEqual(bad.status?.attached, true);
    await client.request({ method: "DELETE", path: `${VA_PATH}/it-csi-va-x-${process.pid}` });
    await gone("the failed VolumeAttachment", `${VA_PATH}/it-csi-va-x-${process.pid}`);
  });

  test("a claim's expansion is reported: PV and claim capacity, no resize status left, events", async () => {
    await client.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims/data-0`,
      patchType: "merge",
      body: { spec: { resources: { requests: { storage: "2Gi" } } } },
    });
    await eventually("the claim's capacity 2Gi", 60_000, async () => {
      const c = await getClaim("data-0");
      return { done: c.status?.capacity?.storage === "2Gi", status: JSON.stringify(c.status) };
    });
    const c = await getClaim("data-0");
    assert.equal(c.status?.allocatedResourceStatuses?.["storage"], undefined);
    assert.ok(!c.status?.conditions?.some((x) => x.type === "Resizing"));
    const pv = await client.get<Pv>(`/api/v1/persistentvolumes/${c.spec.volumeName}`);
    assert.equal(pv.spec.capacity.storage, "2Gi");
    const ev = await eventually("VolumeResizeSuccessful recorded", 20_000, async () => {
      const e = await events("data-0");
      return {
        done: e.some((x) => x.reason === "VolumeResizeSuccessful"),
        status: e.map((x) => x.reason).join(","),
      };
    });
    assert.ok(ev.done);
    assert.ok((await events("data-0")).some((x) => x.reason === "Resizing"));
  });

  test("deleting the claim deletes its PV (reclaim Delete)", async () => {
    const c = await getClaim("data-0");
    await client.request({
      method: "DELETE",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims/data-0`,
    });
    await gone("the released PV", `/api/v1/persistentvolumes/${c.spec.volumeName}`);
  });

  test("a class with an unknown parameter gives ProvisioningFailed naming it", async () => {
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
      body: claim("bad-0", BAD_CLASS),
    });
    const r = await eventually("ProvisioningFailed", 30_000, async () => {
      const e = await events("bad-0");
      return {
        done: e.some((x) => x.reason === "ProvisioningFailed"),
        status: e.map((x) => x.reason).join(","),
      };
    });
    assert.ok(r.done);
    const failed = (await events("bad-0")).find((x) => x.reason === "ProvisioningFailed")!;
    assert.equal(failed.type, "Warning");
    assert.match(failed.message, /InvalidArgument/);
    assert.match(failed.message, /unknown parameter "speed"/);
    assert.equal((await getClaim("bad-0")).status?.phase, "Pending");
  });

  test("a WaitForFirstConsumer claim waits for the scheduler's node and is provisioned there", async () => {
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
      body: claim("late-0", WFFC_CLASS),
    });
    await new Promise((r) => setTimeout(r, 3_000));
    const waiting = await getClaim("late-0");
    assert.equal(waiting.status?.phase, "Pending");
    assert.equal(waiting.spec.volumeName, undefined, "no volume before a node is selected");
    // What the scheduler's volume binding writes when it picks a node for the claim's pod.
    await client.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims/late-0`,
      patchType: "merge",
      body: { metadata: { annotations: { "volume.kubernetes.io/selected-node": "it-csi-5" } } },
    });
    const c = await boundClaim("late-0");
    const pv = await client.get<Pv>(`/api/v1/persistentvolumes/${c.spec.volumeName}`);
    assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0]!.matchExpressions[0]!.values, [
      "it-csi-5",
    ]);
    await client.request({
      method: "DELETE",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims/late-0`,
    });
    await gone("the WaitForFirstConsumer PV", `/api/v1/persistentvolumes/${c.spec.volumeName}`);
  });

  test("a StatefulSet with a volumeClaimTemplate runs: volumes provisioned on the scheduler's nodes, attached, detached at scale 0, deleted with the claims", async () => {
    const t0 = Date.now();
    await client.request({
      method: "POST",
      path: `/apis/apps/v1/namespaces/${NS}/statefulsets`,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 4,
          podManagementPolicy: "Parallel",
          serviceName: "web",
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              nodeSelector: { "kubemark-cluster.io/fleet": FLEET },
              containers: [
                {
                  name: "web",
                  image: "example.invalid/never-pulled:1",
                  imagePullPolicy: "Never",
                  volumeMounts: [{ name: "data", mountPath: "/data" }],
                },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: "data" },
              spec: {
                storageClassName: WFFC_CLASS,
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: "1Gi" } },
              },
            },
          ],
        },
      },
    });
    type Pod = { spec: { nodeName?: string }; status?: { phase?: string } };
    await eventually("4 pods Running", 120_000, async () => {
      const pods = (
        await client.get<{ items: Pod[] }>(`/api/v1/namespaces/${NS}/pods`, { labelSelector: "app=web" })
      ).items;
      const running = pods.filter((p) => p.status?.phase === "Running").length;
      return { done: running === 4, status: `${pods.length} pods, ${running} Running` };
    });
    process.stderr.write(
      `StatefulSet of 4 with volumes Running: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    const vas = (await client.get<{ items: (Va & { spec: { attacher: string } })[] }>(VA_PATH)).items.filter(
      (v) => v.spec.attacher === DRIVER,
    );
    assert.equal(vas.length, 4, "the attach/detach controller's VolumeAttachments");
    assert.ok(vas.every((v) => v.status?.attached === true));
    for (let i = 0; i < 4; i++) {
      const c = await getClaim(`data-web-${i}`);
      assert.equal(c.status?.phase, "Bound");
    }
    await client.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${NS}/statefulsets/web`,
      patchType: "merge",
      body: { spec: { replicas: 0 } },
    });
    await eventually("the VolumeAttachments gone at scale 0", 120_000, async () => {
      const left = (await client.get<{ items: { spec: { attacher: string } }[] }>(VA_PATH)).items.filter(
        (v) => v.spec.attacher === DRIVER,
      ).length;
      return { done: left === 0, status: `${left} left` };
    });
    const volumes: string[] = [];
    for (let i = 0; i < 4; i++) {
      volumes.push((await getClaim(`data-web-${i}`)).spec.volumeName!);
      await client.request({
        method: "DELETE",
        path: `/api/v1/namespaces/${NS}/persistentvolumeclaims/data-web-${i}`,
      });
    }
    for (const v of volumes) await gone(`PV ${v}`, `/api/v1/persistentvolumes/${v}`);
  });

  test("when the leader stops, the other process takes the Lease over and provisions", async () => {
    const before = await client.get<{ spec: { holderIdentity: string } }>(LEASE);
    const leader = engines.find((e) => e.logs().includes(before.spec.holderIdentity))!;
    const t0 = Date.now();
    await leader.stop();
    await eventually("another holder", 30_000, async () => {
      const l = await client.get<{ spec: { holderIdentity?: string } }>(LEASE);
      const h = l.spec.holderIdentity ?? "";
      return { done: h !== "" && h !== before.spec.holderIdentity, status: `holder "${h}"` };
    });
    process.stderr.write(`controller failover: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
      body: claim("data-1", CLASS),
    });
    const c = await boundClaim("data-1");
    assert.ok(c.spec.volumeName);
    await client.request({
      method: "DELETE",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims/data-1`,
    });
    await gone("the new leader's released PV", `/api/v1/persistentvolumes/${c.spec.volumeName}`);
  });
});
