/**
 * A fleet session for unit tests of the verbs' decisions: a fake runtime (what runs the nodes)
 * and an in-memory object store in place of the clusters. The store keeps objects by path and
 * answers list, apply, create and delete; it has none of the API server's semantics beyond that
 * (integration tests cover those against a real one).
 */
import { KubeApiError } from "../../client/api-error.ts";
import type {
  KubeClient,
  KubeRequest,
  WatchStreamHandle,
  WatchStreamHandlers,
} from "../../client/kube-client.ts";
import { FakeClock } from "../../kernel/clock.ts";
import { FLEET_LABEL, NODES_PATH, nodeLeasePath, nodePath } from "../../kernel/k8s.ts";
import type { Permission } from "../apply.ts";
import type { FleetDeps } from "../context.ts";
import type { Endpoint } from "../endpoints.ts";
import type { FleetEvent } from "../events.ts";
import type { KubeObject } from "../objects.ts";
import type {
  EngineProcess,
  FleetNode,
  FleetRuntime,
  RemovedWorkload,
  StrayWorkload,
  WorkloadHealth,
} from "../runtime/runtime.ts";
import type { Session } from "../session.ts";
import { HOLLOW_LABEL, shardCount, type FleetMode, type FleetSpec } from "../spec.ts";

type Stored = Record<string, unknown> & {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[] | null;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
};

/** Paths listed as collections (their objects are `<path>/<name>`). */
const COLLECTION =
  /\/(nodes|leases|pods|csidrivers|csinodes|storageclasses|volumeattachments|persistentvolumes|persistentvolumeclaims|events|secrets|certificatesigningrequests)$/;
/** Cluster-wide lists of namespaced kinds (`/api/v1/persistentvolumeclaims`) hold every namespace's. */
const ALL_NAMESPACES = /^\/api\/v1\/(persistentvolumeclaims|events)$/;

/** Objects by path, with the few requests the fleet verbs make. */
export class FakeStore {
  readonly objects = new Map<string, Stored>();
  /** `METHOD path` of every request, in order. */
  readonly requests: string[] = [];
  /** Requests that fail with 500: `METHOD path` prefixes. */
  readonly failing: string[] = [];
  /** Open watches: each gets the changes of its collection that match its label selector. */
  private readonly watches = new Set<{ path: string; query: KubeRequest["query"]; h: WatchStreamHandlers }>();

  /** Stores an object at `path`. */
  put(path: string, obj: Stored): void {
    const type = this.objects.has(path) ? "MODIFIED" : "ADDED";
    this.objects.set(path, structuredClone(obj));
    this.notify(type, path, obj);
  }

  private remove(path: string): void {
    const obj = this.objects.get(path);
    this.objects.delete(path);
    if (obj) this.notify("DELETED", path, obj);
  }

  /** Tells the open watches of `path`'s collection, as the API server streams changes. */
  private notify(type: "ADDED" | "MODIFIED" | "DELETED", path: string, obj: Stored): void {
    for (const w of this.watches) {
      if (!path.startsWith(`${w.path}/`) || path.slice(w.path.length + 1).includes("/")) continue;
      if (matches(obj, w.query)) w.h.onEvent({ type, object: structuredClone(obj) });
    }
  }

  /** A watch with WatchList's initial events (synchronously), then the store's changes. */
  private watchStream(path: string, query: KubeRequest["query"], h: WatchStreamHandlers): WatchStreamHandle {
    this.requests.push(`WATCH ${path}`);
    const list = this.answer({ method: "GET", path, query }) as { items: Stored[] };
    for (const object of list.items) h.onEvent({ type: "ADDED", object });
    h.onEvent({
      type: "BOOKMARK",
      object: { metadata: { resourceVersion: "1", annotations: { "k8s.io/initial-events-end": "true" } } },
    });
    const w = { path, query, h };
    this.watches.add(w);
    return {
      cancel: () => {
        if (this.watches.delete(w)) h.onEnd();
      },
    };
  }

  has(path: string): boolean {
    return this.objects.has(path);
  }

  /** This store as the fleet code's client. */
  client(): KubeClient {
    const fake = {
      get: <T>(path: string, query?: KubeRequest["query"]): Promise<T> =>
        this.request<T>({ method: "GET", path, query }),
      request: <T>(req: KubeRequest): Promise<T> => this.request<T>(req),
      getText: (): Promise<string> => Promise.resolve(""),
      watchStream: (path: string, query: KubeRequest["query"], h: WatchStreamHandlers): WatchStreamHandle =>
        this.watchStream(path, query, h),
      close: (): Promise<void> => Promise.resolve(),
    };
    return fake as unknown as KubeClient;
  }

