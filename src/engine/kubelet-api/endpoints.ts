/*
 * The kubelet endpoints of a hollow-node process: one port per node on the process's kubelet
 * address (node i of the process on base port + i), each answering for its node alone, every
 * request authenticated and authorized as a kubelet does (kubelet-auth.ts).
 *
 * Why a port per node and not an address per node: in a cluster an engine pod has one IP, so
 * per-node loopback addresses (127.x.y.z) would only work on a local machine; a port per node works
 * in both, the API server dials each node's `daemonEndpoints.kubeletEndpoint.Port`, and the real
 * metrics-server follows it with `--kubelet-use-node-status-port`. The cost per node is one
 * listening socket: one TLS server is shared, and each port's plain `net` listener hands its
 * connections to it; the port a connection came in on names the node.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { Clock } from "../../kernel/clock.ts";
import { KubemarkError, describeError } from "../../kernel/errors.ts";
import { selfSignedCertificate, type ServingCertificate } from "../serving-cert.ts";
import type { FollowSet } from "./container-logs.ts";
import type { KubeletAuth } from "./kubelet-auth.ts";
import type { NodeApiView } from "./node-view.ts";
import { authorizationErrorMessage, forbiddenMessage, requestAttributes } from "./request-attributes.ts";
import { HandshakeGate } from "./handshake-gate.ts";
import { BASE_ROUTES, TEXT, findRoute, type KubeletRoute } from "./routes.ts";

/** What the endpoints run on. */
export interface KubeletEndpointsDeps {
  /** The node served on port base + `index` (undefined while it is not created yet). */
  node(index: number): NodeApiView | undefined;
  /** Authenticates and authorizes every request. */
  readonly auth: KubeletAuth;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Where and how the endpoints listen. */
export interface KubeletEndpointsOptions {
  /** IP address to listen on (also the certificate's IP SAN). */
  readonly address: string;
  /** Port of the process's first node (`--kubelet-port`); node i listens on `basePort + i`. */
  readonly basePort: number;
  /** Number of nodes (ports). */
  readonly count: number;
  /** PEM bundle of the cluster's client CA: client certificates it signed authenticate (none: tokens only). */
  readonly clientCa?: string | undefined;
  /** How often a followed log checks for new lines and for its pod being gone (default 1 s). */
  readonly followCheckMs?: number;
  /** Certificate to serve (default: a fresh self-signed one, CN hollow-kubelet). */
  readonly tls?: ServingCertificate;
  /** The route table (default {@link BASE_ROUTES}; the stats endpoints add theirs). */
  readonly routes?: readonly KubeletRoute[];
  /** New connections' TLS handshakes at a time (default {@link HANDSHAKES_AT_A_TIME}). */
  readonly handshakes?: number;
}

/** TLS handshakes of new connections run at a time; the others wait their turn. */
export const HANDSHAKES_AT_A_TIME = 32;
/** Go's and client-go's TLS handshake timeout: a connection that waited this long is given up by its client. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** The plain socket a TLS server socket was made on (Node's TLSSocket keeps it as `_parent`). */
function rawSocketOf(s: TLSSocket): Socket | undefined {
  return (s as TLSSocket & { _parent?: Socket | null })._parent ?? undefined;
}

/**
 * A request target that is a path and nothing else (letters, digits, `/`, `_`, `-`: no query, no
 * percent-encoding, no dot segments, not `//`), which the URL parser would give back unchanged.
 */
const PLAIN_PATH = /^\/(?:[A-Za-z0-9_-][A-Za-z0-9_/-]*)?$/;

/** The kubelet's idle timeout on its connections (`IdleTimeout: 90 * time.Second`). */
const IDLE_TIMEOUT_MS = 90_000;

/** The per-node kubelet HTTPS endpoints of a process. */
export class KubeletEndpoints {
  private readonly deps: KubeletEndpointsDeps;
  private readonly opts: KubeletEndpointsOptions;
  private readonly routes: readonly KubeletRoute[];
  private tls: Server | undefined;
  private gate: HandshakeGate<Socket> | undefined;
  private readonly listeners: NetServer[] = [];
  /** Accepted connections: a listener's close waits for them, and the TLS server cannot end them. */
  private readonly sockets = new Set<Socket>();
  private readonly follows: FollowSet;

