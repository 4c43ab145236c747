// The hollow CSI driver's node side when a pod goes while its volume is being set up or torn
// down: whatever the interleaving, once no pod needs the volume it leaves the volume manager and
// the next status sync clears it from the Node's volumesInUse (else the attach/detach controller
// keeps it attached until its 6-minute force detach).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeRequest } from "../../client/kube-client.ts";
import type { PodObject } from "../pod-object.ts";
import {
  NAME,
  NODE_UID,
  bind,
  makePod,
  podPath,
  registered,
  type Harness,
} from "../testdata/hollow-node-harness.ts";
import { uniqueVolumeName, type CsiConfig } from "./csi-names.ts";
import { attachmentName } from "./volume-decisions.ts";

const DRIVER = "hollow.csi.kubemark-cluster.io";
const CSI: CsiConfig = {
  driver: DRIVER,
  attachRequired: true,
  maxVolumesPerNode: 16,
  controller: false,
  leaseNamespace: "kube-system",
};
const PVC = "/api/v1/namespaces/default/persistentvolumeclaims/data-web-0";
const PV = "/api/v1/persistentvolumes/pvc-1";
const VA = `/apis/storage.k8s.io/v1/volumeattachments/${attachmentName("pvc-1", DRIVER, NAME)}`;
const UNIQUE = uniqueVolumeName(DRIVER, "pvc-1");
const NODE_STATUS = `/api/v1/nodes/${NAME}/status`;

type Setup = Harness & {
  /** The next request `METHOD path` waits until the returned function is called. */
  stall: (route: string) => () => void;
  /** Each volumesInUse a node status PATCH wrote (null: cleared). */
  inUseWrites: () => unknown[];
};

/** A registered node with the driver; the claim bound to its PV, attached per the Node and the VolumeAttachment. */
async function setUp(attached = true): Promise<Setup> {
  const h = await registered({ csi: CSI });
  const stalls = new Map<string, Promise<void>>();
  const request = h.api.request.bind(h.api);
  h.api.request = async <T>(req: KubeRequest): Promise<T> => {
    const route = `${req.method} ${req.path}`;
    const gate = stalls.get(route);
    if (gate) {
      stalls.delete(route);
      await gate;
    }
    return request<T>(req);
  };
  const stall = (route: string): (() => void) => {
    let release = (): void => undefined;
    stalls.set(
      route,
      new Promise((resolve) => {
        release = resolve;
      }),
    );
    return () => release();
  };
  h.api.objects.set(PVC, {
    metadata: { uid: "claim-uid" },
    spec: { volumeName: "pvc-1" },
    status: { phase: "Bound" },
  });
  h.api.objects.set(PV, {
    metadata: { name: "pvc-1" },
    spec: {
      claimRef: { uid: "claim-uid" },
      csi: {
        driver: DRIVER,
        volumeHandle: "pvc-1",
        volumeAttributes: { mountLatency: "1s", unmountLatency: "2s" },
      },
    },
  });
  h.api.objects.set(VA, { metadata: { name: VA.split("/").pop() }, status: { attached: true } });
  if (attached)
    h.api.existingNode = {
      metadata: { name: NAME, uid: NODE_UID },
      status: { volumesAttached: [{ name: UNIQUE, devicePath: "" }] },
    };
  const inUseWrites = (): unknown[] =>
    h.api.requests
      .filter((r) => r.method === "PATCH" && r.path === NODE_STATUS)
      .map((r) => (r.body as unknown as { status: Record<string, unknown> }).status)
      .filter((s) => "volumesInUse" in s)
      .map((s) => s.volumesInUse);
  return { ...h, stall, inUseWrites };
}

function webPod(name = "web-0", over: Partial<PodObject["metadata"]> = {}): PodObject {
  const p = makePod(
    name,
    { containers: [{ name: "app", image: "nginx", volumeMounts: [{ name: "data", mountPath: "/data" }] }] },
    over,
  );
  (p.spec.volumes as unknown[]).push({ name: "data", persistentVolumeClaim: { claimName: "data-web-0" } });
  return p;
}

const deleting = (p: PodObject): PodObject => ({
  ...p,
  metadata: { ...p.metadata, deletionTimestamp: "2026-01-01T00:00:00Z", deletionGracePeriodSeconds: 30 },
});

/** The pod's deletion as the benchmark's clean-up makes it: graceful, then the node's DELETE, then the event. */
async function deletePod(h: Setup, p: PodObject): Promise<void> {
  const d = deleting(p);
  h.api.pods.set(podPath(p.metadata.name), d);
  h.node.onPod("MODIFIED", d);
  await h.clock.advance(40_000);
  h.node.onPod("DELETED", d);
}

/** No volume in use, and the server's list cleared (or never written). */
async function assertCleared(h: Setup): Promise<void> {
  await h.clock.advance(15_000);
  assert.deepEqual(h.node.volumes?.inUse() ?? [], [], "no volume in use");
  const writes = h.inUseWrites();
  if (writes.some((w) => Array.isArray(w) && w.length > 0))
    assert.equal(writes.at(-1), null, "the list cleared");
}

