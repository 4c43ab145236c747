/**
 * `hollow-node`: runs many kubelet-faithful simulated nodes in one process against the API server
 * named by a kubeconfig.
 */
import { createServer, type Server } from "node:http";
import { Command, CommanderError, Option } from "commander";
import { pino, type Logger } from "pino";
import { realClock } from "../../kernel/clock.ts";
import { KubeClient, type KubeRequest } from "../../client/kube-client.ts";
import { loadClusterAccess, serviceAccountAccess, tlsContextOf } from "../../client/kubeconfig.ts";
import { KubemarkError, describeError } from "../../kernel/errors.ts";
import { Engine } from "../../engine/engine.ts";
import { configFromFlags, type HollowNodeFlags } from "./flags.ts";
import { KubeletEndpoints } from "../../engine/kubelet-api/endpoints.ts";
import { KubeletAuth } from "../../engine/kubelet-api/kubelet-auth.ts";
import { loadClientCa } from "../../engine/kubelet-api/client-ca.ts";
import { kubeletRoutes } from "../../engine/kubelet-api/stats-routes.ts";
import { usageByNode } from "../../engine/shape-models.ts";
import type { UsageDefaults } from "../../engine/usage/usage-defaults.ts";
import { EngineMetrics } from "../../engine/metrics.ts";
import { checkAccess, kubeletApiAccess } from "../../engine/preflight.ts";
import { NodeIdentities } from "../../engine/identity/node-identities.ts";
import { serveProxyHealth } from "../../engine/proxy-healthz.ts";
import { connectionMode, type IdentityKind } from "./connections.ts";
import { NodeClients } from "./node-clients.ts";
import { parseInteger } from "../parse.ts";

