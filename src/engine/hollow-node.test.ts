import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { HollowNode, type NodeObject } from "./hollow-node.ts";
import { DEFAULT_SHAPE, defaultEngineConfig, type EngineConfig } from "./config.ts";
import { DueQueue } from "./due-queue.ts";
import type { EngineContext } from "./engine-context.ts";
import { nthSubnet, parseCidr } from "./ip-pool.ts";
import { EngineMetrics } from "./metrics.ts";
import {
  decodeLease,
  encodeLease,
  microTime,
  nodeLabels,
  renderLease,
  type LeaseObject,
  type NodeIdentity,
} from "./node-object.ts";
import type { PodObject } from "./pod-object.ts";
import type { Versioned, Watcher, WatchHandler } from "./watcher.ts";
import { FakeClock } from "../kernel/clock.ts";
import { KubeApiError, codeForStatus } from "../client/api-error.ts";
import type { KubeRequest } from "../client/kube-client.ts";

const NAME = "hollow-node-0";
const NODE_IP = "100.64.0.1";
const NODE_UID = "node-uid-1";
const LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
const LEASE = `${LEASES}/${NAME}`;

const engineConfig = (over: Partial<EngineConfig> = {}): EngineConfig => defaultEngineConfig([NAME], over);

const IDENTITY: NodeIdentity = {
  name: NAME,
  shape: DEFAULT_SHAPE,
  ip: NODE_IP,
  kubeletVersion: "v1.34.1",
  kubeletPort: 10250,
  fleet: "default",
  nodeLabels: { "hollow-node": "true" },
};

/** A request body as the tests read it: the fields of every body the engine sends (Node, Lease, TokenRequest, pod status). */
interface Body {
  kind?: string;
  metadata: {
    name?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences: Array<{ uid: string }>;
  };
  spec: {
    holderIdentity: string;
    leaseDurationSeconds: number;
    renewTime: string;
    expirationSeconds: number;
    boundObjectRef: unknown;
  };
  status: {
    phase: string;
    podIP: string;
    hostIP: string;
    conditions: Array<{ type: string; status: string; lastHeartbeatTime: string }>;
    containerStatuses: Array<{ state: ContainerState }>;
    initContainerStatuses?: Array<{ state: ContainerState }>;
  };
}

interface ContainerState {
  terminated?: { exitCode: number };
  waiting?: { reason: string };
  running?: { startedAt: string };
}

interface Recorded {
  method: string;
  path: string;
  body: Body;
  /** How the body was sent (protobuf bytes or a JSON object) and what answer was asked for. */
  wire: { body: "protobuf" | "json" | "none"; accept: "protobuf" | "json" };
}

const ownerUid = (b: Body): string | undefined => b.metadata.ownerReferences[0]?.uid;
const condition = (b: Body, type: string): { status: string; lastHeartbeatTime: string } | undefined =>
  b.status.conditions.find((c) => c.type === type);

function apiError(status: number, method: string, path: string, reason?: string): KubeApiError {
  return new KubeApiError({
    code: codeForStatus(status),
    status,
    method,
    path,
    message: `${method} ${path}: ${status} ${reason ?? ""}`,
    reason,
  });
}

/**
 * Answers requests as an API server would for one node: records every request; failures queued
 * with {@link FakeApi.failNext} are thrown by the next matching request.
 */
class FakeApi {
  readonly requests: Recorded[] = [];
  readonly pods = new Map<string, PodObject>();
  /** What GET /api/v1/nodes/<name> answers (a Node that already existed). */
  existingNode: NodeObject | undefined;
  /** resourceVersion of the Lease on the "server"; bumped by each write (0: no Lease yet). */
  leaseRv = 0;
  private createdNode: NodeObject | undefined;
  private csiNode = false;
  private readonly failures: Array<{ method: string; path: string; error: KubeApiError }> = [];

  failNext(method: string, path: string, status: number, reason?: string): void {
    this.failures.push({ method, path, error: apiError(status, method, path, reason) });
  }

  /** `METHOD path` of each request sent through the heartbeat client. */
  readonly heartbeats: string[] = [];
  /** How long (fake-clock ms) the API server takes to answer a heartbeat request. */
  heartbeatDelayMs = 0;

  request<T>(req: KubeRequest): Promise<T> {
    return Promise.resolve().then(() => this.answer(req) as T);
  }

  heartbeat<T>(req: KubeRequest): Promise<T> {
    this.heartbeats.push(`${req.method} ${req.path}`);
    return this.request<T>(req);
  }

  /** Answers, in protobuf when the request asked for it (Lease requests), as the API server would. */
  private answer(req: KubeRequest): unknown {
    const res = this.answerJson(req);
    if (req.accept !== "protobuf") return res;
    const lease = res as LeaseObject;
    assert.equal(lease.kind, "Lease", "only Lease requests are sent in protobuf");
    return encodeLease(lease);
  }

  private answerJson(req: KubeRequest): unknown {
    // The fake reads protobuf Lease bodies into their JSON form, as the API server decodes either.
    const body = (req.body instanceof Uint8Array ? decodeLease(req.body) : req.body) as Body;
    const wire = {
      body: req.body === undefined ? "none" : req.body instanceof Uint8Array ? "protobuf" : "json",
      accept: req.accept ?? "json",
    } as const;
    this.requests.push({ method: req.method, path: req.path, body, wire });
    const failure = this.failures.findIndex((f) => f.method === req.method && f.path === req.path);
    if (failure >= 0) throw this.failures.splice(failure, 1)[0]!.error;
    const route = `${req.method} ${req.path}`;
    if (route === "POST /api/v1/nodes") {
      this.createdNode = { metadata: { name: NAME, uid: NODE_UID, resourceVersion: "100" } };
      return this.createdNode;
    }
    if (route === `GET /api/v1/nodes/${NAME}`) {
      const node = this.existingNode ?? this.createdNode;
      if (!node) throw apiError(404, req.method, req.path);
      return node;
    }
    if (route === "POST /apis/storage.k8s.io/v1/csinodes") {
      this.csiNode = true;
      return body;
    }
    if (route === `GET /apis/storage.k8s.io/v1/csinodes/${NAME}`) {
      if (!this.csiNode) throw apiError(404, req.method, req.path);
      return { metadata: { name: NAME } };
    }
    if (route === `PATCH /api/v1/nodes/${NAME}`) {
      const labels = { ...this.existingNode?.metadata.labels, ...body.metadata.labels };
      return { ...this.existingNode, metadata: { ...this.existingNode?.metadata, labels } };
    }
    if (route === `POST ${LEASES}`) {
      return { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.leaseRv) } };
    }
    if (route === `PUT ${LEASE}`) {
      return { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.leaseRv) } };
    }
    if (route === `GET ${LEASE}`) {
      if (this.leaseRv === 0) throw apiError(404, req.method, req.path);
      return renderLease({
        name: NAME,
        nodeUid: NODE_UID,
        durationSeconds: 40,
        renewTime: microTime(0),
        resourceVersion: String(this.leaseRv),
      });
    }
    if (req.method === "GET" && req.path.includes("/pods/")) {
      const pod = this.pods.get(req.path);
      if (!pod) throw apiError(404, req.method, req.path);
      return pod;
    }
    if (req.method === "DELETE" && req.path.includes("/pods/")) {
      this.pods.delete(req.path);
      return {};
    }
    if (req.method === "POST" && req.path.endsWith("/token")) return { status: { token: "t" } };
    return {};
  }
}

