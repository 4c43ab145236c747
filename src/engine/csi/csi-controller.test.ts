// The controller on a fake clock: it works only while it leads, with the modelled latencies.
import { protoOf } from "../../client/protobuf-types.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { KubeApiError } from "../../client/api-error.ts";
import type { KubeRequest } from "../../client/kube-client.ts";
import { FakeClock } from "../../kernel/clock.ts";
import { defaultEngineConfig } from "../config.ts";
import { DueQueue } from "../due-queue.ts";
import type { EngineContext } from "../engine-context.ts";
import type { WatchHandler } from "../watcher.ts";
import { CsiController } from "./csi-controller.ts";
import type { CsiConfig } from "./csi-names.ts";

const D = "hollow.csi.kubemark-cluster.io";
const CSI: CsiConfig = {
  driver: D,
  attachRequired: true,
  maxVolumesPerNode: 128,
  controller: true,
  leaseNamespace: "ns",
};
const LEASE = "/apis/coordination.k8s.io/v1/namespaces/ns/leases/hollow-csi-kubemark-cluster-io-controller";

interface Sent {
  at: number;
  method: string;
  path: string;
  body: {
    metadata?: { name?: string };
    status?: Record<string, unknown>;
    spec?: Record<string, unknown>;
  } & Record<string, unknown>;
}

/** An engine context whose API stores the Lease, echoes writes and lets the test drive the watches. */
function fakeEngine() {
  const clock = new FakeClock();
  const t0 = clock.now();
  const onError = (e: unknown): void => assert.fail(String(e));
  const sent: Sent[] = [];
  let lease: Record<string, unknown> | undefined;
  let rv = 0;
  const watches = new Map<string, WatchHandler<never>>();
  const stored = new Map<string, unknown>();
  const request = <T>(req: KubeRequest): Promise<T> => {
    const body = (req.body ?? {}) as Sent["body"];
    sent.push({ at: clock.now() - t0, method: req.method, path: req.path, body });
    if (req.path.startsWith("/apis/coordination.k8s.io")) {
      if (req.method === "GET" && !lease)
        return Promise.reject(
          new KubeApiError({
            code: "NOT_FOUND",
            status: 404,
            method: "GET",
            path: req.path,
            message: "not found",
          }),
        );
      if (req.method !== "GET")
        lease = { ...body, metadata: { ...(body.metadata ?? {}), resourceVersion: String(++rv) } };
      return Promise.resolve(lease as T);
    }
    // A PATCH answers the object as delivered (the fake applies no patch); a POST echoes its body.
    if (req.method === "PATCH" && stored.has(req.path)) return Promise.resolve(stored.get(req.path) as T);
    return Promise.resolve({ metadata: { name: "x" }, spec: {}, ...body } as T);
  };
  const ctx: EngineContext = {
    cfg: defaultEngineConfig([]),
    clock,
    random: () => 0.5,
    queue: new DueQueue({ clock, concurrency: 200, onError }),
    beats: new DueQueue({ clock, concurrency: Infinity, onError }),
    log: pino({ level: "silent" }),
    nodeLogger: () => pino({ level: "silent" }),
    metrics: undefined as never,
    request,
    heartbeat: request,
    watch: (path, _q, handler) => {
      watches.set(path, handler);
      return { stop: () => watches.delete(path) } as never;
    },
    proxy: undefined,
    proto: (type) => protoOf(true, type),
    fallbackPodCidr: () => undefined,
  };
  const deliver = (path: string, type: "ADDED" | "MODIFIED" | "DELETED", obj: unknown): void => {
    const h = watches.get(path);
    assert.ok(h, `watching ${path}`);
    stored.set(`${path}/${(obj as { metadata: { name: string } }).metadata.name}`, obj);
    h.onEvent(type, obj as never);
  };
  const sync = (path: string, objs: unknown[] = []): void => {
    watches.get(path)?.onRelistStart?.();
    for (const o of objs) deliver(path, "ADDED", o);
    watches.get(path)!.onSynced?.();
  };
  return { clock, ctx, sent, watches, deliver, sync, lease: () => lease };
}

const latencies = { provisionLatency: "2s", attachLatency: "3s", expandLatency: "1s", deleteLatency: "1s" };
const cls = {
  metadata: { name: "fast", uid: "c1" },
  provisioner: D,
  parameters: latencies,
  reclaimPolicy: "Delete",
  volumeBindingMode: "Immediate",
};
const csiNode = { metadata: { name: "n1" }, spec: { drivers: [{ name: D, nodeID: "n1" }] } };
const claim = {
  metadata: {
    name: "data-0",
    namespace: "app",
    uid: "u1",
    resourceVersion: "3",
    annotations: { "volume.kubernetes.io/storage-provisioner": D },
  },
  spec: {
    storageClassName: "fast",
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: "1Gi" } },
  },
  status: { phase: "Pending" },
};

