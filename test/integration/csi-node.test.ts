/**
 * The hollow CSI driver's node side on a real control plane (scheduler, PV controller and
 * attach/detach controller running; the fleet's own controller off, so the test plays the
 * external-attacher): each node's CSINode lists the driver and its Node carries the topology label
 * and node-ID annotation; a pod with a PVC bound to a PV of the driver stays ContainerCreating
 * until the VolumeAttachment kube-controller-manager made is attached, then runs; the node's
 * `volumesInUse` lists the volume while it runs and drops it when the pod is deleted, and the
 * attach/detach controller then deletes the VolumeAttachment; a PV of a driver no node has gives
 * the kubelet's FailedMount.
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
import { csiDriverName, topologyKey, uniqueVolumeName } from "../../src/engine/csi/csi-names.ts";
import { NODE_ID_ANNOTATION, attachmentName } from "../../src/engine/csi/volume-decisions.ts";

const FLEET = "it-csin";
const DRIVER = csiDriverName(FLEET);
const NS = `it-csin-${process.pid}`;
const NODES = ["it-csin-0", "it-csin-1", "it-csin-2"];
const VA_PATH = "/apis/storage.k8s.io/v1/volumeattachments";

interface NodeView {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: { volumesInUse?: string[]; volumesAttached?: { name: string }[] };
}
interface PodView {
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { state?: { waiting?: { reason?: string } } }[];
  };
}

describe("the hollow CSI driver's node side on a real control plane", () => {
  let client: KubeClient;
  let engine: EngineProcess;
  const pvs: string[] = [];

  /** A PV of `driver` pre-bound to claim `claim`, only on `node`; and the claim. */
  const volume = async (name: string, driver: string, node: string): Promise<void> => {
    pvs.push(name);
    await client.request({
      method: "POST",
      path: "/api/v1/persistentvolumes",
      body: {
        metadata: { name },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Retain",
          storageClassName: "",
          claimRef: { namespace: NS, name },
          csi: {
            driver,
            volumeHandle: name,
            volumeAttributes: { mountLatency: "200ms", unmountLatency: "200ms" },
          },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] },
              ],
            },
          },
        },
      },
    });
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
      body: {
        metadata: { name },
        spec: {
          storageClassName: "",
          volumeName: name,
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: "1Gi" } },
        },
      },
    });
  };
  const pod = (name: string, claim: string): Promise<unknown> =>
    client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/pods`,
      body: {
        metadata: { name },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "app",
              image: "registry.k8s.io/pause:3.10",
              volumeMounts: [{ name: "data", mountPath: "/data" }],
            },
          ],
          volumes: [{ name: "data", persistentVolumeClaim: { claimName: claim } }],
        },
      },
    });
  const getPod = (name: string): Promise<PodView> =>
    client.get<PodView>(`/api/v1/namespaces/${NS}/pods/${name}`);
  const getNode = (name: string): Promise<NodeView> => client.get<NodeView>(`/api/v1/nodes/${name}`);

  before(async () => {
    client = await adminClientFor();
    await client.request({ method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: NS } } });
    await client
      .request({
        method: "POST",
        path: "/apis/storage.k8s.io/v1/csidrivers",
        body: { metadata: { name: DRIVER }, spec: { attachRequired: true, podInfoOnMount: false } },
      })
      .catch(() => undefined);
    engine = startFleetEngine({ nodes: NODES.length, fleet: FLEET, namePrefix: "it-csin" }, [
      "--csi-driver",
      DRIVER,
      "--no-csi-controller",
    ]);
    await fleetNodesReady(client, FLEET, NODES.length);
    await defaultServiceAccount(client, NS);
  });

  after(async () => {
    await engine.stop();
    const log = join(tmpdir(), `csi-node-it-${process.pid}.log`);
    await writeFile(log, engine.logs());
    process.stderr.write(`engine logs: ${log}\n`);
    await client
      .request({ method: "DELETE", path: `/apis/storage.k8s.io/v1/csidrivers/${DRIVER}` })
      .catch(() => undefined);
    for (const pv of pvs)
      await client
        .request({ method: "DELETE", path: `/api/v1/persistentvolumes/${pv}` })
        .catch(() => undefined);
    await removeTestObjects(client, NS, FLEET);
  });

  test("registration: each CSINode lists the driver; each Node has its topology label and node ID", async () => {
    await eventually("the driver registered on every node", 60_000, async () => {
      let done = 0;
      for (const n of NODES) {
        const cn = await client
          .get<{
            spec?: {
              drivers?: {
                name: string;
                nodeID: string;
                topologyKeys: string[];
                allocatable?: { count: number };
              }[];
            };
          }>(`/apis/storage.k8s.io/v1/csinodes/${n}`)
          .catch(() => undefined);
        const d = cn?.spec?.drivers?.find((x) => x.name === DRIVER);
        const node = await getNode(n);
        if (
          d?.nodeID === n &&
          d.topologyKeys.join() === topologyKey(DRIVER) &&
          (d.allocatable?.count ?? 0) > 0 &&
          node.metadata.labels?.[topologyKey(DRIVER)] === n &&
          node.metadata.annotations?.[NODE_ID_ANNOTATION] === JSON.stringify({ [DRIVER]: n })
        )
          done++;
      }
      return { done: done === NODES.length, status: `${done}/${NODES.length}` };
    });
  });

  test("a pod waits for its volume's attach, runs once attached; deleted, volumesInUse drops it and the VolumeAttachment goes", async () => {
    const node = NODES[1]!;
    const name = `data-${process.pid}`;
    await volume(name, DRIVER, node);
    await pod("web", name);
    const unique = uniqueVolumeName(DRIVER, name);
    const va = `${VA_PATH}/${attachmentName(name, DRIVER, node)}`;

    // Scheduled to the PV's node; the attach/detach controller makes the VolumeAttachment, which
    // nobody attaches yet: the pod stays ContainerCreating while its node reports the volume in use.
    await eventually("the VolumeAttachment made and the volume in use", 60_000, async () => {
      const p = await getPod("web");
      const a = await client.get(va).catch(() => undefined);
      const inUse = (await getNode(node)).status?.volumesInUse ?? [];
      return {
        done: p.spec.nodeName === node && a !== undefined && inUse.includes(unique),
        status: `node ${p.spec.nodeName ?? "-"}, VA ${a ? "made" : "none"}, volumesInUse [${inUse.join(" ")}]`,
      };
    });
    const waiting = await getPod("web");
    assert.equal(waiting.status?.phase, "Pending");
    assert.equal(
      waiting.status?.conditions?.find((c) => c.type === "PodReadyToStartContainers")?.status,
      "False",
    );
    assert.equal(waiting.status?.containerStatuses?.[0]?.state?.waiting?.reason, "ContainerCreating");

    // The test attaches it, as the external-attacher would; the controller lists it in volumesAttached.
    const attachedAt = Date.now();
    await client.request({
      method: "PATCH",
      path: `${va}/status`,
      patchType: "merge",
      body: { status: { attached: true } },
    });
    await eventually("the pod Running", 120_000, async () => {
      const p = await getPod("web");
      return { done: p.status?.phase === "Running", status: p.status?.phase ?? "-" };
    });
    process.stderr.write(`attached to Running: ${Date.now() - attachedAt} ms\n`);
    assert.ok((await getNode(node)).status?.volumesAttached?.some((v) => v.name === unique));

    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${NS}/pods/web` });
    const deletedAt = Date.now();
    await eventually("volumesInUse without the volume and the VolumeAttachment gone", 120_000, async () => {
      const inUse = (await getNode(node)).status?.volumesInUse ?? [];
      let vaGone = false;
      await client.get(va).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
        vaGone = true;
      });
      return {
        done: !inUse.includes(unique) && vaGone,
        status: `volumesInUse [${inUse.join(" ")}], VA ${vaGone ? "gone" : "there"}`,
      };
    });
    process.stderr.write(`deleted to detached: ${Date.now() - deletedAt} ms\n`);
    await assert.rejects(getPod("web"), (err: unknown) => isNotFound(err), "the pod is gone");
  });

  test("a PV of a CSI driver no hollow node has: the kubelet's FailedMount, the pod stays ContainerCreating", async () => {
    const name = `other-${process.pid}`;
    await volume(name, "unknown.csi.example.com", NODES[2]!);
    await pod("other", name);
    await eventually("a FailedMount event from the kubelet", 90_000, async () => {
      const evs = await client.get<{
        items: { reason: string; type: string; message: string; source?: { component?: string } }[];
      }>(`/api/v1/namespaces/${NS}/events`, { fieldSelector: "involvedObject.name=other" });
      const fm = evs.items.find((e) => e.reason === "FailedMount" && e.source?.component === "kubelet");
      if (fm) {
        assert.equal(fm.type, "Warning");
        assert.match(
          fm.message,
          /driver name unknown\.csi\.example\.com not found in the list of registered CSI drivers/,
        );
      }
      return { done: fm !== undefined, status: evs.items.map((e) => e.reason).join(",") || "no events" };
    });
    const p = await getPod("other");
    assert.equal(p.status?.phase, "Pending");
    assert.equal(p.status?.containerStatuses?.[0]?.state?.waiting?.reason, "ContainerCreating");
  });
});