interface OpenedWatch {
  path: string;
  query: KubeRequest["query"];
  handler: WatchHandler<Versioned>;
  stopped: boolean;
}

interface Harness {
  node: HollowNode;
  api: FakeApi;
  clock: FakeClock;
  watches: OpenedWatch[];
  metrics: EngineMetrics;
  /** The engine's queue for pod and other work (not heartbeats). */
  queue: DueQueue;
}

/** A HollowNode on a fake clock and fake API server. */
function harness(over: Partial<EngineConfig> = {}): Harness {
  const cfg = engineConfig(over);
  const clock = new FakeClock();
  const api = new FakeApi();
  const watches: OpenedWatch[] = [];
  const podPool = parseCidr(cfg.podIpPool, "--pod-ip-pool");
  const queue = new DueQueue({
    clock,
    concurrency: cfg.maxInFlight,
    onError: (err) => assert.fail(`queued task failed: ${String(err)}`),
  });
  const metrics = new EngineMetrics({ processMetrics: false });
  const ctx: EngineContext = {
    cfg,
    clock,
    random: () => 0.5,
    queue,
    beats: new DueQueue({
      clock,
      concurrency: Infinity,
      onError: (err) => assert.fail(`heartbeat task failed: ${String(err)}`),
    }),
    log: pino({ level: "silent" }),
    nodeLogger: () => pino({ level: "silent" }),
    proxy: undefined,
    metrics,
    request: <T>(req: KubeRequest) => api.request<T>(req),
    heartbeat: async <T>(req: KubeRequest) => {
      // The request leaves now; its answer comes after the server's delay.
      const answer = api.heartbeat<T>(req);
      if (api.heartbeatDelayMs > 0) await clock.sleep(api.heartbeatDelayMs);
      return answer;
    },
    watch: <T extends Versioned>(
      path: string,
      query: KubeRequest["query"],
      handler: WatchHandler<T>,
    ): Watcher<T> => {
      const w: OpenedWatch = { path, query, handler, stopped: false };
      watches.push(w);
      return {
        stop: () => {
          w.stopped = true;
        },
      } as unknown as Watcher<T>;
    },
    fallbackPodCidr: (index) => nthSubnet(podPool, 24, index),
  };
  return { node: new HollowNode(ctx, IDENTITY, 0), api, clock, watches, metrics, queue };
}

/** A harness whose node has registered 20 s ago; its requests so far are cleared. */
async function registered(over: Partial<EngineConfig> = {}): Promise<Harness> {
  const h = harness(over);
  await h.node.register();
  // Past the start-up work a kubelet does after registering (CSINode, reads of its Node).
  await h.clock.advance(20_000);
  h.api.requests.length = 0;
  return h;
}

/** The current value of one of the engine's (unlabelled) metrics. */
async function metricValue(h: Harness, name: string): Promise<number | undefined> {
  const m = await h.metrics.registry.getSingleMetric(name)?.get();
  return m?.values[0]?.value;
}

const routes = (reqs: Recorded[]): string[] => reqs.map((r) => `${r.method} ${r.path}`);

/** A pod bound to this node with one container and a projected service-account token, like most pods. */
function makePod(
  name: string,
  spec: Partial<PodObject["spec"]> = {},
  metadata: Partial<PodObject["metadata"]> = {},
): PodObject {
  return {
    metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: "1", ...metadata },
    spec: {
      nodeName: NAME,
      serviceAccountName: "default",
      containers: [{ name: "app", image: "nginx" }],
      volumes: [
        {
          name: "kube-api-access",
          projected: {
            sources: [
              { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
              { configMap: { name: "kube-root-ca.crt" } },
            ],
          },
        },
      ],
      ...spec,
    },
  };
}

const podPath = (name: string): string => `/api/v1/namespaces/default/pods/${name}`;

/** The scheduler binds `pod`: the API server has it and the node's watch reports it. */
function bind(h: Harness, pod: PodObject): void {
  h.api.pods.set(podPath(pod.metadata.name), pod);
  h.node.onPod("ADDED", pod);
}

/** Status PATCHes written for a pod, in order. */
function statusPatches(api: FakeApi, name: string): Array<{ phase: string; podIP: string }> {
  return api.requests
    .filter((r) => r.method === "PATCH" && r.path === `${podPath(name)}/status`)
    .map((r) => ({ phase: r.body.status.phase, podIP: r.body.status.podIP }));
}

const ipOf = (api: FakeApi, name: string): string | undefined => statusPatches(api, name).at(-1)?.podIP;

const withNodeCidr = (cidr: string): NodeObject => ({
  metadata: { name: NAME, uid: NODE_UID },
  spec: { podCIDR: cidr },
});

// ---------------------------------------------------------------- registration

const CSINODE = `/apis/storage.k8s.io/v1/csinodes/${NAME}`;
/** The reads a registering kubelet makes after its writes: CSINode again, its Node three times. */
const REGISTRATION_READS = [`GET ${CSINODE}`, ...Array<string>(3).fill(`GET /api/v1/nodes/${NAME}`)];

test("register: POST Node, PATCH status, POST Lease, POST CSINode, owned by the new Node", async () => {
  const minimal = harness({ traffic: "minimal" });
  await minimal.node.register();
  assert.deepEqual(routes(minimal.api.requests), [
    "POST /api/v1/nodes",
    `PATCH /api/v1/nodes/${NAME}/status`,
    `POST ${LEASES}`,
    "POST /apis/storage.k8s.io/v1/csinodes",
  ]);
  const { node, api, clock } = harness();
  await node.register();
  assert.deepEqual(
    routes(api.requests),
    ["POST /api/v1/nodes", `PATCH /api/v1/nodes/${NAME}/status`, `GET ${LEASE}`, `POST ${LEASES}`],
    "with kubelet traffic, the Lease is read before it is created",
  );
  await clock.advance(20_000);
  assert.deepEqual(
    routes(api.requests.filter((r) => !r.path.startsWith(LEASES))).slice(2),
    [`GET ${CSINODE}`, "POST /apis/storage.k8s.io/v1/csinodes", ...REGISTRATION_READS],
    "then, within 20 s, the CSI manager's CSINode and the reads of the Node (REFERENCE 4b)",
  );
  const [postNode, patch, , lease] = api.requests;
  const csi = api.requests.find((r) => r.path === "/apis/storage.k8s.io/v1/csinodes");
  assert.equal(postNode!.body.metadata.name, NAME);
  assert.equal(condition(patch!.body, "Ready")?.status, "True", "reports Ready");
  assert.equal(lease!.body.spec.holderIdentity, NAME);
  assert.equal(lease!.body.spec.leaseDurationSeconds, 40);
  assert.equal(ownerUid(lease!.body), NODE_UID);
  assert.equal(ownerUid(csi!.body), NODE_UID);
  assert.equal(node.registered, true);
});

