/*
 * The kubelet endpoint of a hollow-node process: one HTTPS listener for all of its nodes, as a
 * kubelet's port 10250. Every node advertises it (its InternalDNS address and daemonEndpoints port),
 * so the API server's `pods/log` reaches it. The API server dials address:port and names no node,
 * so `/pods` lists every pod the process runs, and logs are found by namespace and pod name.
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Clock } from "../kernel/clock.ts";
import { KubemarkError, describeError } from "../kernel/errors.ts";
import {
  containerLog,
  formatLines,
  parseLogQuery,
  selectLines,
  type HostedPod,
  type LogLine,
  type LogQuery,
} from "./container-log.ts";
import { rfc3339 } from "./node-object.ts";
import { GONE_STAGE } from "./pod-stage.ts";
import { selfSignedCertificate, type ServingCertificate } from "./serving-cert.ts";

/** Where the endpoint finds pods (the engine, across its nodes). */
export interface PodDirectory {
  /** Pod `namespace/name` if this process runs it. */
  podInfo(namespace: string, name: string): HostedPod | undefined;
  /** Every pod this process runs, as Pod objects with the status their nodes report. */
  listPods(): readonly object[];
}

/** What the endpoint runs on. */
export interface KubeletServerDeps {
  readonly pods: PodDirectory;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Where and how the endpoint listens. */
export interface KubeletServerOptions {
  /** IP address to listen on (also the certificate's IP SAN). */
  readonly address: string;
  /** Port; 0 picks a free one (see {@link KubeletServer.port}). */
  readonly port: number;
  /** How often a followed log checks for new lines and for its pod being gone (default 1 s). */
  readonly followCheckMs?: number;
  /** Certificate to serve (default: a fresh self-signed one, CN hollow-kubelet). */
  readonly tls?: ServingCertificate;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/**
 * The shared kubelet HTTPS endpoint: `GET /healthz`, `GET /pods` and
 * `GET /containerLogs/{namespace}/{pod}/{container}`. Any client is accepted (the API server
 * presents a client certificate; a real kubelet would authorize it, a hollow one does not check).
 */
export class KubeletServer {
  private readonly deps: KubeletServerDeps;
  private readonly opts: KubeletServerOptions;
  private server: Server | undefined;
  /** Ends each open follow (on stop). */
  private readonly follows = new Set<() => void>();

  constructor(deps: KubeletServerDeps, opts: KubeletServerOptions) {
    this.deps = deps;
    this.opts = opts;
  }

  /** Port the endpoint listens on (after {@link start}). */
  get port(): number {
    const a = this.server?.address();
    return typeof a === "object" && a ? a.port : 0;
  }

  /** Makes the certificate and starts listening; throws PORT_IN_USE or BAD_INPUT when it cannot bind. */
  async start(): Promise<void> {
    const { address, port } = this.opts;
    const tls = this.opts.tls ?? (await selfSignedCertificate("hollow-kubelet", address));
    const server = createServer({ cert: tls.cert, key: tls.key, requestCert: false }, (req, res) =>
      this.handle(req, res),
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EADDRINUSE") {
          reject(
            new KubemarkError("PORT_IN_USE", `--kubelet-port ${port} on ${address} is in use (EADDRINUSE)`, {
              hint: "pick another --kubelet-port, or stop what listens there (another hollow-node?)",
              cause: err,
            }),
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
      server.listen(port, address, () => resolve());
    });
    server.on("error", (err) => this.deps.log.warn({ err: describeError(err) }, "kubelet endpoint error"));
    this.server = server;
    const host = address.includes(":") ? `[${address}]` : address;
    this.deps.log.info({ address, port: this.port }, "kubelet endpoint on https://%s:%d", host, this.port);
  }

