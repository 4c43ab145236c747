import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The engine's Prometheus metrics: nodes registered and Ready, lease renewal latency and
 * lateness, pod transitions and bound-to-Running latency, API requests by verb, resource and code.
 */
export class EngineMetrics {
  readonly registry = new Registry();
  private readonly registered: Gauge;
  private readySource: () => number = () => 0;
  private proxySource: () => {
    services: number;
    endpoints: number;
    oldestSyncAt: number;
    unhealthy: number;
  } = () => ({
    services: 0,
    endpoints: 0,
    oldestSyncAt: 0,
    unhealthy: 0,
  });
  private readonly proxySyncDuration: Histogram;
  private readonly leaseLatency: Histogram;
  private readonly leaseLateness: Histogram;
  private readonly leaseRecreations: Counter;
  private readonly statusCorrections: Counter;
  private readonly transitions: Counter;
  private readonly startLatency: Histogram;
  private readonly requests: Counter;
  private readonly requestLatency: Histogram;
  private readonly watchOpens: Counter;
  private readonly watchErrors: Counter;
  /** Running totals, also readable without Prometheus (benchmarks, tests). */
  readonly totals = {
    leaseRenewals: 0,
    lateRenewals: 0,
    maxLatenessMs: 0,
    podsStarted: 0,
    requests: 0,
    errors: 0,
  };

  constructor(opts: { processMetrics: boolean }) {
    const r = this.registry;
    if (opts.processMetrics) collectDefaultMetrics({ register: r });
    this.registered = new Gauge({
      name: "hollow_nodes_registered",
      help: "Simulated nodes registered",
      registers: [r],
    });
    const ready = (): number => this.readySource();
    new Gauge({
      name: "hollow_nodes_ready",
      help: "Simulated nodes whose Lease was renewed within its duration (what keeps them Ready)",
      registers: [r],
      collect() {
        this.set(ready());
      },
    });
    // kube-proxy's own sync metrics, for the fleet: the last-sync gauge is the oldest node's.
    this.proxySyncDuration = new Histogram({
      name: "kubeproxy_sync_proxy_rules_duration_seconds",
      help: "Hollow proxiers' rule sync duration (no-op proxier)",
      buckets: [0.0001, 0.001, 0.01, 0.1, 1],
      registers: [r],
    });
    const proxy = () => this.proxySource();
    new Gauge({
      name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
      help: "The oldest last sync of any hollow proxier (seconds since the epoch)",
      registers: [r],
      collect() {
        this.set(proxy().oldestSyncAt / 1000);
      },
    });
    new Gauge({
      name: "hollow_proxy_services",
      help: "Services programmed by the hollow proxiers, summed over nodes",
      registers: [r],
      collect() {
        this.set(proxy().services);
      },
    });
    new Gauge({
      name: "hollow_proxy_endpoints",
      help: "Ready endpoints programmed by the hollow proxiers, summed over nodes",
      registers: [r],
      collect() {
        this.set(proxy().endpoints);
      },
    });
    new Gauge({
      name: "hollow_proxy_unhealthy",
      help: "Hollow proxiers whose syncs stopped (kube-proxy's healthz rule)",
      registers: [r],
      collect() {
        this.set(proxy().unhealthy);
      },
    });
    this.leaseLatency = new Histogram({
      name: "hollow_lease_renew_seconds",
      help: "Lease renewal request latency (the API server's answer time, retries included)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    });
    this.leaseLateness = new Histogram({
      name: "hollow_lease_renew_lateness_seconds",
      help: "How late a renewal started after its due time: one jittered renew interval after the previous renewal finished (the kubelet's sliding period)",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20],
      registers: [r],
    });
    this.leaseRecreations = new Counter({
      name: "hollow_lease_recreations_total",
      help: "Leases recreated after deletion",
      registers: [r],
    });
    this.statusCorrections = new Counter({
      name: "hollow_node_status_corrections_total",
      help: "Node status reports sent because the Node on the server differed from what the node reports (e.g. a controller's Ready=Unknown)",
      registers: [r],
    });
    this.transitions = new Counter({
      name: "hollow_pod_transitions_total",
      help: "Pod status transitions written",
      labelNames: ["stage"],
      registers: [r],
    });
    this.startLatency = new Histogram({
      name: "hollow_pod_bound_to_running_seconds",
      help: "From the engine seeing a bound pod to it being reported Running",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [r],
    });
    this.requests = new Counter({
      name: "hollow_api_requests_total",
      help: "API requests by verb, resource and HTTP code",
      labelNames: ["verb", "resource", "code"],
      registers: [r],
    });
    this.requestLatency = new Histogram({
      name: "hollow_api_request_seconds",
      help: "API request latency by verb",
      labelNames: ["verb"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [r],
    });
    this.watchOpens = new Counter({
      name: "hollow_watch_opens_total",
      help: "Watches opened or re-opened",
      registers: [r],
    });
    this.watchErrors = new Counter({
      name: "hollow_watch_errors_total",
      help: "Watch failures (retried)",
      registers: [r],
    });
  }

  /** Where the Ready count comes from (the engine counts fresh leases when scraped). */
  setReadySource(fn: () => number): void {
    this.readySource = fn;
  }

  /** Where the proxy gauges come from (computed when scraped). */
  setProxySource(
    fn: () => { services: number; endpoints: number; oldestSyncAt: number; unhealthy: number },
  ): void {
    this.proxySource = fn;
  }

  /** One hollow proxier sync. */
  proxySynced(durationMs: number, _at: number): void {
    this.proxySyncDuration.observe(durationMs / 1000);
  }

  nodeRegistered(delta: number): void {
    this.registered.inc(delta);
  }

  leaseRenewed(latencyMs: number, latenessMs: number): void {
    this.leaseLatency.observe(latencyMs / 1000);
    this.leaseLateness.observe(latenessMs / 1000);
    this.totals.leaseRenewals++;
    if (latenessMs > 1000) this.totals.lateRenewals++;
    if (latenessMs > this.totals.maxLatenessMs) this.totals.maxLatenessMs = latenessMs;
  }

  leaseRecreated(): void {
    this.leaseRecreations.inc();
  }

  /** A status report sent because the Node on the server differed from what the node reports. */
  statusCorrected(): void {
    this.statusCorrections.inc();
  }

  podTransition(stage: string): void {
    this.transitions.inc({ stage });
  }

  podStarted(latencyMs: number): void {
    this.startLatency.observe(latencyMs / 1000);
    this.totals.podsStarted++;
  }

  /** Records one API response. */
  apiResponse(method: string, path: string, status: number, ms: number): void {
    const verb = method.toLowerCase();
    this.requests.inc({ verb, resource: resourceOf(path), code: String(status) });
    this.requestLatency.observe({ verb }, ms / 1000);
    this.totals.requests++;
    if (status >= 400 || status === 0) this.totals.errors++;
  }

  watchOpened(): void {
    this.watchOpens.inc();
  }

  watchFailed(): void {
    this.watchErrors.inc();
  }
}

/** The resource (and subresource) a request path names: `/api/v1/namespaces/x/pods/y/status` gives `pods/status`. */
export function resourceOf(path: string): string {
  const parts = path.split("?")[0]!.split("/").filter(Boolean);
  // /api/v1/... or /apis/group/version/...
  let i = parts[0] === "api" ? 2 : 3;
  if (parts[i] === "namespaces" && parts.length > i + 2) i += 2;
  const resource = parts[i] ?? "";
  const sub = parts[i + 2];
  return sub ? `${resource}/${sub}` : resource;
}