  private request<T>(req: KubeRequest): Promise<T> {
    this.requests.push(`${req.method} ${req.path}`);
    // A failure is a rejected promise, as the real client's (a `.catch` sees it).
    try {
      return Promise.resolve(this.answer(req) as T);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private answer(req: KubeRequest): unknown {
    const { method, path } = req;
    if (this.failing.some((f) => `${method} ${path}`.startsWith(f))) throw apiError(req, 500);
    if (path.endsWith("/selfsubjectaccessreviews")) return { status: { allowed: true } };
    // The Node authorizer probe (node-identity.ts): this fake cluster runs none.
    if (path.endsWith("/subjectaccessreviews")) return { status: { allowed: false } };
    if (method === "GET" && ALL_NAMESPACES.test(path)) {
      const kind = path.slice("/api/v1/".length);
      const items = [...this.objects]
        .filter(
          ([p]) =>
            p.startsWith("/api/v1/namespaces/") && p.split("/")[5] === kind && p.split("/").length === 7,
        )
        .map(([, o]) => structuredClone(o));
      return { items };
    }
    if (method === "GET" && COLLECTION.test(path)) {
      const items = [...this.objects]
        .filter(([p]) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes("/"))
        .map(([, o]) => structuredClone(o))
        .filter((o) => matches(o, req.query));
      return { items };
    }
    if (method === "GET") return structuredClone(this.existing(req));
    if (method === "DELETE") {
      const obj = this.existing(req);
      // Finalizers hold an object until they are removed, as the API server does.
      if (obj.metadata?.finalizers?.length) {
        obj.metadata.deletionTimestamp ??= "2026-01-01T00:00:00Z";
        return structuredClone(obj);
      }
      this.remove(path);
      return {};
    }
    const body = req.body as Stored;
    if (method === "PATCH" && req.patchType === "merge") {
      const obj = this.existing(req);
      const meta = (body.metadata ?? {}) as Record<string, unknown>;
      obj.metadata = { ...obj.metadata, ...meta };
      if (obj.metadata?.deletionTimestamp && !obj.metadata.finalizers?.length) this.remove(path);
      return structuredClone(obj);
    }
    if (method === "POST") {
      const at = `${path}/${body.metadata?.name ?? ""}`;
      if (this.objects.has(at)) throw apiError(req, 409);
      this.put(at, body);
      return body;
    }
    if (req.query?.["dryRun"] === undefined) {
      // The token controller fills a ServiceAccount token Secret.
      const data =
        body["type"] === "kubernetes.io/service-account-token" ? { token: "dG9r", "ca.crt": "Y2E=" } : {};
      this.put(path, { ...body, ...(Object.keys(data).length ? { data } : {}) });
    }
    return body;
  }

  private existing(req: KubeRequest): Stored {
    const obj = this.objects.get(req.path);
    if (!obj) throw apiError(req, 404);
    return obj;
  }
}

/** Whether `obj` has every label of the query's `labelSelector` (`k=v,...` only). */
function matches(obj: Stored, query: KubeRequest["query"]): boolean {
  const selector = String(query?.["labelSelector"] ?? "");
  const wanted = selector ? selector.split(",").map((kv) => kv.split("=") as [string, string]) : [];
  return wanted.every(([k, v]) => obj.metadata?.labels?.[k] === v);
}

function apiError(req: KubeRequest, status: number): KubeApiError {
  return new KubeApiError({
    code: status === 404 ? "NOT_FOUND" : "CONFLICT",
    status,
    method: req.method,
    path: req.path,
    message: `${status} ${req.method} ${req.path}`,
  });
}

/** Registers a fleet Node (Ready unless told) and its Lease renewed at `renewedAt`, as an engine would. */
export function registerNode(
  store: FakeStore,
  fleet: string,
  name: string,
  opts: { ready?: boolean; renewedAt?: number | undefined; labels?: Record<string, string> } = {},
): void {
  store.put(nodePath(name), {
    metadata: { name, labels: opts.labels ?? { [FLEET_LABEL]: fleet, [HOLLOW_LABEL]: "true" } },
    status: { conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }] },
  });
  if (opts.renewedAt !== undefined)
    store.put(nodeLeasePath(name), {
      metadata: { name },
      spec: { renewTime: new Date(opts.renewedAt).toISOString(), leaseDurationSeconds: 40 },
    });
}

/** Names of the Nodes in the store. */
export function nodeNames(store: FakeStore): string[] {
  return [...store.objects.keys()]
    .filter((p) => p.startsWith(`${NODES_PATH}/`))
    .map((p) => p.slice(NODES_PATH.length + 1))
    .sort();
}

/**
 * A runtime whose engine units are entries in a map: `apply` starts one per shard and, like a
 * real engine, registers the shard's Nodes Ready with fresh Leases (unless `registers` is off).
 */
export class FakeRuntime implements FleetRuntime {
  readonly unit = "unit";
  readonly units = "engine units";
  readonly needsToken = false;
  diagnosisIsFinal = false;
  /** What `diagnose` says (undefined: healthy). */
  diagnosis: string | undefined;
  /** Whether applied units register their Nodes. */
  registers = true;
  /** What `apply` throws, if anything. */
  failApply: Error | undefined;
  /** What `strays` finds. */
  stray: StrayWorkload | undefined;
  /** Running units: shard -> when it started. */
  readonly running = new Map<number, number>();
  /** Calls, in order: `apply 3 (from 5)`, `remove`. */
  readonly calls: string[] = [];
  readonly mode: FleetMode;
  private readonly store: FakeStore;
  private readonly clock: FakeClock;

