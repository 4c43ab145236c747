import { join } from "node:path";
import { pino, type DestinationStream, type Logger } from "pino";
import type { Clock } from "../kernel/clock.ts";
import { queryString, type KubeClient, type KubeRequest } from "../client/kube-client.ts";
import { POD } from "../client/protobuf-pod.ts";
import type { ProtoType } from "../client/protobuf-schema.ts";
import { NODE, protoOf } from "../client/protobuf-types.ts";
import { requeueDelayMs } from "../kernel/backoff.ts";
import { forEachLimit } from "../kernel/concurrency.ts";
import { KubemarkError, describeError } from "../kernel/errors.ts";
import { FLEET_LABEL } from "../kernel/k8s.ts";
import type { EngineConfig } from "./config.ts";
import { assignShapes } from "./config.ts";
import { CsiController } from "./csi/csi-controller.ts";
import { DueQueue } from "./due-queue.ts";
import type { EngineContext } from "./engine-context.ts";
import { KubeletEventRecorder } from "./kubelet-event-recorder.ts";
import { HollowNodeView } from "./kubelet-api/hollow-node-view.ts";
import type { NodeApiView } from "./kubelet-api/node-view.ts";
import { HollowNode, type NodeObject } from "./hollow-node.ts";
import { InFlightLimit } from "./in-flight-limit.ts";
import { OpeningLists, RegistrationPacer, defaultPacerConfig } from "./registration-pacer.ts";
import { ShapeContexts } from "./shape-models.ts";
import { nthHost, nthSubnet, parseCidr, type Cidr } from "./ip-pool.ts";
import type { EngineMetrics } from "./metrics.ts";
import type { PodObject } from "./pod-object.ts";
import { HollowProxy, type ProxyView } from "./hollow-proxy.ts";
import type { ProxyFeatures } from "./proxy-types.ts";
import {
  Watcher,
  type Versioned,
  type WatcherOptions,
  type WatchHandler,
  type WatchListSupport,
} from "./watcher.ts";

/** What the engine runs on. */
export interface EngineDeps {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: EngineMetrics;
  readonly random?: () => number;
  /**
   * The kubelets' heartbeat client (Leases, node status): a connection pool of its own, sized so
   * that no heartbeat waits for an HTTP/2 stream (a kubelet's heartbeat client is separate too);
   * default `client`.
   */
  readonly heartbeatClient?: KubeClient | undefined;
  /** The hollow proxy's client (user agent `hollow-proxy`); none = no proxy simulation. */
  readonly proxyClient?: KubeClient | undefined;
  /** Where the process log goes (per-node loggers copy their warnings there). */
  readonly logStream?: DestinationStream;
  /**
   * `--identity node`: node `name`'s own client (its certificate, its connections) for its
   * requests, heartbeats and watches; undefined = the shared `client` (identity/).
   */
  readonly nodeClient?: ((name: string) => KubeClient | undefined) | undefined;
  /**
   * `--connections per-node`: node `name`'s hollow proxy's own client (its own connections);
   * undefined = the shared `proxyClient`. Used for nodes with a `nodeClient`.
   */
  readonly nodeProxyClient?: ((name: string) => KubeClient | undefined) | undefined;
}

/** A snapshot of the fleet, for logs, benchmarks and tests. */
export interface EngineStats {
  readonly nodes: number;
  readonly registered: number;
  readonly pods: number;
  /** Nodes whose last successful renewal is older than the lease duration. */
  readonly staleLeases: number;
  readonly queue: { pending: number; running: number };
}

/**
 * The hollow-node engine: many simulated kubelets in one process, sharing one API client, one
 * due-time queue and (in `minimal` traffic) cluster-wide watches.
 */
