import type { SecureContext } from "node:tls";
import { Pool } from "undici";
import type { Dispatcher } from "undici";
import { realClock, type Clock } from "../kernel/clock.ts";
import { KubeApiError, errorFromResponse } from "./api-error.ts";
import { H2Client, type H2Response } from "./h2-client.ts";
import { describeError } from "../kernel/errors.ts";
import { PROTOBUF_CONTENT_TYPE, isProtobuf } from "./protobuf.ts";
import { decodeAs, encodeAs, type ProtoType } from "./protobuf-schema.ts";
import { ProtoWatchFrames, undecodableWatch } from "./protobuf-watch.ts";
import { tlsContextOf, type ClusterAccess } from "./kubeconfig.ts";
import { DEFAULT_RETRY, withRetry } from "./retry.ts";
import {
  PATCH_CONTENT_TYPE,
  PROTOBUF_ACCEPT,
  queryString,
  statusOf,
  type Answer,
  type KubeClientOptions,
  type KubeRequest,
} from "./kube-request.ts";
import { transportError } from "./transport-error.ts";
import {
  streamFromIterator,
  type WatchEvent,
  type WatchStreamHandle,
  type WatchStreamHandlers,
} from "./watch-stream.ts";

// Callers take the watch types (and the iterator adapter) from the client they use.
export {
  streamFromIterator,
  type WatchEvent,
  type WatchStreamHandle,
  type WatchStreamHandlers,
} from "./watch-stream.ts";

export { queryString, type KubeClientOptions, type KubeRequest, type PatchType } from "./kube-request.ts";

/**
 * A small Kubernetes REST client on undici: one keep-alive pool per API server, HTTP/2 when the
 * server offers it, JSON in and out, typed errors, and the project's retry policy. Used by the CLI,
 * the control-plane code, the tests and the engine's hot path alike.
 */
export class KubeClient {
  readonly server: string;
  private transport: { pool: Pool; watchPool: Pool } | undefined;
  private lean: H2Client | undefined;
  /** The lean client ordinary requests go on: `lean`, one of their own, or none (undici). */
  private leanRequest: H2Client | undefined;
  private access: ClusterAccess;
  private readonly opts: KubeClientOptions;
  private readonly clock: Clock;
  private secureContext: SecureContext | undefined;

  constructor(access: ClusterAccess, opts: KubeClientOptions = {}) {
    this.access = access;
    this.opts = opts;
    this.server = access.server;
    this.clock = opts.clock ?? realClock;
    const url = new URL(access.server);
    this.pathPrefix = url.pathname.replace(/\/+$/, "");
    this.secureContext = opts.secureContext;
    // Undici's pools are made on first use: a client whose requests all go the lean way never
    // makes them (nor their TLS context).
    if (opts.leanWatches) this.lean = this.leanClient();
    this.leanRequest = this.requestClient();
  }

  /** Closes the lean connections (the requests' too, when apart) and goes without them. */
  private closeLean(): void {
    this.leanRequest?.close();
    this.lean?.close();
    this.leanRequest = undefined;
    this.lean = undefined;
  }

  /** Where ordinary requests go lean: on the watches' connections, or apart from them. */
  private requestClient(): H2Client | undefined {
    if (!this.lean || !this.opts.leanRequests) return undefined;
    return this.opts.requestsApart ? this.leanClient() : this.lean;
  }

  private leanClient(): H2Client {
    return new H2Client(this.access, {
      userAgent: this.opts.userAgent,
      clock: this.clock,
      secureContext: this.tlsContext(),
    });
  }

  /**
   * One TLS context shared by every connection of the client (given, or made once per
   * credential): one per connection re-parses the CA and key into its own OpenSSL store.
   */
  private tlsContext(): SecureContext {
    this.secureContext ??= tlsContextOf(this.access);
    return this.secureContext;
  }

  private get pool(): Pool {
    this.transport ??= this.pools(this.access);
    return this.transport.pool;
  }

  private get watchPool(): Pool {
    this.transport ??= this.pools(this.access);
    return this.transport.watchPool;
  }

  /** The request and watch pools for `access` (its TLS credentials). */
  private pools(access: ClusterAccess): { pool: Pool; watchPool: Pool } {
    const opts = this.opts;
    const url = new URL(access.server);
    const connect = {
      secureContext: this.tlsContext(),
      ...(access.servername ? { servername: access.servername } : {}),
      rejectUnauthorized: !access.insecureSkipTLSVerify,
    };
    const pool = new Pool(url.origin, {
      connections: opts.connections ?? 4,
      allowH2: opts.http2 ?? true,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      connect,
    });
    // Watches hold their HTTP/2 stream for minutes: they get their own pool, which opens another
    // connection whenever the open ones carry as many streams as the server allows (100), so
    // they never starve ordinary requests of streams.
    const watchPool = new Pool(url.origin, {
      connections: null,
      allowH2: opts.http2 ?? true,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      connect,
    });
    return { pool, watchPool };
  }

