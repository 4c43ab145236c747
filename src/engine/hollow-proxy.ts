import type { Logger } from "pino";
import type { ProtoType } from "../client/protobuf-schema.ts";
import { ENDPOINT_SLICE, EVENTS_V1_EVENT, SERVICE, watchedOnly } from "../client/protobuf-types.ts";
import { describeError } from "../kernel/errors.ts";
import type { EngineContext } from "./engine-context.ts";
import { microTime } from "./node-object.ts";
import type { ProxyApi, ProxyFeatures, ProxyMetricsSink } from "./proxy-types.ts";
import type { Versioned, Watcher, WatchHandler } from "./watcher.ts";

export type { ProxyApi, ProxyFeatures, ProxyMetricsSink } from "./proxy-types.ts";

/** kube-proxy's sync period (its informers resync and it re-syncs its rules this often). */
export const PROXY_SYNC_PERIOD_MS = 30_000;
/** kube-proxy's minSyncPeriod: changes are batched for at least this long. */
export const PROXY_MIN_SYNC_MS = 1_000;

/** The parts of a Service the proxy reads. */
interface ServiceObject extends Versioned {
  metadata: { namespace: string; name: string; resourceVersion?: string };
  spec?: { ports?: unknown[] };
}

/** kube-proxy's watch whose objects it does not read (protobuf-types.ts). */
const SERVICE_CIDR_WATCHED = watchedOnly("networking.k8s.io/v1", "ServiceCIDR");

/** The parts of an EndpointSlice the proxy reads. */
interface SliceObject extends Versioned {
  metadata: { namespace: string; name: string; resourceVersion?: string; labels?: Record<string, string> };
  endpoints?: { conditions?: { ready?: boolean } }[] | null;
}

/** What a proxier has programmed, as of its last sync. */
export interface ProxyView {
  readonly node: string;
  /** Services with a ClusterIP that the proxier handles. */
  readonly services: number;
  /** Ready endpoints of those services. */
  readonly endpoints: number;
  /** Epoch ms of the last sync (0 = never). */
  readonly lastSyncAt: number;
  readonly syncs: number;
  /** Changes received but not yet synced. */
  readonly pending: boolean;
}

/**
 * A hollow kube-proxy: the watches kubemark's hollow proxy holds (Services, EndpointSlices,
 * ServiceCIDRs where served; not its Node: a kube-proxy watches its Node through its NodeManager,
 * which the hollow proxy does not create, cmd/kube-proxy/app/server.go v1.36.3, and the v1.36.3
 * kubemark binary's audit log shows no Node watch), its startup Event, and a no-op proxier that
 * keeps what it would program and "syncs" on changes (batched by minSyncPeriod) and every sync
 * period. Unlike upstream kubemark's hollow proxy it cannot crash on the node-eligibility health
 * path: there is no health server to be nil, the health state is the sync time.
 */
export class HollowProxy {
  readonly node: string;
  private readonly ctx: EngineContext;
  private readonly api: ProxyApi;
  private readonly sink: ProxyMetricsSink;
  private readonly features: ProxyFeatures;
  private readonly log: Logger;
  /** Service key -> port count (received state). */
  private readonly services = new Map<string, number>();
  /** Slice key -> [service key, ready endpoints]. */
  private readonly slices = new Map<string, [string, number]>();
  private watchers: Watcher<Versioned>[] = [];
  private programmed = { services: 0, endpoints: 0 };
  private dirty = false;
  private syncQueued = false;
  private lastSyncAt = 0;
  private syncs = 0;
  private stopped = false;

  constructor(opts: {
    ctx: EngineContext;
    api: ProxyApi;
    node: string;
    sink: ProxyMetricsSink;
    features: ProxyFeatures;
    log: Logger;
  }) {
    this.ctx = opts.ctx;
    this.api = opts.api;
    this.node = opts.node;
    this.sink = opts.sink;
    this.features = opts.features;
    this.log = opts.log;
  }

