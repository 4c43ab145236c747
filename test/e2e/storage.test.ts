/**
 * Stateful workloads on hollow nodes, run as a user would on the real local control plane (issue
 * #18): `create` makes the fleet's hollow CSI driver and StorageClass; a StatefulSet of 20 replicas
 * with a 1Gi volumeClaimTemplate on 10 hollow nodes gets 20 PVs bound where the scheduler put the
 * pods (WaitForFirstConsumer), attached by VolumeAttachments the attach/detach controller makes,
 * listed in the nodes' volumesInUse, and Running pods; an expansion is reported; scaling to 0
 * detaches; deleting the claims deletes the volumes; a generic ephemeral volume (beside emptyDir and
 * configMap volumes) is provisioned for its pod and goes with it; `cleanup` removes the driver's objects.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient } from "../../src/client/kube-client.ts";
import {
  csiDriverName,
  storageClassName,
  topologyKey,
  uniqueVolumeName,
} from "../../src/engine/csi/csi-names.ts";
import { defaultServiceAccount } from "../engine-process.ts";
import { FLEET, ok } from "../fleet-checks.ts";
import { adminClientFor, cli, eventually, testCluster } from "../harness.ts";

const NS = "storage-e2e";
const APP = "storage-app";
const DRIVER = csiDriverName(NS);
const CLASS = storageClassName(NS);

interface Pvc {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { volumeName?: string };
  status?: { phase?: string; capacity?: { storage?: string } };
}
interface Pv {
  metadata: { name: string };
  spec: {
    csi?: { driver: string; volumeHandle: string };
    claimRef?: { namespace: string; name: string };
    nodeAffinity?: {
      required?: { nodeSelectorTerms?: { matchExpressions?: { key: string; values?: string[] }[] }[] };
    };
  };
}
interface Va {
  metadata: { name: string };
  spec: { attacher: string; nodeName: string; source: { persistentVolumeName?: string } };
  status?: { attached?: boolean };
}
interface PodObj {
  metadata: { name: string };
  spec: { nodeName?: string };
  status?: { phase?: string };
}
interface NodeVolumes {
  metadata: { name: string };
  status?: { volumesInUse?: string[]; volumesAttached?: { name: string }[] };
}

const list = async <T>(client: KubeClient, path: string, query?: Record<string, string>): Promise<T[]> =>
  (await client.get<{ items: T[] }>(path, query)).items;

/** The StatefulSet: pause pods (they run until deleted) with one 1Gi volume each, on the fleet's nodes. */
function statefulSet(replicas: number): object {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: APP },
    spec: {
      replicas,
      serviceName: "db",
      podManagementPolicy: "Parallel",
      selector: { matchLabels: { app: "db" } },
      template: {
        metadata: { labels: { app: "db" } },
        spec: {
          nodeSelector: { [FLEET]: NS },
          containers: [
            {
              name: "db",
              image: "registry.k8s.io/pause:3.10",
              volumeMounts: [{ name: "data", mountPath: "/data" }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: CLASS,
            resources: { requests: { storage: "1Gi" } },
          },
        },
      ],
    },
  };
}

