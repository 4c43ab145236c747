import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { HollowProxy, PROXY_MIN_SYNC_MS, PROXY_SYNC_PERIOD_MS, type ProxyApi } from "./hollow-proxy.ts";
import { defaultEngineConfig, type EngineConfig } from "./config.ts";
import { DueQueue } from "./due-queue.ts";
import type { EngineContext } from "./engine-context.ts";
import { EngineMetrics } from "./metrics.ts";
import type { Versioned, Watcher, WatchHandler } from "./watcher.ts";
import { FakeClock } from "../kernel/clock.ts";
import type { KubeRequest } from "../client/kube-client.ts";

const NAME = "hollow-node-0";
const NODE_UID = "node-uid-1";
const SERVICES = "/api/v1/services";
const SLICES = "/apis/discovery.k8s.io/v1/endpointslices";
const NODES = "/api/v1/nodes";
const SERVICE_CIDRS = "/apis/networking.k8s.io/v1/servicecidrs";
const EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events";

const engineConfig = (): EngineConfig => defaultEngineConfig([NAME]);

interface OpenedWatch {
  path: string;
  query: KubeRequest["query"];
  handler: WatchHandler<Versioned>;
  stopped: boolean;
}

/** The proxy's own API identity: records watches (and their stops) and requests, answers `{}`. */
class FakeProxyApi implements ProxyApi {
  readonly watches: OpenedWatch[] = [];
  readonly requests: KubeRequest[] = [];
  /** When set, requests reject with this error instead. */
  failWith: Error | undefined;

  request<T>(req: KubeRequest): Promise<T> {
    this.requests.push(req);
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve({} as T);
  }

  watch<T extends Versioned>(
    path: string,
    query: KubeRequest["query"],
    handler: WatchHandler<T>,
  ): Watcher<T> {
    const w: OpenedWatch = { path, query, handler, stopped: false };
    this.watches.push(w);
    return {
      stop: () => {
        w.stopped = true;
      },
    } as unknown as Watcher<T>;
  }

  /** The handler of the watch opened on `path` (exactly one). */
  handler(path: string): WatchHandler<Versioned> {
    const found = this.watches.filter((w) => w.path === path);
    assert.equal(found.length, 1, `one watch on ${path}`);
    return found[0]!.handler;
  }
}

interface Harness {
  proxy: HollowProxy;
  api: FakeProxyApi;
  clock: FakeClock;
  queue: DueQueue;
  /** Every proxySynced call, in order. */
  synced: Array<{ durationMs: number; at: number }>;
  /** Feeds a Service event through the services watch. */
  service(type: "ADDED" | "MODIFIED" | "DELETED", obj: ServiceObject): void;
  /** Feeds an EndpointSlice event through the slices watch. */
  slice(type: "ADDED" | "MODIFIED" | "DELETED", obj: SliceObject): void;
}

interface ServiceObject extends Versioned {
  metadata: { namespace: string; name: string; resourceVersion?: string };
  spec?: { ports?: unknown[] };
}

interface SliceObject extends Versioned {
  metadata: { namespace: string; name: string; resourceVersion?: string; labels?: Record<string, string> };
  endpoints?: { conditions?: { ready?: boolean } }[] | null;
}

/** A started HollowProxy on a fake clock and fake API; the engine's own API must not be used. */
function harness(
  opts: { serviceCIDRs?: boolean; nodeUid?: string | undefined; start?: boolean } = {},
): Harness {
  const clock = new FakeClock();
  const api = new FakeProxyApi();
  const synced: Array<{ durationMs: number; at: number }> = [];
  const queue = new DueQueue({
    clock,
    concurrency: 200,
    onError: (err) => assert.fail(`queued task failed: ${String(err)}`),
  });
  const ctx: EngineContext = {
    cfg: engineConfig(),
    clock,
    random: () => 0.5,
    queue,
    beats: new DueQueue({ clock, concurrency: Infinity, onError: (err) => assert.fail(String(err)) }),
    log: pino({ level: "silent" }),
    nodeLogger: () => pino({ level: "silent" }),
    metrics: new EngineMetrics({ processMetrics: false }),
    request: () => assert.fail("the proxy must use its own API identity, not the engine's"),
    heartbeat: () => assert.fail("the proxy sends no heartbeats"),
    watch: () => assert.fail("the proxy must use its own API identity, not the engine's"),
    fallbackPodCidr: () => undefined,
    proxy: undefined,
  };
  const proxy = new HollowProxy({
    ctx,
    api,
    node: NAME,
    sink: { proxySynced: (durationMs, at) => synced.push({ durationMs, at }) },
    features: { serviceCIDRs: opts.serviceCIDRs ?? false },
    log: pino({ level: "silent" }),
  });
  if (opts.start ?? true) proxy.start("nodeUid" in opts ? opts.nodeUid : NODE_UID);
  return {
    proxy,
    api,
    clock,
    queue,
    synced,
    service: (type, obj) => api.handler(SERVICES).onEvent(type, obj),
    slice: (type, obj) => api.handler(SLICES).onEvent(type, obj),
  };
}