  /** Ends open follows and stops listening. */
  async stop(): Promise<void> {
    for (const end of [...this.follows]) end();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      const url = new URL(req.url ?? "/", "https://kubelet.invalid");
      const path = url.pathname;
      const logs = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(path);
      const known = path === "/healthz" || path === "/pods" || path === "/pods/" || logs !== null;
      if (!known) {
        res.writeHead(404, TEXT).end("404 page not found\n");
        return;
      }
      if (req.method !== "GET") {
        res.writeHead(405, { ...TEXT, allow: "GET" }).end(`${req.method ?? ""} is not allowed on ${path}\n`);
        return;
      }
      if (path === "/healthz") {
        res.writeHead(200, TEXT).end("ok");
      } else if (logs) {
        const [ns, pod, container] = logs.slice(1).map((s) => decodeURIComponent(s)) as [
          string,
          string,
          string,
        ];
        this.serveLogs(res, ns, pod, container, url.searchParams);
      } else {
        const body = { kind: "PodList", apiVersion: "v1", metadata: {}, items: this.deps.pods.listPods() };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      }
    } catch (err) {
      this.deps.log.warn({ url: req.url, err: describeError(err) }, "kubelet endpoint request failed");
      if (!res.headersSent) res.writeHead(500, TEXT);
      res.end(`internal error: ${describeError(err)}\n`);
    }
  }

  /** `GET /containerLogs/{namespace}/{pod}/{container}` as the kubelet answers it. */
  private serveLogs(
    res: ServerResponse,
    ns: string,
    name: string,
    container: string,
    params: URLSearchParams,
  ): void {
    const q = parseLogQuery(params, this.deps.clock.now());
    if ("error" in q) {
      res.writeHead(400, TEXT).end(`${q.error}\n`);
      return;
    }
    const pod = this.deps.pods.podInfo(ns, name);
    if (!pod) {
      res.writeHead(404, TEXT).end(`pod "${ns}/${name}" does not exist on this hollow-node process\n`);
      return;
    }
    const log = containerLog(pod, container);
    if (log.kind !== "lines") {
      res.writeHead(log.kind === "not-found" ? 404 : 400, TEXT).end(`${log.message}\n`);
      return;
    }
    if (q.previous) {
      res
        .writeHead(400, TEXT)
        .end(`previous terminated container "${container}" in pod "${name}" not found\n`);
      return;
    }
    res.writeHead(200, TEXT);
    const out = new LimitedWriter(res, q.limitBytes);
    out.write(formatLines(selectLines(log.lines, q), q.timestamps));
    if (!q.follow || log.exited || out.full) {
      res.end();
      return;
    }
    res.flushHeaders();
    this.follow(res, out, pod, container, log.lines.length, q);
  }

  /**
   * Keeps a followed log open: every check writes the lines written since (e.g. the container's
   * exit) and ends the response when the container has exited, the pod is gone (or replaced by
   * one of the same name: its containers stopped, which the last line says), the byte limit is
   * reached, the client leaves or the endpoint stops.
   */
  private follow(
    res: ServerResponse,
    out: LimitedWriter,
    pod: HostedPod,
    container: string,
    written: number,
    q: LogQuery,
  ): void {
    const every = this.opts.followCheckMs ?? 1_000;
    let cancel: (() => void) | undefined;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      cancel?.();
      this.follows.delete(end);
      if (!res.writableEnded) res.end();
    };
    this.follows.add(end);
    // "close" comes when the response ends or the client goes away.
    res.once("close", end);
    let last = pod;
    const check = (): void => {
      if (ended) return;
      const found = this.deps.pods.podInfo(pod.namespace, pod.name);
      // A pod gone (or replaced by one of the same name) has stopped its containers: say so, then end.
      const gone = !found || found.uid !== pod.uid;
      last = gone ? { ...last, stage: GONE_STAGE, finishedAt: rfc3339(this.deps.clock.now()) } : found;
      const log = containerLog(last, container);
      if (log.kind !== "lines") {
        end();
        return;
      }
      const fresh: LogLine[] = log.lines.slice(written);
      written = log.lines.length;
      out.write(formatLines(fresh, q.timestamps));
      if (gone || log.exited || out.full) end();
      else cancel = this.deps.clock.setTimer(every, check);
    };
    cancel = this.deps.clock.setTimer(every, check);
  }
}

/** Writes to a response up to `limitBytes` (the kubelet's limitBytes), cutting the last chunk. */
class LimitedWriter {
  private left: number;
  private readonly res: ServerResponse;

  constructor(res: ServerResponse, limitBytes: number | undefined) {
    this.res = res;
    this.left = limitBytes ?? Infinity;
  }

  get full(): boolean {
    return this.left <= 0;
  }

  write(text: string): void {
    if (text === "" || this.full) return;
    const buf = Buffer.from(text, "utf8");
    const chunk = buf.length > this.left ? buf.subarray(0, this.left) : buf;
    this.left -= chunk.length;
    this.res.write(chunk);
  }
}