export class Engine {
  readonly nodes: HollowNode[] = [];
  /** What each node's kubelet API answers from, by index in this process (kubelet-api/). */
  private readonly views: HollowNodeView[] = [];
  private readonly byName = new Map<string, HollowNode>();
  private readonly cfg: EngineConfig;
  private readonly deps: EngineDeps;
  private readonly queue: DueQueue;
  private readonly beats: DueQueue;
  private readonly ctx: EngineContext;
  private readonly shared: Watcher<Versioned>[] = [];
  private readonly watchList: WatchListSupport = { enabled: true };
  private readonly watchers = new Set<Watcher<Versioned>>();
  private podPool: Cidr;
  private readonly proxyFeatures: ProxyFeatures = { serviceCIDRs: false };
  private sharedProxy: HollowProxy | undefined;
  private readonly nodeLogFiles: { flushSync(): void; end(): void }[] = [];
  /** The fleet's CSI controller candidate (`cfg.csi.controller`). */
  csiController: CsiController | undefined;
  /** Paces the start-up's registrations (registration-pacer.ts); undefined once they have run. */
  private pacer: RegistrationPacer | undefined;
  /** The kubelets' watches opened before the registrations (kubelet traffic). */
  private openingLists: OpeningLists | undefined;
  /** The context of a node with its own client (`--identity node`): its requests, heartbeats, watches. */
  private readonly nodeContext: (client: KubeClient, proxyClient: KubeClient | undefined) => EngineContext;

  constructor(cfg: EngineConfig, deps: EngineDeps) {
    this.cfg = cfg;
    this.deps = deps;
    const random = deps.random ?? Math.random;
    this.podPool = parseCidr(cfg.podIpPool, "--pod-ip-pool");
    this.queue = new DueQueue({
      clock: deps.clock,
      concurrency: cfg.maxInFlight,
      onError: (err) => deps.log.error({ err: describeError(err) }, "task failed"),
    });
    this.beats = new DueQueue({
      clock: deps.clock,
      concurrency: Infinity,
      onError: (err) => deps.log.error({ err: describeError(err) }, "heartbeat task failed"),
    });
    const limit = new InFlightLimit(cfg.maxInFlight);
    // The kubelet's heartbeat client: timeout min(nodeStatusUpdateFrequency, nodeLeaseDurationSeconds).
    const heartbeatTimeoutMs = Math.min(cfg.statusUpdateMs, cfg.leaseDurationSeconds * 1000);
    // One options object for every watcher of the process: thousands of watchers, no closure each.
    const watcherOptions: WatcherOptions = {
      clock: deps.clock,
      random,
      watchList: this.watchList,
      registry: this.watchers,
      onOpen: () => deps.metrics.watchOpened(),
      // While nodes register, how long their WatchLists wait for the watch cache feeds the pacer
      // (but not the kubelets' opening burst: OpeningLists).
      onListed: (ms, ok, since) => {
        if (this.openingLists?.listEnded(since)) return;
        this.pacer?.watchListed(ms, ok);
      },
      onError: (err, path) => {
        deps.metrics.watchFailed();
        deps.log.debug({ path, err: describeError(err) }, "watch failed; retrying");
      },
    };
    const watchOn =
      (client: KubeClient) =>
      <T extends Versioned>(
        path: string,
        query: KubeRequest["query"],
        handler: WatchHandler<T>,
        proto?: ProtoType,
      ): Watcher<T> => {
        const w = new Watcher<T>(client, path, query, handler, watcherOptions, proto);
        w.start();
        return w;
      };
    deps.metrics.setProxySource(() => {
      let services = 0;
      let endpoints = 0;
      for (const v of this.proxyViews()) {
        services += v.services;
        endpoints += v.endpoints;
      }
      const h = this.proxyHealth();
      return { services, endpoints, oldestSyncAt: h.oldestSyncAt, unhealthy: h.unhealthy.length };
    });
    deps.metrics.setReadySource(() => {
      const s = this.stats();
      return s.registered - s.staleLeases;
    });
    this.ctx = {
      cfg,
      clock: deps.clock,
      random,
      queue: this.queue,
      beats: this.beats,
      log: deps.log,
      nodeLogger: (name) => {
        if (!cfg.logDir) return deps.log.child({ node: name });
        const file = pino.destination({ dest: join(cfg.logDir, `${name}.log`), mkdir: true, sync: false });
        this.nodeLogFiles.push(file);
        return pino(
          { level: deps.log.level, base: { component: "hollow-node", node: name } },
          pino.multistream([
            { stream: file, level: deps.log.level },
            { stream: deps.logStream ?? pino.destination(2), level: "warn" },
          ]),
        );
      },
      metrics: deps.metrics,
      request: <T>(req: KubeRequest) => limit.run(() => deps.client.request<T>(req)),
      // Outside the in-flight window: each node has at most one heartbeat in flight (its loop
      // waits for the answer), as each kubelet does; a window would make renewals queue in the
      // engine behind each other where kubelets' queue at the API server.
      heartbeat: <T>(req: KubeRequest) =>
        this.pacedHeartbeat(
          (deps.heartbeatClient ?? deps.client).request<T>({ ...req, timeoutMs: heartbeatTimeoutMs }),
        ),
      watch: watchOn(deps.client),
      proxy: deps.proxyClient
        ? {
            api: {
              request: <T>(req: KubeRequest) => limit.run(() => deps.proxyClient!.request<T>(req)),
              watch: watchOn(deps.proxyClient),
            },
            features: this.proxyFeatures,
            sink: deps.metrics,
          }
        : undefined,
      events:
        cfg.events && cfg.traffic === "kubelet"
          ? new KubeletEventRecorder({
              clock: deps.clock,
              queue: this.queue,
              random,
              // Each node's own client under --identity node: its Events are written as itself.
              request: <T>(req: KubeRequest, host: string) =>
                limit.run(() => (deps.nodeClient?.(host) ?? deps.client).request<T>(req)),
              log: deps.log,
              protobuf: cfg.leaseContentType === "protobuf",
            })
          : undefined,
      proto: (type) => protoOf(cfg.leaseContentType === "protobuf", type),
      fallbackPodCidr: (index) => nthSubnet(this.podPool, Math.max(24, this.podPool.prefix), index),
    };
    this.nodeContext = (client, proxyClient) => ({
      ...this.ctx,
      request: <T>(req: KubeRequest) => limit.run(() => client.request<T>(req)),
      heartbeat: <T>(req: KubeRequest) =>
        this.pacedHeartbeat(client.request<T>({ ...req, timeoutMs: heartbeatTimeoutMs })),
      watch: watchOn(client),
      proxy:
        this.ctx.proxy && proxyClient
          ? {
              ...this.ctx.proxy,
              api: {
                request: <T>(req: KubeRequest) => limit.run(() => proxyClient.request<T>(req)),
                watch: watchOn(proxyClient),
              },
            }
          : this.ctx.proxy,
    });
  }