  constructor(mode: FleetMode, store: FakeStore, clock: FakeClock) {
    this.mode = mode;
    this.store = store;
    this.clock = clock;
  }

  supports(): boolean {
    return true;
  }

  hostingPermissions(): Permission[] {
    return [];
  }

  plannedObjects(): Promise<KubeObject[]> {
    return Promise.resolve([]);
  }

  apply(spec: FleetSpec, prev: FleetSpec | undefined): Promise<void> {
    this.calls.push(`apply ${spec.nodes}${prev ? ` (from ${prev.nodes})` : ""}`);
    if (this.failApply) return Promise.reject(this.failApply);
    const now = this.clock.now();
    for (const i of [...this.running.keys()]) if (i >= shardCount(spec)) this.running.delete(i);
    for (let i = 0; i < shardCount(spec); i++) if (!this.running.has(i)) this.running.set(i, now);
    if (this.registers)
      for (let i = 0; i < spec.nodes; i++) {
        const name = `${spec.namePrefix}-${i}`;
        registerNode(this.store, spec.fleet, name, { renewedAt: now + 1_000 });
        // The node side of the fleet's CSI driver registers it in the node's CSINode.
        if (spec.storage)
          this.store.put(`/apis/storage.k8s.io/v1/csinodes/${name}`, {
            metadata: { name },
            spec: { drivers: [{ name: spec.storage.driver, nodeID: name }] },
          });
      }
    return Promise.resolve();
  }

  health(spec: FleetSpec): Promise<WorkloadHealth> {
    const desired = shardCount(spec);
    const detail: string[] = [];
    const down: string[] = [];
    for (let i = 0; i < desired; i++) {
      const line = `unit ${i} ${this.running.has(i) ? "running" : "stopped"}`;
      detail.push(line);
      if (!this.running.has(i)) down.push(line);
    }
    return Promise.resolve({ desired, running: desired - down.length, detail, down });
  }

  diagnose(): Promise<string | undefined> {
    return Promise.resolve(this.diagnosis);
  }

  startTimes(): Promise<Map<number, number>> {
    return Promise.resolve(new Map(this.running));
  }

  logs(_spec: FleetSpec, node: FleetNode | undefined): Promise<string> {
    return Promise.resolve(node ? `log of ${node.name}\n` : "all logs\n");
  }

  restartHint(): string {
    return "restart the units";
  }

  certDir(): undefined {
    return undefined;
  }

  localDir(): undefined {
    return undefined;
  }

  processes(): Promise<EngineProcess[] | undefined> {
    return Promise.resolve(undefined);
  }

  strays(): Promise<StrayWorkload | undefined> {
    return Promise.resolve(this.stray);
  }

  remove(): Promise<RemovedWorkload> {
    this.calls.push("remove");
    const processes = this.running.size;
    this.running.clear();
    return Promise.resolve({ processes, objects: [] });
  }
}

/** A session over one fake cluster with a fake runtime per mode, and the events it reported. */
export interface FakeFleet {
  readonly session: Session;
  readonly store: FakeStore;
  readonly clock: FakeClock;
  readonly runtimes: Record<FleetMode, FakeRuntime>;
  readonly events: FleetEvent[];
}

/** A session of fleet `fleet` (its namespace too) in one fake cluster. */
export function fakeFleet(fleet = "kubemark"): FakeFleet {
  const store = new FakeStore();
  const clock = new FakeClock();
  const events: FleetEvent[] = [];
  const runtimes = {
    local: new FakeRuntime("local", store, clock),
    "in-cluster": new FakeRuntime("in-cluster", store, clock),
  };
  const endpoint: Endpoint = {
    access: {
      server: "https://127.0.0.1:6443",
      insecureSkipTLSVerify: false,
      authorization: () => Promise.resolve(undefined),
      source: "test",
    },
    client: store.client(),
    kubeconfig: "/tmp/test.kubeconfig",
    localCluster: undefined,
    localWorkers: 0,
    version: "v1.36.3",
  };
  const deps: FleetDeps = {
    env: {},
    stateDir: "/nonexistent",
    clock,
    onEvent: (e) => events.push(e),
    signal: new AbortController().signal,
  };
  const session: Session = {
    deps,
    hosting: endpoint,
    target: endpoint,
    namespace: fleet,
    twoCluster: false,
    fleet,
    suggest: (verbAndArgs) => `kubemark-cluster ${verbAndArgs}`,
    targetIdentity: () => Promise.resolve({}),
    runtime: (mode) => runtimes[mode],
    close: () => Promise.resolve(),
  };
  return { session, store, clock, runtimes, events };
}
