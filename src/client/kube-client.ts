import { createSecureContext } from "node:tls";
import { Pool } from "undici";
import type { Dispatcher } from "undici";
import { realClock, type Clock } from "../kernel/clock.ts";
import { KubeApiError, errorFromResponse, type ApiStatus } from "./api-error.ts";
import { H2WatchClient } from "./h2-watch.ts";
import { PROTOBUF_CONTENT_TYPE, decodeObject, readStatus } from "./protobuf.ts";
import { decodeAs, encodeAs, type ProtoType } from "./protobuf-schema.ts";
import type { ClusterAccess } from "./kubeconfig.ts";
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from "./retry.ts";
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

/** Patch flavours the API server accepts. */
export type PatchType = "merge" | "strategic" | "json" | "apply";

const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

/** One API request. */
export interface KubeRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path with leading slash, e.g. `/api/v1/nodes`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /**
   * Serialised as JSON unless it is already a string; bytes are sent as they are, as
   * Kubernetes protobuf (protobuf.ts).
   */
  readonly body?: unknown;
  /**
   * `protobuf` asks for Kubernetes protobuf as a kubelet does (JSON stays acceptable): a protobuf
   * answer is returned as its bytes, an error answer in protobuf is read as a Status.
   */
  readonly accept?: "json" | "protobuf";
  /**
   * A built-in type sent and read in protobuf as a kubelet's client does (protobuf-types.ts): the
   * JSON body is encoded (a PATCH's stays JSON), protobuf is accepted and its answer decoded back
   * into the JSON form with the type's read fields only.
   */
  readonly proto?: ProtoType;
  readonly patchType?: PatchType;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
  /** Per-request timeout in ms (default 30 s). */
  readonly timeoutMs?: number;
}

/** Options of {@link KubeClient}. */
export interface KubeClientOptions {
  /** Sent as User-Agent; the API server's audit log records it (e.g. `hollow-kubelet`). */
  readonly userAgent?: string;
  /** TCP connections kept to the server (each carries up to 100 HTTP/2 streams). Default 4. */
  readonly connections?: number;
  /** Negotiate HTTP/2 (default true): many watches share one connection, as real kubelets do. */
  readonly http2?: boolean;
  readonly retry?: RetryPolicy;
  readonly clock?: Clock;
  /**
   * Carry watches on the lean HTTP/2 client (h2-watch.ts: a few hundred bytes per stream instead
   * of ~20 KB) instead of undici. Falls back to undici if the server does not speak HTTP/2.
   */
  readonly leanWatches?: boolean;
  /** Called after every request with its outcome (for metrics). */
  readonly onResponse?: (info: { method: string; path: string; status: number; ms: number }) => void;
}

/** What a kubelet's client accepts: protobuf, else JSON (for types without a protobuf form). */
const PROTOBUF_ACCEPT = `${PROTOBUF_CONTENT_TYPE}, application/json`;

/** The Status of a protobuf error answer, or its bytes' length when they are no Status. */
function statusOf(data: Uint8Array): ApiStatus | string {
  try {
    const obj = decodeObject(data);
    if (obj.kind === "Status") return readStatus(obj.raw);
  } catch {
    // not protobuf after all
  }
  return `${data.length} bytes of protobuf`;
}

