// The hollow CSI driver's node side on a fake clock and API server: registration, a pod waiting
// for its volume's attach and mount, volumesInUse, unmount on deletion, FailedMount.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import type { KubeRequest } from "../../client/kube-client.ts";
import type { EngineConfig } from "../config.ts";
import { KubeletEventRecorder } from "../kubelet-event-recorder.ts";
import type { PodObject } from "../pod-object.ts";
import {
  NAME,
  NODE_UID,
  bind,
  harness,
  makePod,
  podPath,
  registered,
  routes,
  type Harness,
} from "../testdata/hollow-node-harness.ts";
import { topologyKey, uniqueVolumeName, type CsiConfig } from "./csi-names.ts";
import { NODE_ID_ANNOTATION, attachmentName, unregisteredDriverMessage } from "./volume-decisions.ts";

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

/** A registered node with the driver, the claim bound to a PV of `driver` (or of no CSI driver). */
async function setUp(
  over: Partial<EngineConfig> = {},
  pvCsi: object | null = { driver: DRIVER },
): Promise<
  Harness & {
    log: { at: number; route: string; body: unknown }[];
    events: () => { reason: string; message: string }[];
  }
> {
  const h = await registered({ csi: CSI, ...over });
  const log: { at: number; route: string; body: unknown }[] = [];
  const request = h.api.request.bind(h.api);
  h.api.request = <T>(req: KubeRequest): Promise<T> => {
    log.push({ at: h.clock.now(), route: `${req.method} ${req.path}`, body: req.body });
    return request<T>(req);
  };
  (h.node.ctx as { events?: KubeletEventRecorder }).events = new KubeletEventRecorder({
    clock: h.clock,
    queue: h.queue,
    random: () => 0.5,
    request: (req) => h.api.request(req),
    log: pino({ level: "silent" }),
  });
  h.api.objects.set(PVC, {
    metadata: { uid: "claim-uid" },
    spec: { volumeName: "pvc-1" },
    status: { phase: "Bound" },
  });
  h.api.objects.set(PV, {
    metadata: { name: "pvc-1" },
    spec: {
      claimRef: { uid: "claim-uid" },
      ...(pvCsi
        ? {
            csi: {
              volumeHandle: "pvc-1",
              volumeAttributes: { mountLatency: "1s", unmountLatency: "2s" },
              ...pvCsi,
            },
          }
        : { hostPath: { path: "/data" } }),
    },
  });
  // The external-attacher has attached it.
  h.api.objects.set(VA, { metadata: { name: VA.split("/").pop() }, status: { attached: true } });
  const events = (): { reason: string; message: string }[] =>
    log
      .filter((r) => r.route === "POST /api/v1/namespaces/default/events")
      .map((r) => r.body as { reason: string; message: string });
  return { ...h, log, events };
}

function webPod(over: Partial<PodObject["metadata"]> = {}, status?: PodObject["status"]): PodObject {
  const p = makePod(
    "web-0",
    {
      containers: [{ name: "app", image: "nginx", volumeMounts: [{ name: "data", mountPath: "/data" }] }],
    },
    over,
  );
  (p.spec.volumes as unknown[]).push({ name: "data", persistentVolumeClaim: { claimName: "data-web-0" } });
  if (status) p.status = status;
  return p;
}

const phases = (log: { route: string; body: unknown }[]): string[] =>
  log
    .filter((r) => r.route === `PATCH ${podPath("web-0")}/status`)
    .map((r) => (r.body as { status: { phase: string } }).status.phase);
const firstAt = (log: { at: number; route: string }[], route: string): number | undefined =>
  log.find((r) => r.route === route)?.at;
const inUseWrites = (log: { route: string; body: unknown }[]): unknown[] =>
  log
    .filter((r) => r.route === `PATCH ${NODE_STATUS}`)
    .map((r) => (r.body as { status: Record<string, unknown> }).status)
    .filter((s) => "volumesInUse" in s)
    .map((s) => s.volumesInUse);