test("register with kubelet traffic opens a kubelet's watches; minimal traffic opens none", async () => {
  const kubelet = harness({ traffic: "kubelet" });
  await kubelet.node.register();
  assert.deepEqual(
    kubelet.watches.map((w) => [w.path, w.query]),
    [
      ["/api/v1/pods", { fieldSelector: `spec.nodeName=${NAME}` }],
      ["/api/v1/nodes", { fieldSelector: `metadata.name=${NAME}` }],
      ["/api/v1/services", { fieldSelector: "spec.clusterIP!=None" }],
      ["/apis/node.k8s.io/v1/runtimeclasses", {}],
      ["/apis/storage.k8s.io/v1/csidrivers", {}],
    ],
  );

  const minimal = harness({ traffic: "minimal" });
  await minimal.node.register();
  assert.deepEqual(minimal.watches, []);
  assert.equal(minimal.node.registered, true);
});

test("register adopts a Node that already exists: GET, no second POST, its uid, missing labels patched", async () => {
  const full = nodeLabels(IDENTITY);
  const { "kubernetes.io/hostname": _h, ...withoutHostname } = full;
  const cases: Array<{ labels: Record<string, string>; patched: Record<string, string> | undefined }> = [
    { labels: full, patched: undefined },
    { labels: withoutHostname, patched: { "kubernetes.io/hostname": NAME } },
  ];
  for (const { labels, patched } of cases) {
    const { node, api } = harness();
    api.failNext("POST", "/api/v1/nodes", 409, "AlreadyExists");
    api.existingNode = { metadata: { name: NAME, uid: "old-uid", labels } };
    await node.register();
    assert.deepEqual(routes(api.requests), [
      "POST /api/v1/nodes",
      `GET /api/v1/nodes/${NAME}`,
      ...(patched ? [`PATCH /api/v1/nodes/${NAME}`] : []),
      `PATCH /api/v1/nodes/${NAME}/status`,
      `GET ${LEASE}`,
      `POST ${LEASES}`,
    ]);
    if (patched) assert.deepEqual(api.requests[2]!.body, { metadata: { labels: patched } });
    const lease = api.requests.find((r) => r.path === LEASES)!;
    assert.equal(ownerUid(lease.body), "old-uid");
    assert.equal(node.registered, true);
  }
});

test("register fails on other errors from POST Node", async () => {
  const { node, api } = harness();
  api.failNext("POST", "/api/v1/nodes", 403);
  await assert.rejects(node.register(), (err: unknown) => err instanceof KubeApiError && err.status === 403);
  assert.equal(node.registered, false);
});

// ---------------------------------------------------------------- heartbeat

test("heartbeat: the Lease is renewed about every 10 s with a later renewTime and the last resourceVersion", async () => {
  const { node, api, clock } = harness();
  const t0 = clock.now();
  await node.register();
  await clock.advance(60_000);
  const puts = api.requests.filter((r) => r.method === "PUT" && r.path === LEASE);
  assert.ok(puts.length >= 5 && puts.length <= 7, `${puts.length} renewals in 60 s`);
  const renewTimes = [api.requests.find((r) => r.path === LEASES)!, ...puts].map((r) =>
    Date.parse(r.body.spec.renewTime),
  );
  for (let i = 1; i < renewTimes.length; i++) {
    assert.ok(renewTimes[i]! > renewTimes[i - 1]!, `renewal ${i} is later`);
    if (i > 1) {
      const gap = renewTimes[i]! - renewTimes[i - 1]!;
      assert.ok(gap >= 10_000 && gap <= 10_400, `gap ${gap} ms is a quarter of 40 s plus at most 4% jitter`);
    }
  }
  assert.ok(renewTimes.at(-1)! <= t0 + 60_000);
  // Each PUT carries the resourceVersion the previous write returned.
  assert.deepEqual(
    puts.map((r) => r.body.metadata.resourceVersion),
    puts.map((_, i) => String(i + 1)),
  );
  assert.ok(node.lastRenew > t0 + 50_000);
});

test("heartbeat: Lease requests are protobuf as a kubelet's (JSON with leaseContentType json), all else JSON", async () => {
  for (const leaseContentType of ["protobuf", "json"] as const) {
    const { node, api, clock } = harness({ leaseContentType });
    api.leaseRv = 1; // a Lease from an earlier run: GET, then PUT
    await node.register();
    await clock.advance(30_000);
    const leases = api.requests.filter((r) => r.path.startsWith(LEASES));
    assert.deepEqual(
      [...new Set(leases.map((r) => `${r.method} ${r.path === LEASE ? "lease" : "leases"}`))],
      ["GET lease", "PUT lease"],
    );
    for (const r of leases) {
      assert.equal(r.wire.accept, leaseContentType, `${r.method} asks for ${leaseContentType}`);
      if (r.method === "PUT") assert.equal(r.wire.body, leaseContentType);
    }
    const puts = leases.filter((r) => r.method === "PUT");
    assert.ok(puts.length >= 3, `${puts.length} renewals`);
    assert.deepEqual(
      puts.map((r) => r.body.metadata.resourceVersion),
      puts.map((_, i) => String(i + 1)),
      "each PUT carries the resourceVersion read from the previous answer",
    );
    const others = api.requests.filter((r) => !r.path.startsWith(LEASES));
    assert.ok(others.length > 0);
    for (const r of others) assert.deepEqual([r.method, r.path, r.wire.accept], [r.method, r.path, "json"]);
    for (const r of others) assert.notEqual(r.wire.body, "protobuf", `${r.method} ${r.path}`);
  }
});