  /** Opens kube-proxy's watches, posts its startup Event and starts the periodic sync. */
  start(): void {
    const svcKey = (m: { namespace: string; name: string }): string => `${m.namespace}/${m.name}`;
    const services: WatchHandler<ServiceObject> = {
      onEvent: (type, s) => {
        if (type === "DELETED") this.services.delete(svcKey(s.metadata));
        else this.services.set(svcKey(s.metadata), s.spec?.ports?.length ?? 0);
        this.changed();
      },
      onRelistStart: () => this.services.clear(),
      // A relist that re-announces nothing (all deleted meanwhile) is a change too.
      onSynced: () => this.changed(),
    };
    const slices: WatchHandler<SliceObject> = {
      onEvent: (type, s) => {
        const key = svcKey(s.metadata);
        if (type === "DELETED") {
          this.slices.delete(key);
        } else {
          const owner = s.metadata.labels?.["kubernetes.io/service-name"] ?? "";
          const ready = (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
          this.slices.set(key, [`${s.metadata.namespace}/${owner}`, ready]);
        }
        this.changed();
      },
      onRelistStart: () => this.slices.clear(),
      onSynced: () => this.changed(),
    };
    const ignore = { onEvent: () => undefined };
    // kube-proxy's client asks for protobuf as the kubelet's does (--kube-api-content-type).
    const pb = (type: ProtoType): ProtoType | undefined => this.ctx.proto(type).proto;
    this.watchers = [
      this.api.watch<ServiceObject>(
        "/api/v1/services",
        { labelSelector: "!service.kubernetes.io/service-proxy-name", fieldSelector: "spec.clusterIP!=None" },
        services,
        pb(SERVICE),
      ),
      this.api.watch<SliceObject>(
        "/apis/discovery.k8s.io/v1/endpointslices",
        { labelSelector: "!service.kubernetes.io/headless" },
        slices,
        pb(ENDPOINT_SLICE),
      ),
      ...(this.features.serviceCIDRs
        ? [this.api.watch("/apis/networking.k8s.io/v1/servicecidrs", {}, ignore, pb(SERVICE_CIDR_WATCHED))]
        : []),
    ] as Watcher<Versioned>[];
    this.postStartupEvent();
    this.ctx.queue.after(PROXY_SYNC_PERIOD_MS * (0.5 + this.ctx.random() / 2), () => this.periodic());
  }

  /** Closes the watches. */
  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.stop();
    this.watchers = [];
  }

  /** What the proxier has programmed (as of its last sync). */
  view(): ProxyView {
    return {
      node: this.node,
      services: this.programmed.services,
      endpoints: this.programmed.endpoints,
      lastSyncAt: this.lastSyncAt,
      syncs: this.syncs,
      pending: this.dirty,
    };
  }

  /**
   * kube-proxy's health rule: unhealthy when changes are waiting and the last sync is older than
   * twice the sync period (a stuck proxier), healthy otherwise.
   */
  healthy(now: number): boolean {
    if (this.lastSyncAt === 0) return !this.dirty;
    return now - this.lastSyncAt <= 2 * PROXY_SYNC_PERIOD_MS || !this.dirty;
  }

  private changed(): void {
    this.dirty = true;
    if (this.syncQueued || this.stopped) return;
    this.syncQueued = true;
    const wait = Math.max(0, this.lastSyncAt + PROXY_MIN_SYNC_MS - this.ctx.clock.now());
    this.ctx.queue.after(wait, () => {
      this.syncQueued = false;
      this.sync();
    });
  }

  private periodic(): void {
    if (this.stopped) return;
    this.sync();
    this.ctx.queue.after(PROXY_SYNC_PERIOD_MS, () => this.periodic());
  }

  /** The no-op proxier's syncProxyRules: compute what it would program and record the sync. */
  private sync(): void {
    if (this.stopped) return;
    const t0 = performance.now();
    let endpoints = 0;
    for (const [svc, ready] of this.slices.values()) if (this.services.has(svc)) endpoints += ready;
    this.programmed = { services: this.services.size, endpoints };
    this.dirty = false;
    this.lastSyncAt = this.ctx.clock.now();
    this.syncs++;
    this.sink.proxySynced(performance.now() - t0, this.lastSyncAt);
  }

  /**
   * kube-proxy's one startup Event on its Node ("Starting", action StartKubeProxy). It regards the
   * Node as the hollow proxy's NodeRef names it: by name, without a uid (the proxy never reads it).
   */
  private postStartupEvent(): void {
    const now = this.ctx.clock.now();
    this.api
      .request({
        method: "POST",
        path: "/apis/events.k8s.io/v1/namespaces/default/events",
        body: {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name: `${this.node}.${now.toString(16)}`, namespace: "default" },
          eventTime: microTime(now),
          reportingController: "kube-proxy",
          reportingInstance: `kube-proxy-${this.node}`,
          action: "StartKubeProxy",
          reason: "Starting",
          type: "Normal",
          regarding: { apiVersion: "v1", kind: "Node", name: this.node },
        },
        // kube-proxy's client, as a kubelet's, speaks protobuf (clientConnection.contentType).
        ...this.ctx.proto(EVENTS_V1_EVENT),
      })
      .catch((err: unknown) =>
        this.log.debug({ err: describeError(err) }, "could not post the proxy's startup event"),
      );
  }
}