test("registration: the node-info manager labels the Node, annotates its node ID and lists the driver in the CSINode", async () => {
  const { node, api, clock } = harness({ csi: CSI });
  await node.register();
  await clock.advance(20_000);
  const after = routes(api.requests).filter((r) => !r.includes("leases"));
  assert.deepEqual(after.slice(-4), [
    `GET /api/v1/nodes/${NAME}`,
    `PATCH ${NODE_STATUS}`,
    `GET /apis/storage.k8s.io/v1/csinodes/${NAME}`,
    `PUT /apis/storage.k8s.io/v1/csinodes/${NAME}`,
  ]);
  const patch = api.requests.filter((r) => r.path === NODE_STATUS).at(-1)!.body as unknown as {
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  };
  assert.deepEqual(patch.metadata, {
    labels: { [topologyKey(DRIVER)]: NAME },
    annotations: { [NODE_ID_ANNOTATION]: JSON.stringify({ [DRIVER]: NAME }) },
  });
  const put = api.requests.find((r) => r.method === "PUT" && r.path.includes("csinodes"))!
    .body as unknown as {
    spec: { drivers: unknown[] };
  };
  assert.deepEqual(put.spec.drivers, [
    { name: DRIVER, nodeID: NAME, topologyKeys: [topologyKey(DRIVER)], allocatable: { count: 16 } },
  ]);

  const minimal = harness({ csi: CSI, traffic: "minimal" });
  await minimal.node.register();
  assert.deepEqual(routes(minimal.api.requests).length, 4, "minimal traffic: no extra request");
  const post = minimal.api.requests[0]!.body as unknown as {
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  };
  assert.equal(post.metadata.labels[topologyKey(DRIVER)], NAME);
  assert.equal(post.metadata.annotations[NODE_ID_ANNOTATION], JSON.stringify({ [DRIVER]: NAME }));
  const csiNode = minimal.api.requests[3]!.body as unknown as {
    spec: { drivers: { nodeID: string }[] };
    metadata: { ownerReferences: { uid: string }[] };
  };
  assert.equal(csiNode.spec.drivers[0]!.nodeID, NAME);
  assert.equal(csiNode.metadata.ownerReferences[0]!.uid, NODE_UID);
});

test("a pod with a PVC waits ContainerCreating until its volume is reported in use, attached per the Node, and mounted", async () => {
  const h = await setUp();
  bind(h, webPod());
  await h.clock.advance(30_000);
  assert.deepEqual(phases(h.log), ["Pending"], "ContainerCreating while the volume is not attached");
  assert.ok(
    h.log.findIndex((r) => r.route === `GET ${PVC}`) < h.log.findIndex((r) => r.route === `GET ${PV}`),
    "the populator reads the claim, then its PV",
  );
  assert.deepEqual(inUseWrites(h.log), [[UNIQUE]], "the next status sync reports the volume in use");
  const reportedAt = h.log.find((r) => r.route === `PATCH ${NODE_STATUS}` && inUseWrites([r]).length > 0)!.at;
  const nodeGets = h.log.filter((r) => r.route === `GET /api/v1/nodes/${NAME}`);
  assert.ok(
    nodeGets.length >= 1 && nodeGets.every((r) => r.at >= reportedAt),
    "the Node is read only once reported",
  );
  assert.equal(firstAt(h.log, `GET ${VA}`), undefined);

  // The attach/detach controller lists the volume as attached.
  h.api.existingNode = {
    metadata: { name: NAME, uid: NODE_UID },
    status: { volumesAttached: [{ name: UNIQUE, devicePath: "" }] },
  };
  const attachedAt = h.clock.now();
  await h.clock.advance(60_000);
  assert.deepEqual(phases(h.log), ["Pending", "Running"]);
  const vaGets = h.log.filter((r) => r.route === `GET ${VA}`);
  assert.equal(vaGets.length, 2, "WaitForAttach and SetUp's publish context read the VolumeAttachment");
  const runningAt = h.log.find(
    (r) => r.route === `PATCH ${podPath("web-0")}/status` && phases([r])[0] === "Running",
  )!.at;
  assert.ok(runningAt >= vaGets[1]!.at + 1_000, "Running after the 1 s mount");
  assert.ok(vaGets[0]!.at > attachedAt);
  for (const r of h.log.filter((x) => x.route === `PATCH ${NODE_STATUS}`))
    assert.ok(!("volumesAttached" in (r.body as { status: object }).status), "never writes volumesAttached");

  // Deleted: containers stop, the terminated status, the 2 s unmount, then the pod's deletion;
  // the next status sync clears volumesInUse.
  h.log.length = 0;
  const deleting = webPod({ deletionTimestamp: "2026-01-01T00:00:00Z", deletionGracePeriodSeconds: 30 });
  h.api.pods.set(podPath("web-0"), deleting);
  h.node.onPod("MODIFIED", deleting);
  await h.clock.advance(40_000);
  const terminatedAt = h.log.find((r) => r.route === `PATCH ${podPath("web-0")}/status`)!.at;
  const deletedAt = firstAt(h.log, `DELETE ${podPath("web-0")}`)!;
  assert.ok(
    deletedAt >= terminatedAt + 2_000,
    `deleted ${deletedAt - terminatedAt} ms after its containers stopped`,
  );
  h.node.onPod("DELETED", deleting);
  await h.clock.advance(15_000);
  assert.deepEqual(inUseWrites(h.log), [null], "volumesInUse cleared (the strategic-merge PATCH's null)");
  assert.deepEqual(h.node.volumes?.inUse(), []);
});