  /**
   * Uses a new client certificate from now on (a renewed node certificate): new connections carry
   * it and the old ones are closed, so open watches end and are re-opened by their watchers, as
   * client-go's transport closes every connection when the kubelet's certificate rotates.
   */
  async useClientCertificate(cert: string, key: string): Promise<void> {
    const old = this.transport;
    this.access = { ...this.access, cert, key };
    this.secureContext = undefined;
    this.transport = undefined;
    if (this.lean) {
      this.closeLean();
      this.lean = this.leanClient();
      this.leanRequest = this.requestClient();
    }
    if (old) await Promise.all([old.pool.destroy(), old.watchPool.destroy()]);
  }

  private readonly pathPrefix: string;

  /** Closes every connection (open watches end). */
  async close(): Promise<void> {
    this.closeLean();
    const t = this.transport;
    if (t) await Promise.all([t.pool.destroy(), t.watchPool.destroy()]);
  }

  private async headers(contentType?: string, accept = "application/json"): Promise<Record<string, string>> {
    const h: Record<string, string> = { accept };
    if (this.opts.userAgent) h["user-agent"] = this.opts.userAgent;
    if (contentType) h["content-type"] = contentType;
    const auth = await this.access.authorization();
    if (auth) h["authorization"] = auth;
    return h;
  }

  /** Sends one request (no retries) and returns the parsed JSON body. */
  private async once<T>(req: KubeRequest): Promise<T> {
    const bytes = req.body instanceof Uint8Array;
    const contentType =
      req.body === undefined
        ? undefined
        : req.method === "PATCH"
          ? PATCH_CONTENT_TYPE[req.patchType ?? "strategic"]
          : bytes
            ? PROTOBUF_CONTENT_TYPE
            : "application/json";
    const path = this.pathPrefix + req.path + queryString(req.query);
    const started = performance.now();
    const headers = await this.headers(
      contentType,
      req.accept === "protobuf" || req.proto ? PROTOBUF_ACCEPT : undefined,
    );
    const body =
      req.body === undefined
        ? undefined
        : typeof req.body === "string" || bytes
          ? req.body
          : JSON.stringify(req.body);
    let res: Answer;
    try {
      res = this.leanRequest
        ? await this.sendLean(this.leanRequest, req, path, headers, body)
        : await this.send(req, path, headers, body);
    } catch (err) {
      throw transportError(this.server, req.method, req.path, err);
    }
    this.opts.onResponse?.({
      method: req.method,
      path: req.path,
      status: res.status,
      ms: performance.now() - started,
    });
    if (res.status >= 400) {
      throw errorFromResponse(
        req.method,
        req.path,
        res.status,
        res.data ? statusOf(res.data) : res.text,
        res.retryAfter,
        this.server,
      );
    }
    if (res.data) return (req.proto ? decodeAs<T>(req.proto, res.data) : res.data) as T;
    if (res.text === "") return undefined as T;
    return (res.json ? JSON.parse(res.text) : res.text) as T;
  }

  /** One request over undici's pool. */
  private async send(
    req: KubeRequest,
    path: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
  ): Promise<Answer> {
    const res = await this.pool.request({
      method: req.method,
      path,
      headers,
      body: body ?? null,
      signal: req.signal ?? null,
      headersTimeout: req.timeoutMs ?? 30_000,
      bodyTimeout: req.timeoutMs ?? 30_000,
    });
    const type = String(res.headers["content-type"] ?? "");
    const ra = res.headers["retry-after"];
    const answer = { status: res.statusCode, retryAfter: Array.isArray(ra) ? ra[0] : ra };
    if (type.startsWith(PROTOBUF_CONTENT_TYPE))
      return { ...answer, data: new Uint8Array(await res.body.arrayBuffer()), text: "", json: false };
    return { ...answer, data: undefined, text: await res.body.text(), json: type.includes("json") };
  }