const svc = (name: string, namespace = "default"): ServiceObject => ({
  metadata: { namespace, name, resourceVersion: "1" },
  spec: { ports: [{ port: 80 }] },
});

/** An EndpointSlice of service `service` with endpoints whose ready conditions are `ready` (undefined = absent). */
const slice = (
  name: string,
  service: string,
  ready: Array<boolean | undefined>,
  namespace = "default",
): SliceObject => ({
  metadata: { namespace, name, resourceVersion: "1", labels: { "kubernetes.io/service-name": service } },
  endpoints: ready.map((r) => (r === undefined ? {} : { conditions: { ready: r } })),
});

const counts = (p: HollowProxy): { services: number; endpoints: number } => {
  const v = p.view();
  return { services: v.services, endpoints: v.endpoints };
};

// ---------------------------------------------------------------- start

test("start opens kube-proxy's watches with its selectors; no ServiceCIDRs watch when not served", () => {
  const { api } = harness({ serviceCIDRs: false });
  assert.deepEqual(
    api.watches.map((w) => ({ path: w.path, query: w.query })),
    [
      {
        path: SERVICES,
        query: {
          labelSelector: "!service.kubernetes.io/service-proxy-name",
          fieldSelector: "spec.clusterIP!=None",
        },
      },
      { path: SLICES, query: { labelSelector: "!service.kubernetes.io/headless" } },
      { path: NODES, query: { fieldSelector: `metadata.name=${NAME}` } },
    ],
  );
  assert.ok(api.watches.every((w) => !w.stopped));
});

test("start also watches ServiceCIDRs when the API server serves them", () => {
  const { api } = harness({ serviceCIDRs: true });
  assert.deepEqual(
    api.watches.map((w) => w.path),
    [SERVICES, SLICES, NODES, SERVICE_CIDRS],
  );
  assert.equal(api.watches.length, 4);
});

test("start posts one events.k8s.io/v1 Starting Event on the Node, through the proxy's API", () => {
  const { api, clock } = harness();
  assert.equal(api.requests.length, 1);
  const req = api.requests[0]!;
  assert.equal(req.method, "POST");
  assert.equal(req.path, EVENTS);
  const body = req.body as {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string };
    eventTime: string;
    reason: string;
    action: string;
    type: string;
    reportingController: string;
    reportingInstance: string;
    regarding: Record<string, string>;
  };
  assert.equal(body.apiVersion, "events.k8s.io/v1");
  assert.equal(body.kind, "Event");
  assert.equal(body.metadata.namespace, "default");
  assert.ok(body.metadata.name.startsWith(`${NAME}.`), body.metadata.name);
  assert.equal(body.reason, "Starting");
  assert.equal(body.action, "StartKubeProxy");
  assert.equal(body.type, "Normal");
  assert.equal(body.reportingController, "kube-proxy");
  assert.equal(body.reportingInstance, `kube-proxy-${NAME}`);
  assert.deepEqual(body.regarding, { kind: "Node", name: NAME, uid: NODE_UID });
  assert.equal(Date.parse(body.eventTime), clock.now());
});

test("the startup Event omits the Node's uid when it is unknown", () => {
  const { api } = harness({ nodeUid: undefined });
  const body = api.requests[0]!.body as { regarding: Record<string, string> };
  assert.deepEqual(body.regarding, { kind: "Node", name: NAME });
});

test("a failed startup Event is logged, not thrown", async () => {
  const h = harness({ start: false });
  h.api.failWith = new Error("boom");
  h.proxy.start(NODE_UID);
  await h.clock.advance(1); // an unhandled rejection would fail the test run
  assert.equal(h.api.requests.length, 1);
});