test("heartbeat: a slow API server stretches the cadence (the kubelet's sliding period); renewals are not late", async () => {
  const { node, api, clock, metrics } = harness();
  await node.register();
  await clock.advance(20_000);
  api.heartbeatDelayMs = 3_000;
  const before = api.requests.length;
  await clock.advance(120_000);
  const puts = api.requests.slice(before).filter((r) => r.method === "PUT" && r.path === LEASE);
  assert.ok(puts.length >= 7 && puts.length <= 10, `${puts.length} renewals in 120 s`);
  const times = puts.map((r) => Date.parse(r.body.spec.renewTime));
  for (let i = 1; i < times.length; i++) {
    // 3 s answer + 10 s period with 2% jitter (random 0.5), counted from the answer.
    assert.equal(times[i]! - times[i - 1]!, 13_200, `gap ${i}`);
  }
  assert.equal(metrics.totals.lateRenewals, 0);
  assert.equal(metrics.totals.maxLatenessMs, 0, "each renewal starts when due");
});

test("heartbeat: a renewal waiting for the API server holds no queue worker (other work goes on)", async () => {
  // One queue worker: had the renewal held it for the 8 s answer, the pod could not start meanwhile.
  const h = await registered({ traffic: "minimal", maxInFlight: 1 });
  h.node.observeNode(withNodeCidr("10.128.3.0/24"));
  h.api.heartbeatDelayMs = 8_000;
  let put = -1;
  for (let i = 0; i < 120 && put < 0; i++) {
    await h.clock.advance(100);
    put = h.api.requests.findIndex((r) => r.method === "PUT" && r.path === LEASE);
  }
  assert.ok(put >= 0, "a renewal was sent");
  bind(h, makePod("web-0"));
  await h.clock.advance(1_000);
  const started = h.api.requests.slice(put + 1).map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(started, [`PATCH ${podPath("web-0")}/status`], "the pod started while the renewal waited");
  assert.equal(h.api.requests.filter((r) => r.method === "PUT" && r.path === LEASE).length, 1);
});

test("heartbeat: renewals stay on time while pod work holds every queue worker (a pod burst)", async () => {
  const h = await registered({ maxInFlight: 2 });
  // A burst: more pod work than workers, each task waiting on a slow API server for a minute.
  for (let i = 0; i < 10; i++) h.queue.after(0, () => h.clock.sleep(60_000));
  const puts = (): number => h.api.requests.filter((r) => r.method === "PUT" && r.path === LEASE).length;
  await h.clock.advance(30_000);
  assert.ok(puts() >= 2, `renewals went on during the burst (${puts()} in 30 s)`);
  assert.equal(h.metrics.totals.lateRenewals, 0, "none started late");
});

test("heartbeat: an unchanged node status is PATCHed again only after the report interval (5 min)", async () => {
  const { node, api, clock } = harness();
  await node.register();
  const statusPatchCount = (): number =>
    api.requests.filter((r) => r.method === "PATCH" && r.path === `/api/v1/nodes/${NAME}/status`).length;
  assert.equal(statusPatchCount(), 1, "once at registration");
  await clock.advance(290_000);
  assert.equal(statusPatchCount(), 1, "not with every lease renewal");
  await clock.advance(21_000);
  assert.equal(statusPatchCount(), 2, "again once 5 minutes have passed");
  const last = api.requests.filter((r) => r.path === `/api/v1/nodes/${NAME}/status`).at(-1)!;
  const ready = condition(last.body, "Ready");
  assert.ok(Date.parse(ready?.lastHeartbeatTime ?? "") >= clock.now() - 11_000, "fresh heartbeat time");
});

test("heartbeat: a controller's Ready=Unknown on the server is corrected within one status period", async () => {
  const h = await registered();
  const statusPatches = (): Recorded[] =>
    h.api.requests.filter((r) => r.method === "PATCH" && r.path === `/api/v1/nodes/${NAME}/status`);
  // The node lifecycle controller marks the node Unknown (e.g. after an etcd stall): the node's
  // watch delivers it; the node's own last report is recent.
  const unknownAt = h.clock.now();
  h.node.observeNode({
    metadata: { name: NAME, uid: NODE_UID },
    status: {
      conditions: ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"].map((type) => ({
        type,
        status: "Unknown",
        reason: "NodeStatusUnknown",
        message: "Kubelet stopped posting node status.",
      })),
    },
  });
  await h.clock.advance(10_500);
  const sent = statusPatches();
  assert.equal(sent.length, 1, "one status report within nodeStatusUpdateFrequency (10 s + jitter)");
  const ready = sent[0]!.body.status.conditions.find((c) => c.type === "Ready") as
    { status: string; lastTransitionTime: string } | undefined;
  assert.equal(ready?.status, "True");
  assert.ok(
    Date.parse(ready.lastTransitionTime) >= unknownAt - 1_000,
    "Ready again since now, not since registration",
  );
  // The watch then shows the node's own report: nothing more until the report interval.
  h.node.observeNode({
    metadata: { name: NAME, uid: NODE_UID },
    status: {
      conditions: sent[0]!.body.status.conditions,
    },
  });
  await h.clock.advance(60_000);
  assert.equal(statusPatches().length, 1, "no further report while the server has the node's status");
  assert.equal(await metricValue(h, "hollow_node_status_corrections_total"), 1);
});

test("heartbeat: Lease and node-status requests go through the heartbeat client, nothing else does", async () => {
  const { node, api, clock } = harness({ traffic: "kubelet" });
  await node.register();
  await clock.advance(310_000);
  const isHeartbeat = (route: string): boolean =>
    route.includes("/leases") || route === `PATCH /api/v1/nodes/${NAME}/status`;
  const all = routes(api.requests);
  assert.ok(all.filter((r) => r === `PUT ${LEASE}`).length >= 30, "renewals happened");
  assert.deepEqual(api.heartbeats, all.filter(isHeartbeat), "every Lease and status request, in order");
  assert.ok(
    all.some((r) => r === "POST /api/v1/nodes"),
    "registration is an ordinary request",
  );
  assert.ok(!api.heartbeats.includes("POST /api/v1/nodes"));
});

test("heartbeat: a Lease that was deleted (PUT 404) is created again", async () => {
  const { node, api, clock } = await registered();
  api.failNext("PUT", LEASE, 404);
  api.failNext("GET", LEASE, 404);
  await clock.advance(6_000);
  assert.deepEqual(routes(api.requests), [`PUT ${LEASE}`, `GET ${LEASE}`, `POST ${LEASES}`]);
  const post = api.requests[2]!;
  assert.equal(post.body.metadata.resourceVersion, undefined);
  assert.equal(ownerUid(post.body), NODE_UID);
  const created = String(api.leaseRv);
  await clock.advance(10_200);
  assert.deepEqual(routes(api.requests.slice(3)), [`PUT ${LEASE}`]);
  assert.equal(api.requests[3]!.body.metadata.resourceVersion, created, "renews the new Lease");
  assert.ok(node.lastRenew > clock.now() - 10_400, "renewed within the last interval");
});

