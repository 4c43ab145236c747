/**
 * A HollowNode on a fake clock and a fake API server, for the engine's unit tests: the fake
 * answers as an API server would for one node and records every request.
 */
import { protoOf } from "../../client/protobuf-types.ts";
import assert from "node:assert/strict";
import { pino } from "pino";
import { HollowNode, type NodeObject } from "../hollow-node.ts";
import { DEFAULT_SHAPE, defaultEngineConfig, type EngineConfig } from "../config.ts";
import { NO_POD_START_LATENCY } from "../container-run.ts";
import { DueQueue } from "../due-queue.ts";
import type { EngineContext } from "../engine-context.ts";
import { nthSubnet, parseCidr } from "../ip-pool.ts";
import { EngineMetrics } from "../metrics.ts";
import {
  decodeLease,
  encodeLease,
  microTime,
  renderLease,
  type LeaseObject,
  type NodeIdentity,
} from "../node-object.ts";
import type { PodObject } from "../pod-object.ts";
import type { Versioned, Watcher, WatchHandler } from "../watcher.ts";
import { FakeClock } from "../../kernel/clock.ts";
import { KubeApiError, codeForStatus } from "../../client/api-error.ts";
import type { KubeRequest } from "../../client/kube-client.ts";

export const NAME = "hollow-node-0";
export const NODE_IP = "100.64.0.1";
export const NODE_UID = "node-uid-1";
export const LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
export const LEASE = `${LEASES}/${NAME}`;

/** The engine's config for tests: pods start at once unless a test sets `podStartLatency`. */
export const engineConfig = (over: Partial<EngineConfig> = {}): EngineConfig =>
  defaultEngineConfig([NAME], { podStartLatency: NO_POD_START_LATENCY, ...over });

export const IDENTITY: NodeIdentity = {
  name: NAME,
  shape: DEFAULT_SHAPE,
  ip: NODE_IP,
  kubeletVersion: "v1.34.1",
  kubeletPort: 10250,
  fleet: "default",
  nodeLabels: { "hollow-node": "true" },
};