/** Starts a controller, lets it win the election and fills its caches. */
async function leading(f: ReturnType<typeof fakeEngine>): Promise<CsiController> {
  const c = new CsiController(f.ctx, CSI, { identity: "me" });
  c.start();
  await f.clock.advance(10);
  assert.ok(c.leading);
  f.sync("/apis/storage.k8s.io/v1/storageclasses", [cls]);
  f.sync("/apis/storage.k8s.io/v1/csinodes", [csiNode]);
  f.sync("/api/v1/persistentvolumes");
  assert.ok(!f.watches.has("/api/v1/persistentvolumeclaims"), "claims wait for the caches");
  f.sync("/apis/storage.k8s.io/v1/volumeattachments");
  f.sync("/api/v1/persistentvolumeclaims");
  return c;
}

test("controller: a claim's PV is created the class's provisionLatency after the Provisioning event", async () => {
  const f = fakeEngine();
  await leading(f);
  f.deliver("/api/v1/persistentvolumeclaims", "ADDED", claim);
  await f.clock.advance(1_900);
  const reasons = (): unknown[] =>
    f.sent.filter((s) => s.path.endsWith("/events")).map((s) => s.body["reason"]);
  assert.deepEqual(reasons(), ["LeaderElection", "Provisioning"]);
  assert.ok(!f.sent.some((s) => s.method === "POST" && s.path === "/api/v1/persistentvolumes"));
  await f.clock.advance(200);
  const post = f.sent.find((s) => s.method === "POST" && s.path === "/api/v1/persistentvolumes");
  assert.ok(post, "PV created");
  const provisioning = f.sent.find((s) => s.body["reason"] === "Provisioning")!;
  assert.equal(post.at - provisioning.at, 2_000, "the class's provisionLatency");
  assert.equal(post.body.metadata?.name, "pvc-u1");
  assert.deepEqual(reasons(), ["LeaderElection", "Provisioning", "ProvisioningSucceeded"]);
});

test("controller: a VolumeAttachment is attached attachLatency after the finalizers are set", async () => {
  const f = fakeEngine();
  await leading(f);
  const pv = {
    metadata: { name: "pvc-u1", annotations: { "pv.kubernetes.io/provisioned-by": D } },
    spec: {
      csi: { driver: D, volumeHandle: "pvc-u1", volumeAttributes: latencies },
      claimRef: { uid: "u1" },
    },
    status: { phase: "Bound" },
  };
  f.deliver("/api/v1/persistentvolumes", "ADDED", pv);
  const va = {
    metadata: { name: "va1" },
    spec: { attacher: D, nodeName: "n1", source: { persistentVolumeName: "pvc-u1" } },
  };
  f.deliver("/apis/storage.k8s.io/v1/volumeattachments", "ADDED", va);
  await f.clock.advance(10);
  const patches = (): Sent[] => f.sent.filter((s) => s.method === "PATCH");
  assert.deepEqual(
    patches().map((s) => s.path),
    ["/api/v1/persistentvolumes/pvc-u1", "/apis/storage.k8s.io/v1/volumeattachments/va1"],
  );
  await f.clock.advance(2_900);
  assert.equal(patches().length, 2, "attaching");
  await f.clock.advance(200);
  const status = patches().at(-1)!;
  assert.equal(status.path, "/apis/storage.k8s.io/v1/volumeattachments/va1/status");
  assert.deepEqual(status.body, { status: { attached: true } });
});

test("controller: stopping hands the Lease back, and work in flight writes nothing more", async () => {
  const f = fakeEngine();
  const c = await leading(f);
  f.deliver("/api/v1/persistentvolumeclaims", "ADDED", claim);
  await f.clock.advance(1_000);
  await c.stop();
  assert.equal(c.leading, false);
  assert.equal((f.lease()?.["spec"] as { holderIdentity: string }).holderIdentity, "");
  assert.equal(f.watches.size, 0, "no watch left");
  await f.clock.advance(10_000);
  assert.ok(
    !f.sent.some((s) => s.method === "POST" && s.path === "/api/v1/persistentvolumes"),
    "no PV after the stop",
  );
  assert.ok(f.sent.some((s) => s.method === "PUT" && s.path === LEASE));
});