test("attachRequired false: no volumesInUse, no Node or VolumeAttachment reads; Running after the mount", async () => {
  const h = await setUp({ csi: { ...CSI, attachRequired: false } });
  bind(h, webPod());
  await h.clock.advance(5_000);
  assert.deepEqual(phases(h.log), ["Pending", "Running"]);
  assert.equal(firstAt(h.log, `GET ${VA}`), undefined);
  assert.equal(firstAt(h.log, `GET /api/v1/nodes/${NAME}`), undefined);
  await h.clock.advance(15_000);
  assert.deepEqual(inUseWrites(h.log), []);
});

test("a PV of another CSI driver: FailedMount (driver not registered), retried with back-off; the pod stays Pending", async () => {
  const h = await setUp({}, { driver: "ebs.csi.aws.com" });
  bind(h, webPod());
  await h.clock.advance(60_000);
  assert.deepEqual(phases(h.log), ["Pending"]);
  const ev = h.events();
  assert.equal(ev[0]?.reason, "FailedMount");
  assert.equal(ev[0]?.message, unregisteredDriverMessage("pvc-1", "ebs.csi.aws.com"));
  const repeats = h.log.filter((r) => r.route.startsWith("PATCH /api/v1/namespaces/default/events/")).length;
  assert.ok(
    repeats >= 3 && repeats < 12,
    `the retries back off (0.5 s doubling): ${repeats} repeats in a minute`,
  );
});

test("a PV of another plugin: the populator's FailedMount, the claim read again at each pod sync", async () => {
  const h = await setUp({}, null);
  bind(h, webPod());
  await h.clock.advance(30_000);
  assert.deepEqual(phases(h.log), ["Pending"]);
  assert.equal(
    h.events()[0]?.message,
    'Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[data]: failed to get Plugin from volumeSpec for volume "pvc-1" err=no volume plugin matched',
  );
  const reads = h.log.filter((r) => r.route === `GET ${PVC}`).length;
  assert.ok(reads >= 2 && reads <= 3, `read ${reads} times in 30 s (pod worker back-off 10-15 s)`);
});

test("with the driver on, a pod without claims starts with the same requests as without it", async () => {
  const run = async (csi: CsiConfig | undefined): Promise<string[]> => {
    const h = await registered({ csi });
    bind(h, makePod("plain"));
    await h.clock.advance(5_000);
    return routes(h.api.requests).filter((r) => !r.includes("leases"));
  };
  assert.deepEqual(await run(CSI), await run(undefined));
});

test("a running pod adopted after a restart: its volume counts as mounted and in use, no status write", async () => {
  const h = await setUp();
  bind(h, webPod({}, { phase: "Running", podIP: "172.16.0.5", startTime: "2026-01-01T00:00:00Z" }));
  await h.clock.advance(15_000);
  assert.deepEqual(phases(h.log), []);
  assert.equal(firstAt(h.log, `GET ${VA}`), undefined);
  assert.deepEqual(inUseWrites(h.log), [[UNIQUE]]);
});

test("a restarted node whose Node lists volumes no pod uses clears volumesInUse once its pods are listed", async () => {
  const h = await setUp();
  h.node.observeNode({ metadata: { name: NAME, uid: NODE_UID }, status: { volumesInUse: [UNIQUE] } });
  await h.clock.advance(15_000);
  assert.deepEqual(inUseWrites(h.log), [], "left as it is before the pods are known");
  h.node.podHandler().onSynced();
  await h.clock.advance(15_000);
  assert.deepEqual(inUseWrites(h.log), [null]);
});

test("minimal traffic: the pod's one Running status comes after the attach is verified and the volume mounted", async () => {
  const h = await setUp({ traffic: "minimal" });
  h.api.existingNode = {
    metadata: { name: NAME, uid: NODE_UID },
    status: { volumesAttached: [{ name: UNIQUE, devicePath: "" }] },
  };
  bind(h, webPod());
  await h.clock.advance(60_000);
  assert.deepEqual(phases(h.log), ["Running"]);
  const running = h.log.find((r) => r.route === `PATCH ${podPath("web-0")}/status`)!.at;
  assert.ok(running >= h.log.filter((r) => r.route === `GET ${VA}`)[1]!.at + 1_000);
  assert.deepEqual(inUseWrites(h.log), [[UNIQUE]]);
});