  /**
   * One request over the lean HTTP/2 client, which reads no content-type (hpack.ts): a body is
   * protobuf by its magic number, else JSON when it starts as JSON does (what the API server
   * answers to this client's requests), else text.
   */
  private async sendLean(
    lean: H2Client,
    req: KubeRequest,
    path: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
  ): Promise<Answer> {
    let res: H2Response;
    try {
      res = await lean.request(
        req.method,
        path,
        headers,
        body === undefined
          ? undefined
          : typeof body === "string"
            ? Buffer.from(body)
            : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        { timeoutMs: req.timeoutMs ?? 30_000, signal: req.signal },
      );
    } catch (err) {
      if (!/did not agree to HTTP\/2/.test(describeError(err))) throw err;
      // An HTTP/1.1-only path (a proxy, say): undici from now on, for requests and watches.
      this.closeLean();
      return this.send(req, path, headers, body);
    }
    const answer = { status: res.status, retryAfter: res.retryAfter };
    if (isProtobuf(res.body)) return { ...answer, data: res.body, text: "", json: false };
    const text = res.body.toString("utf8");
    return { ...answer, data: undefined, text, json: /^\s*[[{]/.test(text) };
  }

  /** Sends a request under the retry policy (the request's, else the client's, else the default). */
  request<T>(req: KubeRequest): Promise<T> {
    // Encoded once, not per attempt.
    if (req.proto && req.method !== "PATCH" && req.body !== undefined && !(req.body instanceof Uint8Array)) {
      try {
        req = { ...req, body: encodeAs(req.proto, req.body) };
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return withRetry(() => this.once<T>(req), req.retry ?? this.opts.retry ?? DEFAULT_RETRY, this.clock, {
      signal: req.signal,
    });
  }

  /** GET and parse. */
  get<T>(path: string, query?: KubeRequest["query"], signal?: AbortSignal): Promise<T> {
    return this.request<T>({ method: "GET", path, query, signal });
  }

  /** GET a non-JSON endpoint (`/readyz`, logs) as text. */
  async getText(path: string, query?: KubeRequest["query"], timeoutMs = 10_000): Promise<string> {
    const v = await this.request<unknown>({ method: "GET", path, query, timeoutMs });
    return typeof v === "string" ? v : JSON.stringify(v);
  }

  /**
   * Opens a watch and calls `handlers` for each event and once at the end. On the lean HTTP/2
   * client this costs a few hundred bytes per open watch, which matters with thousands.
   */
  watchStream(
    path: string,
    query: KubeRequest["query"],
    handlers: WatchStreamHandlers,
    proto?: ProtoType,
  ): WatchStreamHandle {
    if (this.lean) {
      const full = this.pathPrefix + path + queryString({ ...query, watch: 1, allowWatchBookmarks: true });
      return this.lean.watchStream(
        path,
        full,
        {
          onEvent: (ev) => handlers.onEvent(ev),
          onEnd: (err) => {
            if (err instanceof KubeApiError && /did not agree to HTTP\/2/.test(err.message) && this.lean) {
              // An HTTP/1.1-only path (a proxy, say): use undici from now on.
              this.closeLean();
            }
            handlers.onEnd(err);
          },
        },
        proto,
      );
    }
    return streamFromIterator((signal) => this.watch<unknown>(path, query, signal, proto), handlers);
  }

  /**
   * Opens a watch and yields its events until the server ends the stream or `signal` aborts.
   * The caller resumes from the last resourceVersion and re-lists on 410 Gone (ERROR events with
   * code 410 are yielded as they come). With `proto` it asks for protobuf as a kubelet's client
   * does and reads the events' objects as that type (JSON form, its read schema's fields).
   */
  async *watch<T>(
    path: string,
    query: KubeRequest["query"],
    signal?: AbortSignal,
    proto?: ProtoType,
  ): AsyncGenerator<WatchEvent<T>> {
    const full = this.pathPrefix + path + queryString({ ...query, watch: 1, allowWatchBookmarks: true });
    let res: Dispatcher.ResponseData;
    try {
      res = await this.watchPool.request({
        method: "GET",
        path: full,
        headers: await this.headers(undefined, proto ? PROTOBUF_ACCEPT : undefined),
        signal: signal ?? null,
        headersTimeout: 60_000,
        bodyTimeout: 0,
      });
    } catch (err) {
      throw transportError(this.server, "WATCH", path, err);
    }
    const protobuf = String(res.headers["content-type"] ?? "").startsWith(PROTOBUF_CONTENT_TYPE);
    if (res.statusCode >= 400) {
      const body = protobuf
        ? statusOf(new Uint8Array(await res.body.arrayBuffer().catch(() => new ArrayBuffer(0))))
        : await res.body.text().catch(() => "");
      throw errorFromResponse("WATCH", path, res.statusCode, body, undefined, this.server);
    }
    if (proto && protobuf) {
      yield* this.protoEvents<T>(res, path, proto, signal);
      return;
    }
    let buf = "";
    try {
      for await (const chunk of res.body) {
        buf += (chunk as Buffer).toString("utf8");
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() !== "") yield JSON.parse(line) as WatchEvent<T>;
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw transportError(this.server, "WATCH", path, err);
    } finally {
      res.body.destroy();
    }
  }

  /** The events of a protobuf watch answer (undici). */
  private async *protoEvents<T>(
    res: Dispatcher.ResponseData,
    path: string,
    proto: ProtoType,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<WatchEvent<T>> {
    const frames = new ProtoWatchFrames(proto);
    try {
      for await (const chunk of res.body) {
        let events: WatchEvent<unknown>[];
        try {
          events = frames.push(chunk as Buffer);
        } catch (err) {
          throw undecodableWatch(path, err);
        }
        for (const ev of events) yield ev as WatchEvent<T>;
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err instanceof KubeApiError ? err : transportError(this.server, "WATCH", path, err);
    } finally {
      res.body.destroy();
    }
  }
}