test("nothing is synced before any change or the first periodic sync", async () => {
  const h = harness();
  await h.clock.advance(PROXY_SYNC_PERIOD_MS / 2 - 1);
  assert.equal(h.synced.length, 0);
  const v = h.proxy.view();
  assert.deepEqual(v, { node: NAME, services: 0, endpoints: 0, lastSyncAt: 0, syncs: 0, pending: false });
});

// ---------------------------------------------------------------- changes

test("services and ready endpoints appear in the view only once the sync runs", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  h.service("ADDED", svc("b"));
  h.service("ADDED", svc("c", "other"));
  h.slice("ADDED", slice("a-1", "a", [true, false, undefined])); // absent counts as ready: 2
  h.slice("ADDED", slice("a-2", "a", [true])); // 1
  h.slice("ADDED", slice("b-1", "b", [false, false])); // 0
  h.slice("ADDED", slice("c-1", "c", [true, true], "other")); // 2
  h.slice("ADDED", slice("x-1", "unknown", [true, true, true])); // no such service: 0
  h.slice("ADDED", slice("c-elsewhere", "c", [true])); // service c is in "other", not "default": 0
  assert.deepEqual(counts(h.proxy), { services: 0, endpoints: 0 }, "nothing programmed before the sync");
  assert.equal(h.proxy.view().pending, true);
  assert.equal(h.synced.length, 0, "never synced inside the handler");

  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 3, endpoints: 5 });
  const v = h.proxy.view();
  assert.equal(v.pending, false);
  assert.equal(v.syncs, 1);
  assert.equal(h.synced.length, 1, "one sync for the whole batch");
  assert.equal(v.lastSyncAt, h.synced[0]!.at);
  assert.ok(h.synced[0]!.durationMs >= 0);
});

test("a slice with no endpoints field, or null endpoints, counts none", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  h.slice("ADDED", {
    metadata: { namespace: "default", name: "a-1", labels: { "kubernetes.io/service-name": "a" } },
  });
  h.slice("ADDED", {
    metadata: { namespace: "default", name: "a-2", labels: { "kubernetes.io/service-name": "a" } },
    endpoints: null,
  });
  h.slice("ADDED", { metadata: { namespace: "default", name: "orphan" }, endpoints: [{}] }); // no service label
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 0 });
});

test("changes within the min sync period are batched into one sync at its end", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  await h.clock.advance(1);
  assert.equal(h.synced.length, 1, "the first change syncs at once (no sync yet to wait after)");
  const first = h.synced[0]!.at;

  for (let i = 0; i < 50; i++) h.slice("ADDED", slice(`a-${i}`, "a", [true]));
  await h.clock.advance(PROXY_MIN_SYNC_MS / 2);
  for (let i = 0; i < 50; i++) h.service("ADDED", svc(`s-${i}`));
  assert.equal(h.synced.length, 1, "no sync within the min period");
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 0 });
  assert.equal(h.proxy.view().pending, true);

  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.equal(h.synced.length, 2, "one sync for 100 changes");
  assert.equal(h.synced[1]!.at, first + PROXY_MIN_SYNC_MS, "at the end of the min period");
  assert.deepEqual(counts(h.proxy), { services: 51, endpoints: 50 });
  assert.equal(h.proxy.view().pending, false);
});

test("MODIFIED replaces a slice's ready count", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  h.slice("ADDED", slice("a-1", "a", [true, true, true]));
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 3 });
  h.slice("MODIFIED", slice("a-1", "a", [true, false, false]));
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 1 });
});

test("DELETED events empty the view after the next sync", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  h.service("ADDED", svc("b"));
  h.slice("ADDED", slice("a-1", "a", [true, true]));
  h.slice("ADDED", slice("b-1", "b", [true]));
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 2, endpoints: 3 });

  h.slice("DELETED", slice("b-1", "b", [true]));
  h.service("DELETED", svc("a")); // a's slice remains but no longer counts
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 0 });

  h.service("DELETED", svc("b"));
  h.slice("DELETED", slice("a-1", "a", [true, true]));
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 0 }, "still programmed until the sync");
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 0, endpoints: 0 });
  assert.equal(h.proxy.view().pending, false);
});

test("a relist clears the received state: only re-announced objects remain", async () => {
  const h = harness();
  for (const name of ["a", "b", "c"]) {
    h.service("ADDED", svc(name));
    h.slice("ADDED", slice(`${name}-1`, name, [true, true]));
  }
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 3, endpoints: 6 });

  h.api.handler(SERVICES).onRelistStart?.();
  h.service("ADDED", svc("b"));
  h.api.handler(SERVICES).onSynced?.();
  h.api.handler(SLICES).onRelistStart?.();
  h.slice("ADDED", slice("b-1", "b", [true, true]));
  h.slice("ADDED", slice("c-1", "c", [true])); // c's service is gone after the relist
  h.api.handler(SLICES).onSynced?.();
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 2 });
});

