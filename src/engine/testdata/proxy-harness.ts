/** A HollowProxy on a fake clock and a fake proxy API, for the proxy's unit tests. */
import { protoOf } from "../../client/protobuf-types.ts";
import type { ProtoType } from "../../client/protobuf-schema.ts";
import assert from "node:assert/strict";
import { pino } from "pino";
import { HollowProxy, type ProxyApi } from "../hollow-proxy.ts";
import { defaultEngineConfig, type EngineConfig } from "../config.ts";
import { DueQueue } from "../due-queue.ts";
import type { EngineContext } from "../engine-context.ts";
import { EngineMetrics } from "../metrics.ts";
import type { Versioned, Watcher, WatchHandler } from "../watcher.ts";
import { FakeClock } from "../../kernel/clock.ts";
import type { KubeRequest } from "../../client/kube-client.ts";

export const NAME = "hollow-node-0";
export const SERVICES = "/api/v1/services";
export const SLICES = "/apis/discovery.k8s.io/v1/endpointslices";
export const SERVICE_CIDRS = "/apis/networking.k8s.io/v1/servicecidrs";
export const EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events";

export const engineConfig = (): EngineConfig => defaultEngineConfig([NAME]);

export interface OpenedWatch {
  path: string;
  query: KubeRequest["query"];
  handler: WatchHandler<Versioned>;
  stopped: boolean;
  /** The type asked for in protobuf (undefined: JSON). */
  proto: ProtoType | undefined;
}

/** The proxy's own API identity: records watches (and their stops) and requests, answers `{}`. */
export class FakeProxyApi implements ProxyApi {
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
    proto?: ProtoType,
  ): Watcher<T> {
    const w: OpenedWatch = { path, query, handler, stopped: false, proto };
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

export interface Harness {
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

export interface ServiceObject extends Versioned {
  metadata: { namespace: string; name: string; resourceVersion?: string };
  spec?: { ports?: unknown[] };
}

export interface SliceObject extends Versioned {
  metadata: { namespace: string; name: string; resourceVersion?: string; labels?: Record<string, string> };
  endpoints?: { conditions?: { ready?: boolean } }[] | null;
}

/** A started HollowProxy on a fake clock and fake API; the engine's own API must not be used. */
export function harness(
  opts: {
    serviceCIDRs?: boolean;
    start?: boolean;
    leaseContentType?: EngineConfig["leaseContentType"];
  } = {},
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
    cfg: opts.leaseContentType
      ? defaultEngineConfig([NAME], { leaseContentType: opts.leaseContentType })
      : engineConfig(),
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
    proto: (type) => protoOf((opts.leaseContentType ?? "protobuf") === "protobuf", type),
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
  if (opts.start ?? true) proxy.start();
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

export const svc = (name: string, namespace = "default"): ServiceObject => ({
  metadata: { namespace, name, resourceVersion: "1" },
  spec: { ports: [{ port: 80 }] },
});

/** An EndpointSlice of service `service` with endpoints whose ready conditions are `ready` (undefined = absent). */
export const slice = (
  name: string,
  service: string,
  ready: Array<boolean | undefined>,
  namespace = "default",
): SliceObject => ({
  metadata: { namespace, name, resourceVersion: "1", labels: { "kubernetes.io/service-name": service } },
  endpoints: ready.map((r) => (r === undefined ? {} : { conditions: { ready: r } })),
});

export const counts = (p: HollowProxy): { services: number; endpoints: number } => {
  const v = p.view();
  return { services: v.services, endpoints: v.endpoints };
};