/** A request body as the tests read it: the fields of every body the engine sends (Node, Lease, TokenRequest, pod status). */
export interface Body {
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

export interface ContainerState {
  terminated?: { exitCode: number };
  waiting?: { reason: string };
  running?: { startedAt: string };
}

export interface Recorded {
  method: string;
  path: string;
  body: Body;
  /** How the body was sent (protobuf bytes or a JSON object) and what answer was asked for. */
  wire: { body: "protobuf" | "json" | "none"; accept: "protobuf" | "json"; proto?: string | undefined };
}

export const ownerUid = (b: Body): string | undefined => b.metadata.ownerReferences[0]?.uid;
export const condition = (b: Body, type: string): { status: string; lastHeartbeatTime: string } | undefined =>
  b.status.conditions.find((c) => c.type === type);

export function apiError(status: number, method: string, path: string, reason?: string): KubeApiError {
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
export class FakeApi {
  readonly requests: Recorded[] = [];
  readonly pods = new Map<string, PodObject>();
  /** Other objects GET answers with, by path (PVCs, PVs, VolumeAttachments). */
  readonly objects = new Map<string, unknown>();
  /** What GET /api/v1/nodes/<name> answers (a Node that already existed). */
  existingNode: NodeObject | undefined;
  /** resourceVersion of the Lease on the "server"; bumped by each write (0: no Lease yet). */
  leaseRv = 0;
  private createdNode: NodeObject | undefined;
  private csiNode = false;
  private readonly failures: Array<{ method: string; path: string; error: KubeApiError }> = [];

  /**
   * Deletes the Node, and with it (the garbage collector) its Lease: its status PATCHes, GETs and
   * Lease PUTs answer 404 until a Node is created again ({@link existingNode}, or a POST).
   */
  deleteNode(): void {
    this.nodeDeleted = true;
    this.createdNode = undefined;
    this.existingNode = undefined;
    this.leaseRv = 0;
  }

  private nodeDeleted = false;

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
      // The type the real client would encode and decode in protobuf (kube-client.ts).
      proto: req.proto?.kind,
    } as const;
    this.requests.push({ method: req.method, path: req.path, body, wire });
    const failure = this.failures.findIndex((f) => f.method === req.method && f.path === req.path);
    if (failure >= 0) throw this.failures.splice(failure, 1)[0]!.error;
    const route = `${req.method} ${req.path}`;
    if (req.method === "GET" && this.objects.has(req.path)) return this.objects.get(req.path);
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
    const noNode = this.nodeDeleted && !this.existingNode && !this.createdNode;
    if (noNode && route === `PATCH /api/v1/nodes/${NAME}/status`) throw apiError(404, req.method, req.path);
    if (this.nodeDeleted && this.leaseRv === 0 && route === `PUT ${LEASE}`)
      throw apiError(404, req.method, req.path);
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

export interface OpenedWatch {
  path: string;
  query: KubeRequest["query"];
  handler: WatchHandler<Versioned>;
  stopped: boolean;
}

export interface Harness {
  node: HollowNode;
  api: FakeApi;
  clock: FakeClock;
  watches: OpenedWatch[];
  metrics: EngineMetrics;
  /** The engine's queue for pod and other work (not heartbeats). */
  queue: DueQueue;
}

/** A HollowNode on a fake clock and fake API server. */
export function harness(over: Partial<EngineConfig> = {}): Harness {
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
    proto: (type) => protoOf(cfg.leaseContentType === "protobuf", type),
    fallbackPodCidr: (index) => nthSubnet(podPool, 24, index),
  };
  return { node: new HollowNode(ctx, IDENTITY, 0), api, clock, watches, metrics, queue };
}

/** A harness whose node has registered 20 s ago; its requests so far are cleared. */
export async function registered(over: Partial<EngineConfig> = {}): Promise<Harness> {
  const h = harness(over);
  await h.node.register();
  // Past the start-up work a kubelet does after registering (CSINode, reads of its Node).
  await h.clock.advance(20_000);
  h.api.requests.length = 0;
  return h;
}

/** The current value of one of the engine's (unlabelled) metrics. */
export async function metricValue(h: Harness, name: string): Promise<number | undefined> {
  const m = await h.metrics.registry.getSingleMetric(name)?.get();
  return m?.values[0]?.value;
}

export const routes = (reqs: Recorded[]): string[] => reqs.map((r) => `${r.method} ${r.path}`);

/** A pod bound to this node with one container and a projected service-account token, like most pods. */
export function makePod(
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

export const podPath = (name: string): string => `/api/v1/namespaces/default/pods/${name}`;

/** The scheduler binds `pod`: the API server has it and the node's watch reports it. */
export function bind(h: Harness, pod: PodObject): void {
  h.api.pods.set(podPath(pod.metadata.name), pod);
  h.node.onPod("ADDED", pod);
}

/** Status PATCHes written for a pod, in order. */
export function statusPatches(api: FakeApi, name: string): Array<{ phase: string; podIP: string }> {
  return api.requests
    .filter((r) => r.method === "PATCH" && r.path === `${podPath(name)}/status`)
    .map((r) => ({ phase: r.body.status.phase, podIP: r.body.status.podIP }));
}

export const ipOf = (api: FakeApi, name: string): string | undefined =>
  statusPatches(api, name).at(-1)?.podIP;

export const withNodeCidr = (cidr: string): NodeObject => ({
  metadata: { name: NAME, uid: NODE_UID },
  spec: { podCIDR: cidr },
});

/** The pod statuses written for `name`, in order (their bodies). */
export function writtenStatuses(api: FakeApi, name: string): Body["status"][] {
  return api.requests
    .filter((r) => r.method === "PATCH" && r.path === `${podPath(name)}/status`)
    .map((r) => r.body.status);
}