test("heartbeat: a conflicting Lease update (409) re-reads the Lease and PUTs again", async () => {
  const { api, clock } = await registered();
  api.failNext("PUT", LEASE, 409, "Conflict");
  const ours = String(api.leaseRv);
  api.leaseRv = 70; // somebody else wrote the Lease
  await clock.advance(6_000);
  assert.deepEqual(routes(api.requests), [`PUT ${LEASE}`, `GET ${LEASE}`, `PUT ${LEASE}`]);
  assert.equal(api.requests[0]!.body.metadata.resourceVersion, ours);
  assert.equal(api.requests[2]!.body.metadata.resourceVersion, "70");
  await clock.advance(10_200);
  assert.equal(api.requests.at(-1)!.body.metadata.resourceVersion, "71", "continues from the new version");
});

// ---------------------------------------------------------------- pods

test("pods (kubelet traffic): token, ContainerCreating, then Running with an IP from the node's podCIDR", async () => {
  const h = await registered({ traffic: "kubelet" });
  h.node.observeNode(withNodeCidr("10.128.3.0/24"));
  bind(h, makePod("web-0"));
  await h.clock.advance(1_000);
  assert.deepEqual(routes(h.api.requests), [
    "POST /api/v1/namespaces/default/serviceaccounts/default/token",
    `GET ${podPath("web-0")}`,
    `PATCH ${podPath("web-0")}/status`,
    `GET ${podPath("web-0")}`,
    `PATCH ${podPath("web-0")}/status`,
  ]);
  const creating = h.api.requests[2]!.body;
  assert.equal(creating.status.phase, "Pending", "first the kubelet reports the sandbox being made");
  assert.equal(creating.status.containerStatuses[0]?.state.waiting?.reason, "ContainerCreating");
  assert.equal(creating.status.podIP, undefined, "no pod IP before the sandbox exists");
  h.api.requests.splice(1, 2);
  const token = h.api.requests[0]!.body;
  assert.equal(token.kind, "TokenRequest");
  assert.equal(token.spec.expirationSeconds, 3607);
  assert.deepEqual(token.spec.boundObjectRef, {
    apiVersion: "v1",
    kind: "Pod",
    name: "web-0",
    uid: "uid-web-0",
  });
  const patch = h.api.requests[2]!.body;
  assert.equal(patch.metadata.uid, "uid-web-0");
  assert.equal(patch.status.phase, "Running");
  assert.equal(patch.status.hostIP, NODE_IP);
  assert.match(patch.status.podIP, /^10\.128\.3\.\d+$/);
  assert.notEqual(patch.status.podIP, "10.128.3.0");
  assert.notEqual(patch.status.podIP, "10.128.3.1");
  assert.notEqual(patch.status.podIP, "10.128.3.255");
  // The kubelet watches what the pod references.
  assert.ok(
    h.watches.some(
      (w) =>
        w.path === "/api/v1/namespaces/default/configmaps" &&
        w.query?.["fieldSelector"] === "metadata.name=kube-root-ca.crt",
    ),
  );
  assert.equal(h.node.podCount, 1);
});

test("pods (minimal traffic): a single status PATCH", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(h, makePod("web-0"));
  await h.clock.advance(1_000);
  assert.deepEqual(routes(h.api.requests), [`PATCH ${podPath("web-0")}/status`]);
  assert.deepEqual(statusPatches(h.api, "web-0"), [{ phase: "Running", podIP: "172.16.0.2" }]);
  assert.deepEqual(h.watches, [], "no watches for referenced objects either");
});

test("pods: init containers are reported initializing first, then Running", async () => {
  const h = await registered({ traffic: "kubelet" });
  bind(h, makePod("web-0", { initContainers: [{ name: "migrate", image: "migrate" }] }));
  await h.clock.advance(1_000);
  assert.deepEqual(
    statusPatches(h.api, "web-0").map((p) => p.phase),
    ["Pending", "Pending", "Running"],
    "ContainerCreating, the init container running, then Running",
  );
  const [creating, initializing] = h.api.requests
    .filter((r) => r.method === "PATCH" && r.path === `${podPath("web-0")}/status`)
    .map((r) => r.body.status);
  assert.equal(creating?.initContainerStatuses?.[0]?.state.waiting?.reason, "PodInitializing");
  assert.ok(initializing?.initContainerStatuses?.[0]?.state.running);
});

test("pods: two pods get distinct IPs; a hostNetwork pod gets the node's IP", async () => {
  for (const traffic of ["kubelet", "minimal"] as const) {
    const h = await registered({ traffic });
    h.node.observeNode(withNodeCidr("10.128.3.0/24"));
    bind(h, makePod("a"));
    bind(h, makePod("b"));
    bind(h, makePod("host", { hostNetwork: true }));
    bind(h, makePod("c"));
    await h.clock.advance(1_000);
    const ips = ["a", "b", "c"].map((n) => ipOf(h.api, n));
    assert.ok(
      ips.every((ip) => ip?.startsWith("10.128.3.")),
      `${traffic}: ${ips.join(",")}`,
    );
    assert.equal(new Set(ips).size, 3, `${traffic}: distinct`);
    assert.equal(ipOf(h.api, "host"), NODE_IP, traffic);
  }
});

test("pods: without a podCIDR the node's fallback /24 is used", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(h, makePod("a"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "a"), "172.16.0.2");
});