  /** While nodes register, each heartbeat's answer time (or failure) feeds the registration pacer. */
  private pacedHeartbeat<T>(answer: Promise<T>): Promise<T> {
    const pacer = this.pacer;
    if (!pacer) return answer;
    const { clock } = this.deps;
    const sent = clock.now();
    const done = (): void => pacer.heartbeatAnswered(clock.now() - sent);
    return answer.then(
      (v) => {
        done();
        return v;
      },
      (err: unknown) => {
        done();
        throw err;
      },
    );
  }

  /** Resolves the kubelet version to report: the configured one, else the API server's. */
  private async kubeletVersion(): Promise<string> {
    if (this.cfg.kubeletVersion) return this.cfg.kubeletVersion;
    const v = await this.deps.client.get<{ gitVersion: string }>("/version");
    return v.gitVersion;
  }

  /**
   * Registers every node, admitted as fast as the API server answers (registration-pacer.ts), and
   * starts their loops. Resolves when all are registered; a node that fails to register is retried
   * in the background.
   */
  async start(): Promise<void> {
    const firstIndex = this.cfg.firstIndex;
    const { cfg, deps } = this;
    const version = await this.kubeletVersion();
    const ipPool = parseCidr(cfg.nodeIpPool, "--node-ip-pool");
    const shapes = assignShapes(cfg.nodeNames.length, cfg.shapes);
    const startedAt = deps.clock.now();
    // A node's pod models are its shape's where the fleet profile gives the shape its own.
    const byShape = new ShapeContexts();
    cfg.nodeNames.forEach((name, i) => {
      const ordinal = firstIndex + i;
      const ip = cfg.nodeIp ?? nthHost(ipPool, ordinal);
      if (!ip) {
        throw new KubemarkError(
          "BAD_INPUT",
          `--node-ip-pool ${cfg.nodeIpPool} has no address for node ${ordinal}`,
          {
            hint: "use a larger pool",
            exitCode: 2,
          },
        );
      }
      const own = deps.nodeClient?.(name);
      const node = new HollowNode(
        byShape.context(own ? this.nodeContext(own, deps.nodeProxyClient?.(name)) : this.ctx, shapes[i]!),
        {
          name,
          shape: shapes[i]!,
          ip,
          kubeletVersion: version,
          // Each node's own kubelet endpoint: port base + its index in this process (kubelet-api/).
          kubeletPort: cfg.kubeletPort > 0 ? cfg.kubeletPort + i : 10250,
          endpointAddress: cfg.kubeletPort > 0 ? cfg.kubeletAddress : undefined,
          fleet: cfg.fleet,
          nodeLabels: cfg.nodeLabels,
        },
        ordinal,
      );
      this.nodes.push(node);
      this.byName.set(name, node);
      this.views.push(new HollowNodeView(node, startedAt));
    });
    if (this.ctx.proxy) {
      // ServiceCIDRs are watched where the API server serves them (networking.k8s.io/v1, 1.33+).
      const group = await deps.client
        .get<{ resources?: { name: string }[] }>("/apis/networking.k8s.io/v1")
        .catch(() => ({ resources: [] }));
      this.proxyFeatures.serviceCIDRs = (group.resources ?? []).some((r) => r.name === "servicecidrs");
    }
    if (cfg.traffic === "minimal") this.startSharedWatches();
    const registerWithRetry = async (node: HollowNode): Promise<boolean> => {
      try {
        await node.register();
        return true;
      } catch (err) {
        deps.log.warn({ node: node.id.name, err: describeError(err) }, "registration failed; retrying");
        this.queue.after(requeueDelayMs(this.ctx.random), () =>
          registerWithRetry(node).then(() => undefined),
        );
        return false;
      }
    };
    // Every kubelet of this process starts at once: its informers before its registration
    // (HollowNode.openKubeletWatches), and the registrations wait for their initial lists. Those
    // lists meet watch caches that are current. Opened with each registration instead, they met a
    // Node cache that the registrations' writes had put behind: in a 5,000-node start-up ~10,000
    // Node WatchLists failed after the API server's 3 s wait and were retried, 2,000-4,000 with
    // this order, most of them the hollow proxies' own-Node watches, which kubemark's hollow proxy
    // does not hold and ours no longer does (results/startup-22.md, sessions 19 and 20).
    let opening = 0;
    for (const node of this.nodes) opening += node.openKubeletWatches();
    if (opening > 0) {
      const t0 = deps.clock.now();
      const lists = new OpeningLists(opening, t0, deps.clock);
      this.openingLists = lists;
      const all = await lists.ended();
      deps.log.info(
        {
          lists: opening,
          seconds: (deps.clock.now() - t0) / 1000,
          ...(all ? {} : { pending: lists.pending, stillListing: this.stillListing(5) }),
        },
        all ? "kubelet watches listed" : "kubelet watches not all listed; registering anyway",
      );
    }
    // Admit nodes as fast as the API server answers the heartbeats of those already up (no fixed
    // worker count: kubelets have none); failures are retried by the queue and reported here.
    let failed = 0;
    const pacer = new RegistrationPacer(
      defaultPacerConfig(cfg.maxInFlight, cfg.leaseDurationSeconds),
      deps.clock,
    );
    this.pacer = pacer;
    await pacer.run(this.nodes, async (node) => {
      if (!(await registerWithRetry(node))) failed++;
    });
    this.pacer = undefined;
    this.openingLists = undefined;
    deps.log.info(pacer.summary(), "registration pacing");
    if (failed > 0) deps.log.warn({ failed }, "some nodes failed to register and are being retried");
    // One process of the fleet is elected to provision, attach and expand its driver's volumes.
    if (cfg.csi?.controller) {
      this.csiController = new CsiController(this.ctx, cfg.csi);
      this.csiController.start();
    }
  }