test("deleted while the populator reads the claim: the volume never stays in use", async () => {
  const h = await setUp();
  const release = h.stall(`GET ${PVC}`);
  const p = webPod();
  bind(h, p);
  await h.clock.advance(1_000);
  await deletePod(h, p);
  release();
  await assertCleared(h);
});

test("deleted, claim and all, while the populator reads them (404s): no volume in use", async () => {
  const h = await setUp();
  const release = h.stall(`GET ${PV}`);
  const p = webPod();
  bind(h, p);
  await h.clock.advance(1_000);
  h.api.objects.delete(PVC);
  h.api.objects.delete(PV);
  h.api.failNext("GET", PV, 404);
  h.node.onPod("DELETED", deleting(p));
  release();
  await assertCleared(h);
});

test("deleted while the attach is being verified: the volume leaves use", async () => {
  const h = await setUp(false);
  const p = webPod();
  bind(h, p);
  await h.clock.advance(30_000);
  assert.deepEqual(h.node.volumes?.inUse(), [UNIQUE]);
  await deletePod(h, p);
  await assertCleared(h);
});

test("deleted while the VolumeAttachment is read, or during the mount: the volume leaves use", async () => {
  for (const at of ["va", "mount"] as const) {
    const h = await setUp();
    const release = at === "va" ? h.stall(`GET ${VA}`) : () => undefined;
    const p = webPod();
    bind(h, p);
    await h.clock.advance(at === "va" ? 12_000 : 11_500);
    h.node.onPod("DELETED", deleting(p));
    release();
    await assertCleared(h);
  }
});

test("deletion observed while the pod's first status write is in flight: the terminating pod's volumes are not set up anew", async () => {
  const h = await setUp();
  const release = h.stall(`PATCH ${podPath("web-0")}/status`);
  const p = webPod();
  bind(h, p);
  await h.clock.advance(100);
  const d = deleting(p);
  h.api.pods.set(podPath("web-0"), d);
  h.node.onPod("MODIFIED", d);
  await h.clock.advance(100);
  release();
  await h.clock.advance(40_000);
  assert.deepEqual(h.node.volumes?.inUse() ?? [], [], "a terminating pod adds no volume");
  h.node.onPod("DELETED", d);
  await assertCleared(h);
});

test("two pods share the volume: it stays in use while one of them needs it, and leaves with the last", async () => {
  const h = await setUp();
  const a = webPod("web-0");
  const b = webPod("web-1");
  bind(h, a);
  bind(h, b);
  await h.clock.advance(30_000);
  await deletePod(h, a);
  await h.clock.advance(15_000);
  assert.deepEqual(h.node.volumes?.inUse(), [UNIQUE]);
  await deletePod(h, b);
  await assertCleared(h);
});

test("the pod's volume leaves use while the status write listing it is in flight: the next sync clears it", async () => {
  const h = await setUp(false);
  const p = webPod();
  bind(h, p);
  await h.clock.advance(1_000);
  // The node's status writes take 12 s: the pod is deleted and its volume unmounted meanwhile.
  h.api.heartbeatDelayMs = 12_000;
  while (h.inUseWrites().length === 0) await h.clock.advance(500);
  h.node.onPod("DELETED", deleting(p));
  await h.clock.advance(12_000);
  h.api.heartbeatDelayMs = 0;
  assert.deepEqual(h.inUseWrites(), [[UNIQUE]]);
  await assertCleared(h);
  assert.equal(h.inUseWrites().at(-1), null);
});

test("deleted outright while its first status write is in flight: the populator reads no claim of it after", async () => {
  const h = await setUp();
  const release = h.stall(`PATCH ${podPath("web-0")}/status`);
  const p = webPod();
  bind(h, p);
  await h.clock.advance(100);
  // The pod worker goes on without waiting for the write (the status manager's): its volumes
  // may be set up before the deletion, never after.
  const before = h.api.requests.filter((r) => r.path === PVC).length;
  h.node.onPod("DELETED", p);
  release();
  await h.clock.advance(30_000);
  assert.equal(
    h.api.requests.filter((r) => r.path === PVC).length,
    before,
    "a forgotten pod's volumes are not populated",
  );
  await assertCleared(h);
});

test("a running pod forgotten (a relist missed it) and seen again while its old entry unmounts: its volume stays in use", async () => {
  const h = await setUp();
  const p = webPod();
  bind(h, p);
  await h.clock.advance(30_000);
  assert.deepEqual(h.node.volumes?.inUse(), [UNIQUE]);
  const pods = h.node.podHandler();
  pods.onRelistStart();
  pods.onSynced(); // the relist did not list it: forgotten, its volume unmounting (2 s)
  const running = {
    ...p,
    status: { phase: "Running", podIP: "10.64.0.9", startTime: "2026-01-01T00:00:00Z" },
  } as PodObject;
  h.node.onPod("MODIFIED", running);
  await h.clock.advance(30_000);
  assert.deepEqual(h.node.volumes?.inUse(), [UNIQUE], "the pod seen again uses its volume");
  await deletePod(h, running);
  await assertCleared(h);
});