test("pods: a pod bound to another node is never touched", async () => {
  for (const traffic of ["kubelet", "minimal"] as const) {
    const h = await registered({ traffic });
    const other = makePod("elsewhere", { nodeName: "hollow-node-9" });
    bind(h, other);
    h.node.onPod("MODIFIED", {
      ...other,
      metadata: { ...other.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" },
    });
    h.node.onPod("DELETED", other);
    await h.clock.advance(30_000);
    assert.deepEqual(
      h.api.requests.filter((r) => !r.path.startsWith(LEASES)),
      [],
      traffic,
    );
    assert.equal(h.node.podCount, 0);
  }
});

test("pods: a Job pod succeeds after jobRunMs", async () => {
  const h = await registered({ traffic: "kubelet", jobRunMs: 5_000 });
  // A Job's pod template must say Never or OnFailure (the API server refuses Always for Jobs).
  bind(
    h,
    makePod(
      "pi-x7k2",
      { restartPolicy: "Never" },
      { ownerReferences: [{ kind: "Job", name: "pi", controller: true }] },
    ),
  );
  await h.clock.advance(0);
  assert.deepEqual(
    statusPatches(h.api, "pi-x7k2").map((p) => p.phase),
    ["Pending", "Running"],
  );
  await h.clock.advance(4_999);
  assert.deepEqual(
    statusPatches(h.api, "pi-x7k2").map((p) => p.phase),
    ["Pending", "Running"],
    "still running before jobRunMs",
  );
  await h.clock.advance(1);
  assert.deepEqual(
    statusPatches(h.api, "pi-x7k2").map((p) => p.phase),
    ["Pending", "Running", "Succeeded"],
  );
  const done = h.api.requests.filter((r) => r.path === `${podPath("pi-x7k2")}/status`).at(-1)!.body.status;
  assert.deepEqual(
    done.containerStatuses.map((c) => c.state.terminated?.exitCode),
    [0],
  );
  // A pod run until deleted does not complete on its own.
  bind(h, makePod("web-0"));
  await h.clock.advance(60_000);
  assert.deepEqual(
    statusPatches(h.api, "web-0").map((p) => p.phase),
    ["Pending", "Running"],
  );
});

/** The pod statuses written for `name`, in order (their bodies). */
function writtenStatuses(api: FakeApi, name: string): Body["status"][] {
  return api.requests
    .filter((r) => r.method === "PATCH" && r.path === `${podPath(name)}/status`)
    .map((r) => r.body.status);
}

test("pods: a Job of pause pods runs until deleted; `exit 3` with restartPolicy Never fails the pod", async () => {
  const h = await registered({ traffic: "minimal", jobRunMs: 5_000 });
  const job = { ownerReferences: [{ kind: "Job", name: "j", controller: true }] };
  bind(
    h,
    makePod(
      "pause-1",
      { restartPolicy: "Never", containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] },
      job,
    ),
  );
  bind(
    h,
    makePod(
      "fail-1",
      {
        restartPolicy: "Never",
        containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "sleep 2; exit 3"] }],
      },
      job,
    ),
  );
  await h.clock.advance(60_000);
  assert.deepEqual(
    writtenStatuses(h.api, "pause-1").map((s) => s.phase),
    ["Running"],
    "pause never exits",
  );
  const failed = writtenStatuses(h.api, "fail-1");
  assert.deepEqual(
    failed.map((s) => s.phase),
    ["Running", "Failed"],
  );
  assert.deepEqual(failed[1]!.containerStatuses[0]!.state.terminated, {
    exitCode: 3,
    reason: "Error",
    startedAt: failed[0]!.containerStatuses[0]!.state.running!.startedAt,
    finishedAt: new Date(Date.parse(failed[0]!.containerStatuses[0]!.state.running!.startedAt) + 2_000)
      .toISOString()
      .replace(/\.\d+Z$/, "Z"),
  });
});

test("pods: a crashing container restarts with the kubelet's back-off (at once, 10 s, 20 s) in CrashLoopBackOff", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(
    h,
    makePod("crash-1", {
      restartPolicy: "Always",
      containers: [{ name: "app", image: "busybox", command: ["sh", "-c", "sleep 2; exit 1"] }],
    }),
  );
  const t0 = h.clock.now();
  const seen: string[] = [];
  const record = (): void => {
    const all = writtenStatuses(h.api, "crash-1");
    for (const s of all.slice(seen.length)) {
      const c = s.containerStatuses[0] as unknown as {
        restartCount: number;
        state: ContainerState;
        lastState: { terminated?: { exitCode: number } };
      };
      const state = c.state.running ? "running" : (c.state.waiting?.reason ?? "terminated");
      seen.push(
        `${Math.round((h.clock.now() - t0) / 1000)}s ${s.phase} ${state} restarts=${c.restartCount} last=${c.lastState.terminated?.exitCode ?? "-"}`,
      );
    }
  };
  for (let i = 0; i < 40; i++) {
    await h.clock.advance(1_000);
    record();
  }
  assert.deepEqual(seen, [
    "1s Running running restarts=0 last=-",
    "2s Running running restarts=1 last=1", // first exit at 2 s: restarted at once
    "4s Running CrashLoopBackOff restarts=1 last=1", // second exit: back-off 10 s
    "14s Running running restarts=2 last=1",
    "16s Running CrashLoopBackOff restarts=2 last=1", // third exit: back-off 20 s
    "36s Running running restarts=3 last=1",
    "38s Running CrashLoopBackOff restarts=3 last=1", // fourth exit: back-off 40 s
  ]);
  const waiting = writtenStatuses(h.api, "crash-1")[2]!.containerStatuses[0]!.state.waiting as unknown as {
    message: string;
  };
  assert.equal(
    waiting.message,
    "back-off 10s restarting failed container=app pod=crash-1_default(uid-crash-1)",
  );
});

test("pods: startup and readiness probes: started, then ready, each when its probe first passes", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(
    h,
    makePod("probed", {
      containers: [
        {
          name: "app",
          image: "nginx",
          startupProbe: { initialDelaySeconds: 2, periodSeconds: 1 },
          readinessProbe: { initialDelaySeconds: 5, periodSeconds: 1 },
        },
      ],
    }),
  );
  const t0 = h.clock.now();
  const seen: string[] = [];
  for (let i = 0; i < 10; i++) {
    await h.clock.advance(1_000);
    for (const s of writtenStatuses(h.api, "probed").slice(seen.length)) {
      const c = s.containerStatuses[0] as unknown as { started: boolean; ready: boolean };
      const ready = s.conditions.find((x) => x.type === "Ready") as unknown as {
        status: string;
        lastTransitionTime: string;
      };
      const since = (Date.parse(ready.lastTransitionTime) - Math.floor(t0 / 1000) * 1000) / 1000;
      seen.push(
        `${(h.clock.now() - t0) / 1000}s started=${c.started} ready=${c.ready} Ready=${ready.status} since ${since}s`,
      );
    }
  }
  assert.deepEqual(seen, [
    "1s started=false ready=false Ready=False since 0s",
    "2s started=true ready=false Ready=False since 0s",
    "5s started=true ready=true Ready=True since 5s",
  ]);
});

test("pods: probe-fail-after: readiness lost after its failure threshold; a failing liveness probe restarts the container", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(
    h,
    makePod(
      "sick",
      {
        restartPolicy: "Always",
        containers: [
          {
            name: "app",
            image: "nginx",
            readinessProbe: { periodSeconds: 2, failureThreshold: 2 },
            livenessProbe: { periodSeconds: 5, failureThreshold: 3 },
          },
        ],
      },
      { annotations: { "kubemark-cluster.io/probe-fail-after": "10" } },
    ),
  );
  const t0 = h.clock.now();
  const seen: string[] = [];
  for (let i = 0; i < 30; i++) {
    await h.clock.advance(1_000);
    for (const s of writtenStatuses(h.api, "sick").slice(seen.length)) {
      const c = s.containerStatuses[0] as unknown as {
        ready: boolean;
        restartCount: number;
        lastState: { terminated?: { exitCode: number } };
      };
      seen.push(
        `${(h.clock.now() - t0) / 1000}s ready=${c.ready} restarts=${c.restartCount} last=${c.lastState.terminated?.exitCode ?? "-"}`,
      );
    }
  }
  assert.deepEqual(seen, [
    "1s ready=true restarts=0 last=-",
    "12s ready=false restarts=0 last=-", // readiness ticks at 10 s, 12 s fail: threshold 2
    "20s ready=true restarts=1 last=137", // liveness ticks at 10, 15, 20 s fail: killed, restarted at once
  ]);
});