  /** Up to `max` watches whose initial lists are still under way: what they list, for how long. */
  private stillListing(max: number): { path: string; query: string; seconds: number }[] {
    const now = this.deps.clock.now();
    const out: { path: string; query: string; seconds: number }[] = [];
    for (const w of this.watchers) {
      const l = w.listingSince;
      if (!l) continue;
      out.push({ path: l.path, query: queryString(l.query), seconds: (now - l.since) / 1000 });
      if (out.length >= max) break;
    }
    return out;
  }

  /** `minimal` traffic: one cluster-wide watch per kind, dispatched to the nodes by name. */
  private startSharedWatches(): void {
    if (this.ctx.proxy) {
      // One proxier stands for the whole fleet: kube-proxy's watches once, not per node.
      this.sharedProxy = new HollowProxy({
        ctx: this.ctx,
        ...this.ctx.proxy,
        node: "fleet",
        log: this.deps.log,
      });
      this.sharedProxy.start();
    }
    const nodes = this.nodes;
    this.shared.push(
      this.ctx.watch<PodObject>(
        "/api/v1/pods",
        { fieldSelector: "spec.nodeName!=" },
        {
          onEvent: (type, pod) => {
            const node = this.byName.get(pod.spec.nodeName ?? "");
            node?.onPod(type, pod);
          },
          onRelistStart: () => nodes.forEach((n) => n.podHandler().onRelistStart()),
          onSynced: () => nodes.forEach((n) => n.podHandler().onSynced()),
        },
        this.ctx.proto(POD).proto,
      ),
      this.ctx.watch<NodeObject>(
        "/api/v1/nodes",
        { labelSelector: `${FLEET_LABEL}=${this.cfg.fleet}` },
        {
          onEvent: (type, n) => {
            const node = this.byName.get(n.metadata.name);
            if (type === "DELETED") node?.nodeDeleted(n);
            else node?.observeNode(n);
          },
        },
        this.ctx.proto(NODE).proto,
      ),
    );
  }