  constructor(deps: KubeletEndpointsDeps, opts: KubeletEndpointsOptions) {
    this.deps = deps;
    this.opts = opts;
    this.routes = opts.routes ?? BASE_ROUTES;
    this.follows = { clock: deps.clock, checkMs: opts.followCheckMs ?? 1_000, open: new Set() };
  }

  /** New connections' TLS handshakes running and waiting their turn. */
  get handshakes(): { running: number; queued: number } {
    return { running: this.gate?.running ?? 0, queued: this.gate?.queued ?? 0 };
  }

  /** Port of node `index`. */
  port(index: number): number {
    return this.opts.basePort + index;
  }

  /**
   * Makes the certificate and listens on every node's port; throws PORT_IN_USE (naming the port
   * and the node) or BAD_INPUT when one cannot be bound, after closing those already bound.
   */
  async start(): Promise<void> {
    const { address, basePort, count, clientCa } = this.opts;
    const cert = this.opts.tls ?? selfSignedCertificate("hollow-kubelet", address, this.deps.clock.now());
    const tls = createServer(
      {
        cert: cert.cert,
        key: cert.key,
        // Client certificates are asked for and checked against the client CA, never required:
        // a caller without one may still present a bearer token.
        ...(clientCa ? { requestCert: true, rejectUnauthorized: false, ca: clientCa } : {}),
        keepAliveTimeout: IDLE_TIMEOUT_MS,
      },
      (req, res) => void this.handle(req, res),
    );
    // New connections' handshakes go through the gate (handshake-gate.ts), a few at a time.
    const gate = new HandshakeGate<Socket>({
      limit: this.opts.handshakes ?? HANDSHAKES_AT_A_TIME,
      maxWaitMs: HANDSHAKE_TIMEOUT_MS,
      clock: this.deps.clock,
      start: (socket) => void tls.emit("connection", socket),
      drop: (socket) => socket.destroy(),
    });
    this.gate = gate;
    const over = (s: TLSSocket): void => {
      const raw = rawSocketOf(s);
      if (raw) gate.finished(raw);
    };
    tls.on("tlsClientError", (err, s: TLSSocket) => {
      over(s);
      this.deps.log.debug({ err: describeError(err) }, "kubelet TLS error");
    });
    tls.on("secureConnection", (s: TLSSocket) => {
      over(s);
      // As Go's TLS server: no renegotiation, so a connection's client certificate stays what it was.
      s.disableRenegotiation();
    });
    this.tls = tls;
    const accept = (socket: Socket): void => {
      this.sockets.add(socket);
      socket.once("close", () => {
        this.sockets.delete(socket);
        gate.finished(socket);
      });
      gate.offer(socket);
    };
    try {
      for (let i = 0; i < count; i++) this.listeners.push(await this.listen(basePort + i, i, accept));
    } catch (err) {
      await this.stop();
      throw err;
    }
    const host = address.includes(":") ? `[${address}]` : address;
    this.deps.log.info(
      {
        address,
        ports: count === 1 ? basePort : `${basePort}-${basePort + count - 1}`,
        clientCa: !!clientCa,
      },
      "kubelet endpoints on https://%s:%d and on, one port per node",
      host,
      basePort,
    );
  }