function program(): Command {
  return new Command()
    .name("hollow-node")
    .description("Simulate many kubelet-faithful nodes in one process (registration, Lease, status, pods).")
    .option(
      "--kubeconfig <path>",
      "kubeconfig of the cluster the nodes register into (default $KUBECONFIG, ~/.kube/config)",
    )
    .option("--context <name>", "kubeconfig context")
    .option(
      "--credentials-dir <dir>",
      "in a pod: the ServiceAccount token and ca.crt in DIR and the API server at $KUBERNETES_SERVICE_HOST",
    )
    .option("--nodes <n>", "number of nodes", "10")
    .option("--name-prefix <prefix>", "node names are <prefix>-<index>", "hollow-node")
    .option("--first-index <i>", "index of the first node (several processes share one fleet)", "0")
    .option(
      "--shard <n|pod-name>",
      "run shard n of a fleet of --total-nodes, --nodes per shard (a StatefulSet pod name gives n)",
    )
    .option("--total-nodes <n>", "with --shard: nodes in the whole fleet; the last shard runs the rest")
    .option("--names <list>", "explicit comma-separated node names instead of prefix and count")
    .option("--fleet <name>", "fleet name, labelled on every node as kubemark-cluster.io/fleet", "default")
    .option("--node-labels <k=v,...>", "labels for every node", "hollow-node=true")
    .option("--cpu <qty>", "CPU capacity", "1")
    .option("--memory <qty>", "memory capacity", "4026531840")
    .option("--max-pods <n>", "pod capacity", "110")
    .option("--ephemeral-storage <qty>", "ephemeral-storage capacity", "0")
    .option("--extended-resources <name=qty,...>", "extra resources, e.g. nvidia.com/gpu=8")
    .option("--register-with-taints <k=v:Effect,...>", "taints to register with")
    .option(
      "--profile <file>",
      "YAML fleet profile mixing node shapes by weight, each with its usage and pod models (usage:, pods:)",
    )
    .option(
      "--kubelet-version <v>",
      "reported kubelet version (default $KUBEMARK_VERSION, else the API server's)",
    )
    .addOption(
      new Option(
        "--traffic <profile>",
        "kubelet: a kubelet's own watches and requests; minimal: shared watches",
      ).default("kubelet"),
    )
    .option("--no-proxy", "do not simulate kube-proxy (its watches, startup Event and no-op proxier)")
    .option(
      "--no-events",
      "post none of the kubelet's Events (as upstream kubemark, whose recorder is a fake)",
    )
    .option(
      "--proxy-healthz-port <port>",
      "port of the hollow proxies' kube-proxy-like /healthz on 127.0.0.1 (0 = none)",
      "0",
    )
    .option("--lease-duration <seconds>", "Lease duration; renewed every quarter of it", "40")
    .option("--node-status-update-frequency <d>", "how often status is recomputed", "10s")
    .option("--node-status-report-frequency <d>", "how often an unchanged status is reported", "5m")
    .option(
      "--job-run-seconds <d>",
      "how long a Job's pods run when their image and command do not tell (pause: never; sleep N: N s)",
      "5s",
    )
    .option(
      "--pod-sandbox-latency <d>",
      "time from a pod being seen to its sandbox being ready, e.g. 300ms or 250ms-350ms drawn uniformly; containers start 10ms later (0 = at once; default 290ms-340ms, as upstream kubemark)",
    )
    .option(
      "--usage-defaults <k=v,...>",
      "every node's usage model, e.g. cpu=20%,memory=60%,system-cpu=200m (default cpu=10%,memory=50%,noise=10%; a profile's usage: wins)",
    )
    .option("--node-ip-pool <cidr>", "pool of node InternalIPs, one per node", "100.64.0.0/10")
    .option(
      "--node-ip <ip>",
      "every node's InternalIP, as the kubelet's flag (in a cluster: the pod's IP, where the kubelet endpoints are); default one per node from --node-ip-pool",
    )
    .option("--pod-ip-pool <cidr>", "pod IPs for nodes without spec.podCIDR (a /24 each)", "172.16.0.0/12")
    .option(
      "--max-in-flight <n>",
      "requests in flight at once for the whole process (heartbeats aside: one per node)",
      "200",
    )
    .option(
      "--kube-api-content-type <type>",
      "encoding of the kubelet's and kube-proxy's requests and watches (Leases, Nodes, CSINodes, Events, Pods, TokenRequests, watches), as the kubelet's flag (application/json for JSON)",
      "application/vnd.kubernetes.protobuf",
    )
    .option("--kube-api-qps <n>", "per-node client rate limit, as a kubelet's (0 = none)", "10")
    .option("--kube-api-burst <n>", "per-node client burst", "20")
    .option("--delete-nodes-on-exit", "delete this process's Nodes and Leases on SIGTERM/SIGINT")
    .option(
      "--kubelet-port <port>",
      "base port of the nodes' authenticated kubelet HTTPS endpoints, node i on port+i: /pods, container logs, stats, metrics (0 = none)",
      "0",
    )
    .option(
      "--kubelet-address <ip>",
      "address of the kubelet endpoints; every node reports it as its InternalDNS address unless it is the --node-ip",
      "127.0.0.1",
    )
    .option(
      "--client-ca-file <path>",
      "CA of the client certificates the kubelet endpoints accept (default: the API server's, from ConfigMap kube-system/extension-apiserver-authentication)",
    )
    .option("--metrics-port <port>", "port of the Prometheus /metrics endpoint on 127.0.0.1 (0 = none)", "0")
    .option(
      "--csi-driver <name>",
      'the hollow CSI driver the nodes run (CSINode, attach and mount before start) and its elected controller serves; "" = none',
      "",
    )
    .option(
      "--no-csi-attach-required",
      "the driver's CSIDriver says attachRequired: false (no VolumeAttachments)",
    )
    .option("--csi-max-volumes <n>", "the driver's volumes per node (CSINode allocatable.count)", "128")
    .option("--no-csi-controller", "this process does not stand for election as the driver's controller")
    .option(
      "--csi-lease-namespace <ns>",
      "namespace of the driver controller's leader-election Lease",
      "kube-system",
    )
    .addOption(
      new Option(
        "--identity <kind>",
        "shared: every node uses the --kubeconfig identity; node: each node its own certificate (system:node:<name>) from a CSR, as the kubelet's TLS bootstrap, over its own connections",
      )
        .choices(["shared", "node"])
        .default("shared"),
    )
    .option(
      "--bootstrap-kubeconfig <path>",
      "with --identity node: the credential that creates the nodes' CSRs (a bootstrap token or a ServiceAccount allowed to); default the --kubeconfig identity",
    )
    .option(
      "--bootstrap-credentials-dir <dir>",
      "with --identity node: the bootstrap credential as files token, ca.crt and server (a mounted Secret), instead of --bootstrap-kubeconfig",
    )
    .option(
      "--cert-dir <dir>",
      "with --identity node: keep each node's certificate and key in DIR (0600) and re-use them after a restart; default memory only",
    )
    .option(
      "--connections <mode>",
      "per-node: each node's kubelet and proxy over connections of their own, as a real fleet; pooled: the process's shared pools (only with --identity shared). Default per-node with --identity node, pooled with --identity shared",
    )
    .addOption(
      new Option(
        "--watch-transport <kind>",
        "lean: a small HTTP/2 client for watches and requests (with --connections per-node, each node's on one connection; pooled, requests on connections apart from the watches'); undici: the general client",
      )
        .choices(["lean", "undici"])
        .default("lean"),
    )
    .option("--log-level <level>", "fatal, error, warn, info, debug", "info")
    .option("--log-dir <dir>", "also write one log file per node, <dir>/<node>.log (as kubemark's -log-file)")
    .option("--stats-interval <seconds>", "log fleet figures this often (0 = never)", "30")
    .exitOverride()
    .showHelpAfterError("(run 'hollow-node --help' for the flags)")
    .addHelpText(
      "after",
      `
Examples:
  hollow-node --kubeconfig admin.kubeconfig --nodes 100
  KUBEMARK_VERSION=v1.31.0 hollow-node --nodes 1000 --traffic minimal
  hollow-node --names edge-a,edge-b --cpu 4 --memory 16Gi --extended-resources nvidia.com/gpu=8`,
    );
}