/** Converts a query object into a `?a=b` string (undefined values dropped). */
export function queryString(query: KubeRequest["query"]): string {
  if (!query) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

/**
 * A small Kubernetes REST client on undici: one keep-alive pool per API server, HTTP/2 when the
 * server offers it, JSON in and out, typed errors, and the project's retry policy. Used by the CLI,
 * the control-plane code, the tests and the engine's hot path alike.
 */
export class KubeClient {
  readonly server: string;
  private pool: Pool;
  private watchPool: Pool;
  private lean: H2WatchClient | undefined;
  private access: ClusterAccess;
  private readonly opts: KubeClientOptions;
  private readonly clock: Clock;

  constructor(access: ClusterAccess, opts: KubeClientOptions = {}) {
    this.access = access;
    this.opts = opts;
    this.server = access.server;
    this.clock = opts.clock ?? realClock;
    const url = new URL(access.server);
    [this.pool, this.watchPool] = this.pools(access);
    this.pathPrefix = url.pathname.replace(/\/+$/, "");
    if (opts.leanWatches)
      this.lean = new H2WatchClient(access, { userAgent: opts.userAgent, clock: this.clock });
  }

  /** The request and watch pools for `access` (its TLS credentials). */
  private pools(access: ClusterAccess): [Pool, Pool] {
    const opts = this.opts;
    const url = new URL(access.server);
    // One TLS context shared by every connection: one per connection re-parses the CA and key
    // into its own OpenSSL store (about a megabyte each at hundreds of connections).
    const connect = {
      secureContext: createSecureContext({
        ...(access.ca ? { ca: access.ca } : {}),
        ...(access.cert ? { cert: access.cert } : {}),
        ...(access.key ? { key: access.key } : {}),
      }),
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
    return [pool, watchPool];
  }

  /**
   * Uses a new client certificate from now on (a renewed node certificate): new connections carry
   * it and the old ones are closed, so open watches end and are re-opened by their watchers, as
   * client-go's transport closes every connection when the kubelet's certificate rotates.
   */
  async useClientCertificate(cert: string, key: string): Promise<void> {
    const old = [this.pool, this.watchPool];
    this.access = { ...this.access, cert, key };
    [this.pool, this.watchPool] = this.pools(this.access);
    if (this.lean) {
      this.lean.close();
      this.lean = new H2WatchClient(this.access, { userAgent: this.opts.userAgent, clock: this.clock });
    }
    await Promise.all(old.map((p) => p.destroy()));
  }

  private readonly pathPrefix: string;

  /** Closes every connection (open watches end). */
  async close(): Promise<void> {
    this.lean?.close();
    await Promise.all([this.pool.destroy(), this.watchPool.destroy()]);
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
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method: req.method,
        path,
        headers: await this.headers(
          contentType,
          req.accept === "protobuf" || req.proto ? PROTOBUF_ACCEPT : undefined,
        ),
        body:
          req.body === undefined
            ? null
            : typeof req.body === "string" || bytes
              ? req.body
              : JSON.stringify(req.body),
        signal: req.signal ?? null,
        headersTimeout: req.timeoutMs ?? 30_000,
        bodyTimeout: req.timeoutMs ?? 30_000,
      });
    } catch (err) {
      throw transportError(this.server, req.method, req.path, err);
    }
    const type = String(res.headers["content-type"] ?? "");
    const proto = type.startsWith(PROTOBUF_CONTENT_TYPE);
    let text = "";
    let data: Uint8Array | undefined;
    try {
      if (proto) data = new Uint8Array(await res.body.arrayBuffer());
      else text = await res.body.text();
    } catch (err) {
      throw transportError(this.server, req.method, req.path, err);
    }
    this.opts.onResponse?.({
      method: req.method,
      path: req.path,
      status: res.statusCode,
      ms: performance.now() - started,
    });
    if (res.statusCode >= 400) {
      const ra = res.headers["retry-after"];
      throw errorFromResponse(
        req.method,
        req.path,
        res.statusCode,
        data ? statusOf(data) : text,
        Array.isArray(ra) ? ra[0] : ra,
        this.server,
      );
    }
    if (data) return (req.proto ? decodeAs<T>(req.proto, data) : data) as T;
    if (text === "") return undefined as T;
    return (type.includes("json") ? JSON.parse(text) : text) as T;
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
  watchStream(path: string, query: KubeRequest["query"], handlers: WatchStreamHandlers): WatchStreamHandle {
    if (this.lean) {
      const full = this.pathPrefix + path + queryString({ ...query, watch: 1, allowWatchBookmarks: true });
      return this.lean.watchStream(path, full, {
        onEvent: (ev) => handlers.onEvent(ev),
        onEnd: (err) => {
          if (err instanceof KubeApiError && /did not agree to HTTP\/2/.test(err.message) && this.lean) {
            // An HTTP/1.1-only path (a proxy, say): use undici for watches from now on.
            this.lean.close();
            this.lean = undefined;
          }
          handlers.onEnd(err);
        },
      });
    }
    return streamFromIterator((signal) => this.watch<unknown>(path, query, signal), handlers);
  }

  /**
   * Opens a watch and yields its events until the server ends the stream or `signal` aborts.
   * The caller resumes from the last resourceVersion and re-lists on 410 Gone (ERROR events with
   * code 410 are yielded as they come).
   */
  async *watch<T>(
    path: string,
    query: KubeRequest["query"],
    signal?: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    const full = this.pathPrefix + path + queryString({ ...query, watch: 1, allowWatchBookmarks: true });
    let res: Dispatcher.ResponseData;
    try {
      res = await this.watchPool.request({
        method: "GET",
        path: full,
        headers: await this.headers(),
        signal: signal ?? null,
        headersTimeout: 60_000,
        bodyTimeout: 0,
      });
    } catch (err) {
      throw transportError(this.server, "WATCH", path, err);
    }
    if (res.statusCode >= 400) {
      const text = await res.body.text().catch(() => "");
      throw errorFromResponse("WATCH", path, res.statusCode, text, undefined, this.server);
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
}