test("pods: probe-flap-period: readiness alternates", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(
    h,
    makePod(
      "flappy",
      { containers: [{ name: "app", image: "nginx", readinessProbe: { periodSeconds: 1 } }] },
      { annotations: { "kubemark-cluster.io/probe-flap-period": "5" } },
    ),
  );
  await h.clock.advance(21_000);
  const ready = writtenStatuses(h.api, "flappy").map(
    (s) => (s.containerStatuses[0] as unknown as { ready: boolean }).ready,
  );
  assert.deepEqual(ready, [true, false, true, false, true]);
});

test("pods: an in-place resize is reported: the containers' new resources and allocation, the new generation observed", async () => {
  const h = await registered({ traffic: "minimal" });
  const pod = makePod(
    "big",
    {
      containers: [
        { name: "app", image: "nginx", resources: { requests: { cpu: "100m" }, limits: { cpu: "200m" } } },
      ],
    },
    { generation: 1 },
  );
  bind(h, pod);
  await h.clock.advance(1_000);
  const resized: PodObject = {
    ...pod,
    metadata: { ...pod.metadata, generation: 2 },
    spec: {
      ...pod.spec,
      containers: [
        { name: "app", image: "nginx", resources: { requests: { cpu: "300m" }, limits: { cpu: "400m" } } },
      ],
    },
  };
  h.api.pods.set(podPath("big"), resized);
  h.node.onPod("MODIFIED", resized);
  h.node.onPod("MODIFIED", resized); // an unrelated update: nothing more to write
  await h.clock.advance(1_000);
  const written = writtenStatuses(h.api, "big") as unknown as Array<{
    observedGeneration: number;
    containerStatuses: { resources: unknown; allocatedResources: unknown }[];
  }>;
  assert.equal(written.length, 2);
  assert.deepEqual(written[0]!.containerStatuses[0]!.resources, {
    requests: { cpu: "100m" },
    limits: { cpu: "200m" },
  });
  assert.deepEqual(written[1]!.containerStatuses[0]!.resources, {
    requests: { cpu: "300m" },
    limits: { cpu: "400m" },
  });
  assert.deepEqual(written[1]!.containerStatuses[0]!.allocatedResources, { cpu: "300m" });
  assert.equal(written[1]!.observedGeneration, 2);
});

test("pods: a pod that already ended (Failed, Succeeded without an IP) is adopted as ended: nothing is written", async () => {
  const h = await registered({ traffic: "minimal" });
  for (const [name, phase] of [
    ["failed-1", "Failed"],
    ["done-1", "Succeeded"],
  ] as const) {
    const pod = makePod(name, { restartPolicy: "Never" });
    bind(h, { ...pod, status: { phase, startTime: "2026-01-01T00:00:00Z" } });
  }
  await h.clock.advance(30_000);
  assert.deepEqual(writtenStatuses(h.api, "failed-1"), []);
  assert.deepEqual(writtenStatuses(h.api, "done-1"), []);
});

test("pods: an init container failing twice is restarted with the back-off, then the pod runs; with restartPolicy Never it fails the pod", async () => {
  const h = await registered({ traffic: "kubelet" });
  h.node.observeNode(withNodeCidr("10.128.3.0/24"));
  const pod = (name: string, restartPolicy: string): PodObject =>
    makePod(
      name,
      { restartPolicy, initContainers: [{ name: "setup", image: "busybox" }] },
      { annotations: { "kubemark-cluster.io/init-failures": "2" } },
    );
  bind(h, pod("flaky-init", "Always"));
  bind(h, pod("fatal-init", "Never"));
  const t0 = h.clock.now();
  const seen = (name: string): string[] =>
    writtenStatuses(h.api, name).map((s) => {
      const init = s.initContainerStatuses?.[0] as unknown as {
        restartCount: number;
        state: ContainerState;
      };
      const state = init.state.running
        ? "running"
        : init.state.terminated
          ? `terminated(${init.state.terminated.exitCode})`
          : init.state.waiting!.reason;
      return `${s.phase} init=${state} restarts=${init.restartCount}`;
    });
  await h.clock.advance(5_000);
  assert.deepEqual(seen("fatal-init"), [
    "Pending init=PodInitializing restarts=0",
    "Pending init=running restarts=0",
    "Failed init=terminated(1) restarts=0",
  ]);
  await h.clock.advance(10_000);
  assert.deepEqual(seen("flaky-init"), [
    "Pending init=PodInitializing restarts=0",
    "Pending init=running restarts=0",
    "Pending init=running restarts=1", // the first failure: restarted at once
    "Pending init=CrashLoopBackOff restarts=1", // the second: back-off 10 s
    "Pending init=running restarts=2",
    "Running init=terminated(0) restarts=0", // the third run passes: the pod runs
  ]);
  assert.ok(h.clock.now() - t0 >= 10_000);
});

test("pods: restartPolicy OnFailure: exit 0 succeeds the pod", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(h, makePod("ok-1", { restartPolicy: "OnFailure", containers: [{ name: "c", command: ["true"] }] }));
  await h.clock.advance(2_000);
  assert.deepEqual(
    writtenStatuses(h.api, "ok-1").map((s) => s.phase),
    ["Running", "Succeeded"],
  );
});

test("pods: graceful deletion writes terminated status, then DELETEs with grace 0 and a uid precondition", async () => {
  for (const traffic of ["kubelet", "minimal"] as const) {
    const h = await registered({ traffic });
    const pod = makePod("web-0");
    bind(h, pod);
    await h.clock.advance(1_000);
    h.api.requests.length = 0;
    const deleting: PodObject = {
      ...pod,
      metadata: { ...pod.metadata, deletionTimestamp: "2026-01-01T00:00:30Z" },
    };
    h.api.pods.set(podPath("web-0"), deleting);
    h.node.onPod("MODIFIED", deleting);
    h.node.onPod("MODIFIED", deleting);
    await h.clock.advance(1_000);
    const podRequests = h.api.requests.filter((r) => !r.path.startsWith(LEASES));
    assert.deepEqual(routes(podRequests), [
      ...(traffic === "kubelet" ? [`GET ${podPath("web-0")}`] : []),
      `PATCH ${podPath("web-0")}/status`,
      // The status manager reads the pod once more before deleting it.
      ...(traffic === "kubelet" ? [`GET ${podPath("web-0")}`] : []),
      `DELETE ${podPath("web-0")}`,
    ]);
    const patch = podRequests.find((r) => r.method === "PATCH")!.body.status;
    assert.equal(patch.phase, "Succeeded", traffic);
    assert.ok(patch.containerStatuses.every((c) => c.state.terminated));
    assert.deepEqual(podRequests.at(-1)!.body, {
      apiVersion: "v1",
      kind: "DeleteOptions",
      gracePeriodSeconds: 0,
      preconditions: { uid: "uid-web-0" },
    });
  }
});