async function serveMetrics(metrics: EngineMetrics, port: number, log: Logger): Promise<Server> {
  const srv = createServer((req, res) => {
    if (req.url === "/metrics") {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(describeError(err));
        },
      );
    } else if (req.url === "/healthz") {
      res.end("ok");
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    srv.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new KubemarkError("PORT_IN_USE", `--metrics-port ${port} on 127.0.0.1 is in use (EADDRINUSE)`, {
              hint: "pick another --metrics-port (0 turns metrics off), or stop what listens there",
              cause: err,
            })
          : new KubemarkError("START_FAILED", `--metrics-port ${port}: ${describeError(err)}`),
      ),
    );
    srv.listen(port, "127.0.0.1", () => resolve());
  });
  srv.on("error", (err) => log.warn({ err: describeError(err) }, "metrics endpoint error"));
  log.info({ port }, "metrics on http://127.0.0.1:%d/metrics", port);
  return srv;
}

/** Runs hollow-node until SIGTERM/SIGINT; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  // A reader that went away (`| head`) must not crash the engine: drop the output instead.
  for (const s of [process.stdout, process.stderr]) s.on("error", () => undefined);
  // Signals are caught from the first moment, so a SIGTERM during start-up still stops cleanly.
  const stopping = new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  const cmd = program();
  try {
    cmd.parse([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const flags = cmd.opts<
    HollowNodeFlags & {
      logLevel: string;
      statsInterval: string;
      watchTransport: string;
      proxyHealthzPort: string;
      credentialsDir?: string;
      identity: string;
      bootstrapKubeconfig?: string;
      bootstrapCredentialsDir?: string;
      certDir?: string;
      connections?: string;
    }
  >();
  const logStream = pino.destination(2);
  const log = pino({ level: flags.logLevel, base: { component: "hollow-node" } }, logStream);
  let engine: Engine | undefined;
  let client: KubeClient | undefined;
  let metricsServer: Server | undefined;
  let kubeletServer: KubeletEndpoints | undefined;
  let proxyClient: KubeClient | undefined;
  let heartbeatClient: KubeClient | undefined;
  let bootstrapClient: KubeClient | undefined;
  let identities: NodeIdentities | undefined;
  let sharedNodeClients: NodeClients | undefined;
  let proxyNodeClients: NodeClients | undefined;
  let proxyHealthServer: Server | undefined;
  try {
    const flagCfg = await configFromFlags(flags, process.env);
    const connections = connectionMode(flags.connections, flags.identity as IdentityKind);
    const metrics = new EngineMetrics({ processMetrics: true });
    if (flags.credentialsDir && flags.kubeconfig) {
      throw new KubemarkError("BAD_INPUT", "give --kubeconfig or --credentials-dir, not both");
    }
    const access = flags.credentialsDir
      ? await serviceAccountAccess(flags.credentialsDir, process.env, realClock)
      : await loadClusterAccess({
          kubeconfig: flags.kubeconfig,
          context: flags.context,
          env: process.env,
          clock: realClock,
        });
    let cfg = flagCfg;
    // The shared clients' requests go lean too, on connections apart from their watches', which
    // carry up to the server's limit of long-lived streams each.
    const lean = flags.watchTransport !== "undici";
    client = new KubeClient(access, {
      userAgent: "hollow-kubelet",
      leanWatches: lean,
      leanRequests: lean,
      requestsApart: true,
      // On undici: ordinary requests are short; each connection multiplexes up to 100 of them.
      connections: Math.min(16, Math.max(2, Math.ceil(cfg.nodeNames.length / 500))),
      onResponse: (r) => metrics.apiResponse(r.method, r.path, r.status, r.ms),
    });
    const apiAccess = cfg.kubeletPort > 0 ? kubeletApiAccess(!cfg.clientCaFile) : [];
    const preflight = await Promise.race([
      checkAccess(client, cfg.traffic, cfg.proxy, apiAccess, flags.identity === "node"),
      stopping,
    ]);
    if (typeof preflight === "string") return 0;
    if (preflight.length > 0) {
      cfg = { ...cfg, skipped: preflight };
      log.warn(
        { skipped: preflight },
        "this identity may not make some kubelet requests (%s); they are left out",
        preflight.join(", "),
      );
    }
    if (cfg.metricsPort) metricsServer = await serveMetrics(metrics, cfg.metricsPort, log);
    if (cfg.proxy) {
      // kube-proxy is its own client: its requests carry the user agent hollow-proxy.
      proxyClient = new KubeClient(access, {
        userAgent: "hollow-proxy",
        leanWatches: lean,
        leanRequests: lean,
        requestsApart: true,
        connections: 2,
        onResponse: (r) => metrics.apiResponse(r.method, r.path, r.status, r.ms),
      });
    }
    // The kubelets' heartbeat client, connections of its own: at most one heartbeat per node is
    // in flight. Lean, a connection carries as many as the server allows streams (1,000 for
    // kube-apiserver); on undici, one per 100 nodes never makes one wait for a stream.
    heartbeatClient = new KubeClient(access, {
      userAgent: "hollow-kubelet",
      leanWatches: lean,
      leanRequests: lean,
      connections: Math.ceil(cfg.nodeNames.length / 100) + 1,
      onResponse: (r) => metrics.apiResponse(r.method, r.path, r.status, r.ms),
    });
    if (flags.identity === "node") {
      // The kubelet's TLS bootstrap, per node: a CSR made with the bootstrap credential, then a
      // client of the node's own presenting the issued certificate (identity/).
      if (flags.bootstrapKubeconfig && flags.bootstrapCredentialsDir) {
        throw new KubemarkError(
          "BAD_INPUT",
          "give --bootstrap-kubeconfig or --bootstrap-credentials-dir, not both",
        );
      }
      const boot = flags.bootstrapCredentialsDir
        ? await serviceAccountAccess(flags.bootstrapCredentialsDir, process.env, realClock)
        : flags.bootstrapKubeconfig
          ? await loadClusterAccess({
              kubeconfig: flags.bootstrapKubeconfig,
              env: process.env,
              clock: realClock,
            })
          : access;
      // The bootstrap's CSRs, their lists and watches on one lean connection, as the kubelet's
      // bootstrap clientset has its own.
      bootstrapClient = new KubeClient(boot, {
        userAgent: "hollow-kubelet",
        connections: 2,
        leanWatches: lean,
        leanRequests: lean,
      });
      identities = new NodeIdentities({
        bootstrap: bootstrapClient,
        makeClient: (cert, key) =>
          new KubeClient(
            {
              ...boot,
              cert,
              key,
              authorization: () => Promise.resolve(undefined),
              source: "node certificate",
            },
            {
              userAgent: "hollow-kubelet",
              connections: 1,
              // Requests and watches on one connection, as a kubelet's client-go transport.
              leanWatches: lean,
              leanRequests: lean,
              onResponse: (r) => metrics.apiResponse(r.method, r.path, r.status, r.ms),
            },
          ),
        clock: realClock,
        random: Math.random,
        log,
        certDir: flags.certDir,
      });
      log.info({ nodes: cfg.nodeNames.length }, "requesting the nodes' client certificates");
      if ((await Promise.race([identities.obtain(cfg.nodeNames), stopping])) !== undefined) return 0;
    }
    const nodeIdentities = identities;
    if (connections === "per-node") {
      // Each node's clients of its own (a client opens its connections on first use): the
      // kubelet's with the shared identity unless it has its own, and the hollow proxy's.
      // Requests and watches on one connection per client, as client-go's transport; the
      // clients of one identity share its TLS context (the parsed CA and key).
      const secureContext = tlsContextOf(access);
      const own = (userAgent: string) => (): KubeClient =>
        new KubeClient(access, {
          userAgent,
          connections: 1,
          leanWatches: lean,
          leanRequests: lean,
          secureContext,
          onResponse: (r) => metrics.apiResponse(r.method, r.path, r.status, r.ms),
        });
      if (!nodeIdentities) sharedNodeClients = new NodeClients(own("hollow-kubelet"));
      if (cfg.proxy) proxyNodeClients = new NodeClients(own("hollow-proxy"));
    }
    const perNode = sharedNodeClients;
    const perNodeProxy = proxyNodeClients;
    engine = new Engine(cfg, {
      client,
      nodeClient: nodeIdentities
        ? (name) => nodeIdentities.client(name)
        : perNode
          ? (name) => perNode.client(name)
          : undefined,
      nodeProxyClient: perNodeProxy ? (name) => perNodeProxy.client(name) : undefined,
      heartbeatClient,
      proxyClient,
      clock: realClock,
      log,
      logStream,
      metrics,
    });
    const proxyHealthPort = parseInteger(flags.proxyHealthzPort, "--proxy-healthz-port", 0, 65535);
    if (proxyHealthPort > 0 && cfg.proxy) {
      proxyHealthServer = await serveProxyHealth(engine, metrics, proxyHealthPort).catch((err: unknown) => {
        throw new KubemarkError(
          "PORT_IN_USE",
          `--proxy-healthz-port ${proxyHealthPort}: ${describeError(err)}`,
          {
            hint: "choose another port",
          },
        );
      });
    }
    if (cfg.kubeletPort > 0) {
      // Listening before registering: a port in use fails before any node advertises the endpoint.
      const api = client;
      const request = <T>(req: KubeRequest): Promise<T> => api.request<T>(req);
      const clientCa = await loadClientCa({ file: cfg.clientCaFile, request, log });
      const nodes = engine;
      // Each node's usage model: its fleet-profile shape's, else --usage-defaults.
      const usageOf = usageByNode(cfg);
      const usageFor = (view: { readonly name: string }): UsageDefaults => usageOf(view.name);
      kubeletServer = new KubeletEndpoints(
        {
          node: (i) => nodes.nodeApiView(i),
          // A real kubelet's webhook caches hold 8192 answers each; these serve every node of the process.
          auth: new KubeletAuth({ request, clock: realClock, log }, Math.max(8192, 4 * cfg.nodeNames.length)),
          clock: realClock,
          log,
        },
        {
          address: cfg.kubeletAddress,
          basePort: cfg.kubeletPort,
          count: cfg.nodeNames.length,
          clientCa,
          routes: kubeletRoutes(usageFor, (node, p) =>
            log.warn(
              { node, pod: `${p.namespace}/${p.pod}`, annotation: p.annotation },
              "usage annotation ignored (the pod uses the default model): %s",
              p.message,
            ),
          ),
        },
      );
      await kubeletServer.start();
    }
    const started = Date.now();
    log.info(
      { nodes: cfg.nodeNames.length, traffic: cfg.traffic, fleet: cfg.fleet, connections },
      "registering nodes",
    );
    await Promise.race([engine.start(), stopping]);
    const s = engine.stats();
    log.info({ ...s, seconds: (Date.now() - started) / 1000 }, "nodes registered");
    const every = Number(flags.statsInterval) * 1000;
    const timer =
      every > 0
        ? setInterval(() => {
            const m = process.memoryUsage();
            const mb = (x: number): number => Math.round(x / 104857.6) / 10;
            const memoryMB = {
              rss: mb(m.rss),
              heapUsed: mb(m.heapUsed),
              heapTotal: mb(m.heapTotal),
              external: mb(m.external),
            };
            log.info(
              { ...engine!.stats(), watches: engine!.watchCount, ...metrics.totals, memoryMB },
              "fleet",
            );
          }, every)
        : undefined;
    const signal = await stopping;
    if (timer) clearInterval(timer);
    log.info({ signal, deleteNodes: cfg.deleteNodesOnExit }, "stopping");
    await kubeletServer?.stop();
    await engine.stop({ deleteNodes: cfg.deleteNodesOnExit });
    return 0;
  } catch (err) {
    await engine?.stop({ deleteNodes: false }).catch(() => undefined);
    if (err instanceof KubemarkError) {
      process.stderr.write(`error: ${err.message}\n`);
      if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
      return err.exitCode;
    }
    process.stderr.write(`error: ${describeError(err)}\n`);
    return 1;
  } finally {
    metricsServer?.close();
    proxyHealthServer?.close();
    await kubeletServer?.stop();
    await proxyClient?.close();
    await heartbeatClient?.close();
    await identities?.stop();
    await sharedNodeClients?.close();
    await proxyNodeClients?.close();
    await bootstrapClient?.close();
    await client?.close();
    log.flush();
  }
}

/** Runs hollow-node as the process's program: its exit code becomes the process's. */
export async function runAsProgram(): Promise<void> {
  process.exitCode = await main(process.argv.slice(2));
  // Open sockets of aborted watches must not keep the process alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2_000).unref();
}

if (import.meta.main) await runAsProgram();