// ---------------------------------------------------------------- periodic sync and health

test("with no changes the proxier still syncs about every sync period", async () => {
  const h = harness();
  await h.clock.advance(5 * 60_000);
  assert.ok(h.synced.length >= 9 && h.synced.length <= 11, `${h.synced.length} syncs in 5 minutes`);
  assert.equal(h.proxy.view().syncs, h.synced.length);
  const gaps = h.synced.slice(1).map((s, i) => s.at - h.synced[i]!.at);
  assert.ok(
    gaps.every((g) => g === PROXY_SYNC_PERIOD_MS),
    `gaps ${gaps.join(",")}`,
  );
  assert.equal(h.proxy.view().pending, false);
});

test("periodic syncs pick up the received state", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  h.slice("ADDED", slice("a-1", "a", [true]));
  await h.clock.advance(3 * PROXY_SYNC_PERIOD_MS);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 1 });
  assert.ok(h.synced.length >= 3, `${h.synced.length} syncs`);
  assert.equal(h.proxy.view().lastSyncAt, h.synced.at(-1)!.at);
});

test("healthy: true after a sync; false when changes wait and the last sync is over 2 sync periods old", async () => {
  const h = harness();
  h.service("ADDED", svc("a"));
  await h.clock.advance(1);
  assert.equal(h.proxy.view().syncs, 1);
  assert.equal(h.proxy.healthy(h.clock.now()), true, "right after a sync");

  // A running proxier stays healthy: periodic syncs keep the last sync recent, changes keep coming.
  for (let i = 0; i < 10; i++) {
    h.slice("ADDED", slice(`a-${i}`, "a", [true]));
    await h.clock.advance(PROXY_SYNC_PERIOD_MS / 2);
    assert.equal(h.proxy.healthy(h.clock.now()), true, `at step ${i}`);
  }

  // The proxier gets stuck: nothing runs any more.
  h.queue.stop();
  const lastSync = h.proxy.view().lastSyncAt;
  await h.clock.advance(3 * PROXY_SYNC_PERIOD_MS);
  assert.equal(h.proxy.view().lastSyncAt, lastSync, "no sync while stuck");
  assert.equal(h.proxy.healthy(h.clock.now()), true, "nothing pending: healthy however old the last sync");

  h.service("ADDED", svc("b"));
  await h.clock.advance(PROXY_MIN_SYNC_MS);
  assert.equal(h.proxy.view().pending, true);
  assert.equal(h.proxy.view().lastSyncAt, lastSync);
  assert.equal(h.proxy.healthy(h.clock.now()), false, "pending changes and a sync over 2 periods old");
  assert.equal(
    h.proxy.healthy(lastSync + 2 * PROXY_SYNC_PERIOD_MS),
    true,
    "at exactly 2 periods: not yet late",
  );
  assert.equal(h.proxy.healthy(lastSync + 2 * PROXY_SYNC_PERIOD_MS + 1), false, "just past 2 periods: late");
});

test("healthy before any sync when nothing has been received", async () => {
  const h = harness();
  await h.clock.advance(PROXY_SYNC_PERIOD_MS / 4);
  assert.equal(h.proxy.view().lastSyncAt, 0);
  assert.equal(h.proxy.healthy(h.clock.now()), true);
});

// ---------------------------------------------------------------- stop

test("stop closes every watch and no sync happens afterwards", async () => {
  const h = harness({ serviceCIDRs: true });
  h.service("ADDED", svc("a"));
  await h.clock.advance(1);
  assert.equal(h.synced.length, 1);

  h.service("ADDED", svc("b")); // queued for the end of the min period
  h.proxy.stop();
  assert.equal(h.api.watches.length, 4);
  assert.ok(
    h.api.watches.every((w) => w.stopped),
    "every watch stopped",
  );

  h.service("ADDED", svc("c")); // a late event from a closing stream
  await h.clock.advance(5 * 60_000);
  assert.equal(h.synced.length, 1, "no sync after stop (neither the queued one nor periodic ones)");
  assert.equal(h.proxy.view().syncs, 1);
  assert.deepEqual(counts(h.proxy), { services: 1, endpoints: 0 });
});