test("storage: a StatefulSet of 20 with volumes on 10 hollow nodes binds, attaches, runs, expands, detaches, deletes", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const scope = ["--kubeconfig", c.kubeconfig, "-n", NS];
  try {
    const create = await cli(["create", "10", ...scope]);
    ok(create, "create 10");
    assert.match(
      create.stdout + create.stderr,
      new RegExp(`StorageClass ${CLASS}`),
      "create says which class it made",
    );
    const driver = await client.get<{ spec: { attachRequired: boolean } }>(
      `/apis/storage.k8s.io/v1/csidrivers/${DRIVER}`,
    );
    assert.equal(driver.spec.attachRequired, true);
    const csiNodes = await list<{ metadata: { name: string }; spec: { drivers?: { name: string }[] } }>(
      client,
      "/apis/storage.k8s.io/v1/csinodes",
    );
    await eventually("every fleet node's CSINode lists the driver", 60_000, async () => {
      const withDriver = (
        await list<{ spec: { drivers?: { name: string }[] } }>(client, "/apis/storage.k8s.io/v1/csinodes")
      ).filter((n) => n.spec.drivers?.some((d) => d.name === DRIVER)).length;
      return { done: withDriver === 10, status: `${withDriver}/10 (of ${csiNodes.length} CSINodes)` };
    });

    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: APP } } });
    await defaultServiceAccount(client, APP);

    // WaitForFirstConsumer: a claim no pod uses stays unbound.
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${APP}/persistentvolumeclaims`,
      body: {
        metadata: { name: "unused" },
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: CLASS,
          resources: { requests: { storage: "1Gi" } },
        },
      },
    });

    await client.request({
      method: "POST",
      path: `/apis/apps/v1/namespaces/${APP}/statefulsets`,
      body: statefulSet(20),
    });
    await eventually("20 db pods Running", 240_000, async () => {
      const pods = await list<PodObj>(client, `/api/v1/namespaces/${APP}/pods`, { labelSelector: "app=db" });
      const running = pods.filter((p) => p.status?.phase === "Running").length;
      return { done: running === 20, status: `${running}/20 Running of ${pods.length}` };
    });

    const pods = await list<PodObj>(client, `/api/v1/namespaces/${APP}/pods`, { labelSelector: "app=db" });
    const nodeOf = new Map(pods.map((p) => [p.metadata.name, p.spec.nodeName ?? ""]));
    assert.ok(new Set(nodeOf.values()).size > 1, "the pods are spread over several nodes");
    const pvcs = await list<Pvc>(client, `/api/v1/namespaces/${APP}/persistentvolumeclaims`);
    const bound = pvcs.filter((p) => p.metadata.name.startsWith("data-db-"));
    assert.equal(bound.length, 20);
    for (const p of bound) assert.equal(p.status?.phase, "Bound", `${p.metadata.name} is Bound`);
    const unused = pvcs.find((p) => p.metadata.name === "unused");
    assert.equal(unused?.status?.phase, "Pending", "a claim no pod uses waits for its first consumer");
    assert.equal(unused?.spec.volumeName ?? "", "");

    const pvs = (await list<Pv>(client, "/api/v1/persistentvolumes")).filter(
      (v) => v.spec.csi?.driver === DRIVER,
    );
    assert.equal(pvs.length, 20, "20 PVs of the driver");
    const handles = new Map<string, string>();
    for (const pv of pvs) {
      const claim = pv.spec.claimRef?.name ?? "";
      const pod = claim.replace(/^data-/, "");
      const values = pv.spec.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.find(
        (e) => e.key === topologyKey(DRIVER),
      )?.values;
      assert.deepEqual(
        values,
        [nodeOf.get(pod)],
        `${pv.metadata.name} is placed on ${pod}'s node (the selected node's topology)`,
      );
      handles.set(pv.metadata.name, pv.spec.csi!.volumeHandle);
    }

    await eventually("20 VolumeAttachments attached, listed in the nodes' volumesInUse", 60_000, async () => {
      const vas = (await list<Va>(client, "/apis/storage.k8s.io/v1/volumeattachments")).filter(
        (v) => v.spec.attacher === DRIVER,
      );
      const attached = vas.filter((v) => v.status?.attached === true).length;
      const nodes = await list<NodeVolumes>(client, "/api/v1/nodes", { labelSelector: `${FLEET}=${NS}` });
      const inUse = new Set(nodes.flatMap((n) => n.status?.volumesInUse ?? []));
      const listed = [...handles.values()].filter((h) => inUse.has(uniqueVolumeName(DRIVER, h))).length;
      return {
        done: attached === 20 && listed === 20,
        status: `${attached}/20 attached, ${listed}/20 in use`,
      };
    });
    const vas = (await list<Va>(client, "/apis/storage.k8s.io/v1/volumeattachments")).filter(
      (v) => v.spec.attacher === DRIVER,
    );
    for (const va of vas) {
      const pv = va.spec.source.persistentVolumeName ?? "";
      const pvObj = pvs.find((v) => v.metadata.name === pv);
      const pod = (pvObj?.spec.claimRef?.name ?? "").replace(/^data-/, "");
      assert.equal(va.spec.nodeName, nodeOf.get(pod), `${va.metadata.name} attaches ${pv} to its pod's node`);
    }

    // A generic ephemeral volume beside emptyDir and configMap volumes: the claim the ephemeral
    // volume controller makes for the pod is provisioned, the pod runs, and the volume goes with it.
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${APP}/configmaps`,
      body: { metadata: { name: "settings" }, data: { a: "1" } },
    });
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${APP}/pods`,
      body: {
        metadata: { name: "eph" },
        spec: {
          nodeSelector: { [FLEET]: NS },
          containers: [
            {
              name: "c",
              image: "registry.k8s.io/pause:3.10",
              volumeMounts: [
                { name: "scratch", mountPath: "/scratch" },
                { name: "tmp", mountPath: "/tmp" },
                { name: "settings", mountPath: "/etc/settings" },
              ],
            },
          ],
          volumes: [
            {
              name: "scratch",
              ephemeral: {
                volumeClaimTemplate: {
                  spec: {
                    accessModes: ["ReadWriteOnce"],
                    storageClassName: CLASS,
                    resources: { requests: { storage: "1Gi" } },
                  },
                },
              },
            },
            { name: "tmp", emptyDir: {} },
            { name: "settings", configMap: { name: "settings" } },
          ],
        },
      },
    });
    await eventually("pod eph Running with its ephemeral claim Bound", 90_000, async () => {
      const p = await client.get<PodObj>(`/api/v1/namespaces/${APP}/pods/eph`);
      const claim = await client
        .get<Pvc>(`/api/v1/namespaces/${APP}/persistentvolumeclaims/eph-scratch`)
        .catch(() => undefined);
      return {
        done: p.status?.phase === "Running" && claim?.status?.phase === "Bound",
        status: `pod ${p.status?.phase ?? "none"}, claim ${claim?.status?.phase ?? "none"}`,
      };
    });
    const ephVolume = (await client.get<Pvc>(`/api/v1/namespaces/${APP}/persistentvolumeclaims/eph-scratch`))
      .spec.volumeName;
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${APP}/pods/eph` });
    await eventually("the ephemeral volume deleted with its pod", 120_000, async () => {
      const pv = await client.get(`/api/v1/persistentvolumes/${ephVolume}`).then(
        () => true,
        () => false,
      );
      return { done: !pv, status: pv ? `${ephVolume} still there` : "gone" };
    });

    // Expansion: the claim's capacity grows to what it asks for.
    await client.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${APP}/persistentvolumeclaims/data-db-0`,
      patchType: "merge",
      body: { spec: { resources: { requests: { storage: "2Gi" } } } },
    });
    await eventually("data-db-0 expanded to 2Gi", 60_000, async () => {
      const p = await client.get<Pvc>(`/api/v1/namespaces/${APP}/persistentvolumeclaims/data-db-0`);
      return { done: p.status?.capacity?.storage === "2Gi", status: p.status?.capacity?.storage ?? "none" };
    });

    // Scale to 0: pods go, the volumes leave volumesInUse, the attach/detach controller detaches.
    await client.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${APP}/statefulsets/db`,
      patchType: "merge",
      body: { spec: { replicas: 0 } },
    });
    await eventually("pods gone and every VolumeAttachment of the driver gone", 150_000, async () => {
      const left = (await list<PodObj>(client, `/api/v1/namespaces/${APP}/pods`, { labelSelector: "app=db" }))
        .length;
      const vasLeft = (await list<Va>(client, "/apis/storage.k8s.io/v1/volumeattachments")).filter(
        (v) => v.spec.attacher === DRIVER,
      ).length;
      const nodes = await list<NodeVolumes>(client, "/api/v1/nodes", { labelSelector: `${FLEET}=${NS}` });
      const inUse = nodes.reduce((n, x) => n + (x.status?.volumesInUse?.length ?? 0), 0);
      return {
        done: left === 0 && vasLeft === 0 && inUse === 0,
        status: `${left} pods, ${vasLeft} attachments, ${inUse} in use`,
      };
    });

    // Delete reclaim: deleting the claims deletes their volumes.
    await client.request({
      method: "DELETE",
      path: `/api/v1/namespaces/${APP}/persistentvolumeclaims`,
      query: { labelSelector: "app=db" },
    });
    await eventually("the 20 PVs deleted with their claims", 90_000, async () => {
      const left = (await list<Pv>(client, "/api/v1/persistentvolumes")).filter(
        (v) => v.spec.csi?.driver === DRIVER,
      ).length;
      return { done: left === 0, status: `${left} PVs left` };
    });

    const clean = await cli(["cleanup", ...scope]);
    ok(clean, "cleanup");
    await assert.rejects(client.get(`/apis/storage.k8s.io/v1/csidrivers/${DRIVER}`), /not found|404/i);
    await assert.rejects(client.get(`/apis/storage.k8s.io/v1/storageclasses/${CLASS}`), /not found|404/i);
  } finally {
    await cli(["cleanup", "--all", ...scope]).catch(() => undefined);
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${APP}` }).catch(() => undefined);
    await client.close();
  }
});