  /** Current figures. */
  stats(): EngineStats {
    const now = this.deps.clock.now();
    const limit = this.cfg.leaseDurationSeconds * 1000;
    let registered = 0;
    let pods = 0;
    let stale = 0;
    for (const n of this.nodes) {
      // A node whose Node was deleted counts again once the Node exists again.
      const up = n.registered && !n.gone;
      if (up) registered++;
      pods += n.podCount;
      if (up && now - n.lastRenew > limit) stale++;
    }
    const q = this.queue.stats();
    return {
      nodes: this.nodes.length,
      registered,
      pods,
      staleLeases: stale,
      queue: { pending: q.pending, running: q.running },
    };
  }

  // ---------------------------------------------------------------- kubelet endpoints

  /** Node `index` of this process as its kubelet API answers for it (undefined before {@link start}). */
  nodeApiView(index: number): NodeApiView | undefined {
    return this.views[index];
  }

  /** Every proxier's view: one per node with kubelet traffic, one for the fleet with minimal. */
  proxyViews(): ProxyView[] {
    if (this.sharedProxy) return [this.sharedProxy.view()];
    const out: ProxyView[] = [];
    for (const n of this.nodes) if (n.proxy) out.push(n.proxy.view());
    return out;
  }

  /** kube-proxy-style health of the fleet's proxiers. */
  proxyHealth(): { healthy: boolean; unhealthy: string[]; oldestSyncAt: number } {
    const now = this.deps.clock.now();
    const proxies = this.sharedProxy
      ? [this.sharedProxy]
      : this.nodes.flatMap((n) => (n.proxy ? [n.proxy] : []));
    const unhealthy = proxies.filter((p) => !p.healthy(now)).map((p) => p.node);
    let oldest = Infinity;
    for (const p of proxies) oldest = Math.min(oldest, p.view().lastSyncAt);
    return { healthy: unhealthy.length === 0, unhealthy, oldestSyncAt: Number.isFinite(oldest) ? oldest : 0 };
  }

  /** The engine's clock (for the endpoints that report times). */
  get clock(): Clock {
    return this.deps.clock;
  }

  /** Number of watches open (for figures). */
  get watchCount(): number {
    return this.watchers.size;
  }

  /** Stops every loop and watch; with `deleteNodes`, deletes this process's Nodes and Leases. */
  async stop(opts: { deleteNodes: boolean }): Promise<void> {
    await this.csiController?.stop();
    this.queue.stop();
    this.beats.stop();
    for (const w of [...this.watchers]) w.stop();
    for (const n of this.nodes) n.stop();
    this.sharedProxy?.stop();
    for (const f of this.nodeLogFiles) {
      try {
        f.flushSync();
        f.end();
      } catch {
        // a file that is not open yet
      }
    }
    if (opts.deleteNodes) {
      // The process's own identity (its --kubeconfig) deletes, not each node's: under --identity
      // node a kubelet may not delete its own Node (NodeRestriction), and no kubelet does on exit.
      let failed = 0;
      let first: string | undefined;
      await forEachLimit(this.nodes, 32, (n) =>
        n.deleteObjects(this.deps.client).catch((err: unknown) => {
          failed++;
          first ??= `${n.id.name}: ${describeError(err)}`;
        }),
      );
      if (failed > 0)
        this.deps.log.warn(
          { failed, nodes: this.nodes.length, first },
          `could not delete some nodes: their Nodes and Leases stay; delete them as an identity that may (kubectl delete nodes -l ${FLEET_LABEL}=${this.cfg.fleet}; each Lease is owned by its Node and follows it)`,
        );
    }
  }
}