test("pods: a container that ignores SIGTERM (sleep as PID 1) keeps the pod Terminating for its grace period, then exits 137", async () => {
  const h = await registered({ traffic: "minimal" });
  const pod = makePod("sleeper", {
    terminationGracePeriodSeconds: 30,
    containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"] }],
  });
  bind(h, pod);
  await h.clock.advance(1_000);
  h.api.requests.length = 0;
  const deleting: PodObject = {
    ...pod,
    metadata: { ...pod.metadata, deletionTimestamp: "2026-01-01T00:00:30Z", deletionGracePeriodSeconds: 30 },
  };
  h.api.pods.set(podPath("sleeper"), deleting);
  h.node.onPod("MODIFIED", deleting);
  const podRequests = (): Recorded[] => h.api.requests.filter((r) => !r.path.startsWith(LEASES));
  await h.clock.advance(29_000);
  assert.deepEqual(routes(podRequests()), [], "still running within the grace period");
  await h.clock.advance(1_500);
  assert.deepEqual(routes(podRequests()), [
    `PATCH ${podPath("sleeper")}/status`,
    `DELETE ${podPath("sleeper")}`,
  ]);
  const term = podRequests()[0]!.body.status.containerStatuses[0]!.state.terminated;
  assert.equal(term?.exitCode, 137, "killed when the grace period ended");
});

test("pods: a pod already being deleted when first seen is deleted without being started", async () => {
  const h = await registered({ traffic: "minimal" });
  const pod = makePod("web-0", {}, { deletionTimestamp: "2026-01-01T00:00:00Z" });
  bind(h, pod);
  await h.clock.advance(1_000);
  assert.deepEqual(routes(h.api.requests.filter((r) => !r.path.startsWith(LEASES))), [
    `DELETE ${podPath("web-0")}`,
  ]);
});

test("pods: a DELETED event releases the IP, and a later pod reuses it", async () => {
  const h = await registered({ traffic: "minimal" });
  // A /29 has five pod addresses: .2 to .6.
  h.node.observeNode(withNodeCidr("10.128.3.0/29"));
  for (const n of ["p1", "p2", "p3", "p4", "p5"]) bind(h, makePod(n));
  await h.clock.advance(1_000);
  assert.deepEqual(
    ["p1", "p2", "p3", "p4", "p5"].map((n) => ipOf(h.api, n)),
    ["10.128.3.2", "10.128.3.3", "10.128.3.4", "10.128.3.5", "10.128.3.6"],
  );
  h.node.onPod("DELETED", makePod("p2"));
  assert.equal(h.node.podCount, 4);
  bind(h, makePod("p6"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "p6"), "10.128.3.3");
});

test("pods: a pod that finds the pod CIDR full starts once an address is freed", async () => {
  const h = await registered({ traffic: "minimal" });
  h.node.observeNode(withNodeCidr("10.128.3.0/30")); // one pod address
  bind(h, makePod("first"));
  bind(h, makePod("waiting"));
  await h.clock.advance(10_000);
  assert.equal(ipOf(h.api, "first"), "10.128.3.2");
  assert.deepEqual(statusPatches(h.api, "waiting"), [], "no address, so not Running");
  h.node.onPod("DELETED", makePod("first"));
  await h.clock.advance(10_000);
  assert.deepEqual(statusPatches(h.api, "waiting"), [{ phase: "Running", podIP: "10.128.3.2" }]);
});

test("observeNode with a changed podCIDR: new pods get IPs from the new CIDR, running ones keep theirs", async () => {
  const h = await registered({ traffic: "minimal" });
  h.node.observeNode(withNodeCidr("10.128.3.0/24"));
  bind(h, makePod("before"));
  await h.clock.advance(1_000);
  h.node.observeNode(withNodeCidr("10.128.7.0/24"));
  bind(h, makePod("after"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "before"), "10.128.3.2");
  assert.equal(ipOf(h.api, "after"), "10.128.7.2");
  assert.equal(statusPatches(h.api, "before").length, 1, "the running pod is not rewritten");
});

test("observeNode: pods adopted with an IP inside the new podCIDR keep it to themselves", async () => {
  const h = await registered({ traffic: "minimal" });
  const running = makePod("running");
  running.status = { phase: "Running", podIP: "10.128.3.2", startTime: "2026-01-01T00:00:00Z" };
  bind(h, running);
  h.node.observeNode(withNodeCidr("10.128.3.0/24"));
  bind(h, makePod("new"));
  await h.clock.advance(1_000);
  assert.deepEqual(statusPatches(h.api, "running"), [], "a pod already Running is adopted as it is");
  assert.equal(ipOf(h.api, "new"), "10.128.3.3");
});

test("a re-registered node does not hand out the IPs of pods it still runs", async () => {
  const h = await registered({ traffic: "kubelet" });
  bind(h, makePod("a"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "a"), "172.16.0.2");
  // The Node is deleted (its watch says so) and the kubelet registers it again; pod "a" lives on.
  h.node.nodeDeleted({ metadata: { name: NAME, uid: NODE_UID } });
  await h.clock.advance(1_000);
  assert.equal(h.api.requests.filter((r) => r.method === "POST" && r.path === "/api/v1/nodes").length, 1);
  assert.equal(h.node.registered, true);
  bind(h, makePod("b"));
  await h.clock.advance(1_000);
  assert.equal(ipOf(h.api, "b"), "172.16.0.3");
});

test("a relist forgets pods that were deleted while the watch was down", async () => {
  const h = await registered({ traffic: "minimal" });
  const handler = h.node.podHandler();
  bind(h, makePod("kept"));
  bind(h, makePod("gone"));
  await h.clock.advance(1_000);
  assert.equal(h.node.podCount, 2);
  handler.onRelistStart();
  handler.onEvent("ADDED", makePod("kept"));
  handler.onSynced();
  assert.equal(h.node.podCount, 1);
  bind(h, makePod("next"));
  await h.clock.advance(1_000);
  // "gone" had .3; next-fit gives .4 now, but .3 is free again for later.
  assert.equal(ipOf(h.api, "next"), "172.16.0.4");
});

test("stop ends the heartbeat and the watches", async () => {
  const h = await registered({ traffic: "kubelet" });
  h.node.stop();
  await h.clock.advance(60_000);
  assert.deepEqual(h.api.requests, []);
  assert.ok(h.watches.every((w) => w.stopped));
});