  private listen(port: number, index: number, accept: (s: Socket) => void): Promise<NetServer> {
    const { address, basePort } = this.opts;
    // Paused: a connection waiting for the gate is not read until its handshake starts.
    const srv = createNetServer({ pauseOnConnect: true }, accept);
    return new Promise<NetServer>((resolve, reject) => {
      srv.once("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EADDRINUSE") {
          reject(
            new KubemarkError(
              "PORT_IN_USE",
              `port ${port} on ${address} (node ${index} of this process, --kubelet-port ${basePort} + ${index}) is in use (EADDRINUSE)`,
              {
                hint: "give --kubelet-port a base whose next ports (one per node) are free, or stop what listens there",
                cause: err,
              },
            ),
          );
        } else if (err.code === "EADDRNOTAVAIL") {
          reject(
            new KubemarkError("BAD_INPUT", `--kubelet-address ${address} is not an address of this machine`, {
              hint: "give an address of one of its interfaces, e.g. 127.0.0.1",
              cause: err,
            }),
          );
        } else {
          reject(
            new KubemarkError("START_FAILED", `cannot listen on ${address}:${port}: ${describeError(err)}`),
          );
        }
      });
      srv.listen({ port, host: address, exclusive: true }, () => {
        srv.removeAllListeners("error");
        srv.on("error", (e) => this.deps.log.warn({ port, err: describeError(e) }, "kubelet endpoint error"));
        resolve(srv);
      });
    });
  }

  /** Ends open follows and stops listening. */
  async stop(): Promise<void> {
    for (const end of [...this.follows.open]) end();
    const listeners = this.listeners.splice(0);
    const closed = Promise.all(listeners.map((l) => new Promise<void>((r) => l.close(() => r()))));
    // A listener's close waits until its connections end, and a scraper's keep-alive connection
    // (metrics-server's) never does; the TLS server's closeAllConnections does not end the plain
    // sockets it was handed, so they are destroyed here, before the wait.
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const tls = this.tls;
    this.tls = undefined;
    tls?.closeAllConnections();
    await closed;
  }

  /** Authenticates, finds the node and the route, authorizes, then answers. */
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const target = req.url ?? "/";
      // A plain path (a scrape's `/metrics/resource`) is its own pathname; anything else is
      // parsed (query, percent-encoding, dot segments). The URL is made only for a route that reads it.
      let parsed: URL | undefined;
      const parse = (): URL => (parsed ??= new URL(target, "https://kubelet.invalid"));
      const pathname = PLAIN_PATH.test(target) ? target : parse().pathname;
      const index = (req.socket.localPort ?? 0) - this.opts.basePort;
      const node = index >= 0 && index < this.opts.count ? this.deps.node(index) : undefined;
      if (!node) {
        res.writeHead(503, TEXT).end("this node's kubelet is not running yet\n");
        return;
      }
      const user = await this.deps.auth.authenticate(req);
      if (!user) {
        res.writeHead(401, TEXT).end("Unauthorized");
        return;
      }
      const method = req.method ?? "GET";
      const attrs = requestAttributes(method, pathname, node.name);
      const decision = await this.deps.auth.authorize(user, attrs);
      if (decision.kind === "error") {
        res.writeHead(500, TEXT).end(authorizationErrorMessage(user, attrs, decision.subresource));
        return;
      }
      if (decision.kind === "denied") {
        this.deps.log.debug(
          { node: node.name, user: user.name, path: pathname },
          "kubelet endpoint: forbidden",
        );
        res.writeHead(403, TEXT).end(forbiddenMessage(user, attrs));
        return;
      }
      const found = findRoute(this.routes, pathname);
      if (!found) {
        res.writeHead(404, TEXT).end("404 page not found\n");
        return;
      }
      if (!found.route.methods.includes(method)) {
        res
          .writeHead(405, { ...TEXT, allow: found.route.methods.join(", ") })
          .end(`${method} is not allowed on ${pathname}\n`);
        return;
      }
      found.route.handle({
        req,
        res,
        get url() {
          return parse();
        },
        node,
        params: found.params,
        nowMs: this.deps.clock.now(),
        follows: this.follows,
      });
    } catch (err) {
      this.deps.log.warn({ url: req.url, err: describeError(err) }, "kubelet endpoint request failed");
      if (!res.headersSent) res.writeHead(500, TEXT);
      res.end(`internal error: ${describeError(err)}\n`);
    }
  }
}
