import type { SecureContext } from "node:tls";
import { realClock, type Clock } from "../kernel/clock.ts";
import { describeError } from "../kernel/errors.ts";
import { KubeApiError, codeForStatus, type ApiStatus } from "./api-error.ts";
import { H2Connection, type StreamSink } from "./h2-connection.ts";
import { PROTOBUF_ACCEPT, statusOf } from "./kube-request.ts";
import { tlsContextOf, type ClusterAccess } from "./kubeconfig.ts";
import { isProtobuf } from "./protobuf.ts";
import type { ProtoType } from "./protobuf-schema.ts";
import { ProtoWatchFrames, undecodableWatch } from "./protobuf-watch.ts";
import type { WatchEvent, WatchStreamHandle, WatchStreamHandlers } from "./watch-stream.ts";

/*
 * The lean transport: thousands of long-lived watch streams over a few HTTP/2 connections
 * (h2-connection.ts, which says why not undici or node:http2), each stream a small sink object;
 * and, for a client of one node, its ordinary requests over the same connection.
 */

/** A response as the lean transport returns it: status, retry-after and the body's bytes. */
export interface H2Response {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: Buffer;
}

/** A request that took longer than its timeout (code as undici's, so callers retry it alike). */
class H2TimeoutError extends Error {
  readonly code = "UND_ERR_HEADERS_TIMEOUT";
}

/**
 * Watches (and requests) over a pool of lean HTTP/2 connections: a new connection is opened
 * whenever the open ones carry as many streams as the server allows.
 */
export class H2Client {
  private readonly conns = new Set<H2Connection>();
  private readonly access: ClusterAccess;
  private readonly url: URL;
  private readonly userAgent: string | undefined;
  private readonly clock: Clock;
  private secureContext: SecureContext | undefined;

  constructor(
    access: ClusterAccess,
    opts: { userAgent?: string | undefined; clock?: Clock; secureContext?: SecureContext | undefined } = {},
  ) {
    this.access = access;
    this.url = new URL(access.server);
    this.userAgent = opts.userAgent;
    this.clock = opts.clock ?? realClock;
    this.secureContext = opts.secureContext;
  }

  /** Connections open now (for figures). */
  get connectionCount(): number {
    return this.conns.size;
  }

  private connection(): H2Connection {
    for (const c of this.conns) if (c.hasCapacity) return c;
    this.secureContext ??= tlsContextOf(this.access);
    const c = new H2Connection(this.access, this.url, this.secureContext, this.clock, (dead) =>
      this.conns.delete(dead),
    );
    this.conns.add(c);
    return c;
  }

  /** Closes every connection. */
  close(): void {
    for (const c of [...this.conns]) c.destroy();
    this.conns.clear();
  }

  /**
   * Opens a watch stream and calls `handlers` for each event and once at the end (with an error
   * for an error Status or a lost connection). Callback-driven on purpose: a suspended async
   * generator per watch costs several KB, a sink object a few hundred bytes.
   */
  watchStream(
    path: string,
    fullPath: string,
    handlers: WatchStreamHandlers,
    proto?: ProtoType,
  ): WatchStreamHandle {
    // The bytes after the last newline: a line is decoded once whole, so a character cut
    // between two DATA frames is never split.
    let partial: Buffer | undefined;
    let first = true;
    let done = false;
    let conn: H2Connection | undefined;
    let id = -1;
    let status = 0;
    /** Set when the answer is a protobuf watch (asked for with `proto`, and not answered in JSON). */
    let frames: ProtoWatchFrames | undefined;
    /** The body of a protobuf error answer (a Status in the envelope, no frames). */
    let failed: Buffer[] | undefined;
    const end = (err?: unknown): void => {
      if (done) return;
      done = true;
      if (conn && id >= 0) conn.cancel(id);
      handlers.onEnd(err);
    };
    const json = (chunk: Buffer): void => {
      const bytes = partial ? Buffer.concat([partial, chunk]) : chunk;
      const last = bytes.lastIndexOf(0x0a);
      if (last < 0) {
        partial = bytes;
        return;
      }
      partial = last + 1 < bytes.length ? Buffer.from(bytes.subarray(last + 1)) : undefined;
      const lines = bytes.toString("utf8", 0, last).split("\n");
      for (const line of lines) {
        if (line === "") continue;
        let obj: Partial<WatchEvent<unknown>> & ApiStatus;
        try {
          obj = JSON.parse(line) as Partial<WatchEvent<unknown>> & ApiStatus;
        } catch (err) {
          end(this.unreachable(path, err));
          return;
        }
        if (first && obj.kind === "Status" && obj.type === undefined) {
          end(this.statusError(path, obj));
          return;
        }
        first = false;
        handlers.onEvent(obj as WatchEvent<unknown>);
        if (done) return;
      }
    };
    const sink: StreamSink = {
      onHead: (head) => {
        status = head.status;
      },
      onData: (chunk) => {
        if (done) return;
        if (first && proto && !frames && !failed && chunk.length > 0 && chunk[0] !== 0x7b) {
          // Not JSON ('{'): a protobuf error Status (the envelope's magic) or the watch's frames.
          if (status >= 400 || isProtobuf(chunk)) failed = [];
          else frames = new ProtoWatchFrames(proto);
        }
        if (failed) {
          failed.push(chunk);
          return;
        }
        if (!frames) {
          json(chunk);
          return;
        }
        let events: WatchEvent<unknown>[];
        try {
          events = frames.push(chunk);
        } catch (err) {
          end(undecodableWatch(path, err));
          return;
        }
        for (const ev of events) {
          first = false;
          handlers.onEvent(ev);
          if (done) return;
        }
      },
      onEnd: (err) => {
        if (done) return;
        if (failed && !err) {
          const st = statusOf(Buffer.concat(failed));
          end(this.statusError(path, typeof st === "string" ? { code: status || 500, message: st } : st));
          return;
        }
        const rest = partial?.toString("utf8") ?? "";
        if (!err && rest.trim() !== "") {
          // Error responses carry one Status object without a trailing newline.
          try {
            const obj = JSON.parse(rest) as ApiStatus;
            if (obj.kind === "Status") {
              end(this.statusError(path, obj));
              return;
            }
          } catch {
            // fall through: a cut line
          }
        }
        id = -1;
        end(err ? this.unreachable(path, err) : undefined);
      },
    };
    const headers: Record<string, string> = { accept: proto ? PROTOBUF_ACCEPT : "application/json" };
    if (this.userAgent) headers["user-agent"] = this.userAgent;
    void (async () => {
      try {
        const auth = await this.access.authorization();
        if (auth) headers["authorization"] = auth;
        conn = this.connection();
        const opened = await conn.open(fullPath, headers, sink);
        if (done) conn.cancel(opened);
        else id = opened;
      } catch (err) {
        end(this.unreachable(path, err));
      }
    })();
    return { cancel: () => end() };
  }

  /**
   * Sends one request and resolves with its status and body (any status: the caller reads error
   * Statuses); rejects when the connection fails, the timeout passes or `signal` aborts.
   */
  request(
    method: string,
    fullPath: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    opts: { timeoutMs: number; signal?: AbortSignal | undefined },
  ): Promise<H2Response> {
    return new Promise<H2Response>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let status = 0;
      let retryAfter: string | undefined;
      const conn = this.connection();
      let id = -1;
      let settled = false;
      const settle = (err: unknown, res?: H2Response): void => {
        if (settled) return;
        settled = true;
        cancelTimer();
        opts.signal?.removeEventListener("abort", onAbort);
        if (err !== undefined) {
          if (id >= 0) conn.cancel(id);
          reject(err instanceof Error ? err : new Error(describeError(err)));
        } else if (res) resolve(res);
      };
      const onAbort = (): void => {
        const err = new Error("the request was aborted");
        err.name = "AbortError";
        settle(err);
      };
      const cancelTimer = this.clock.setTimer(opts.timeoutMs, () =>
        settle(new H2TimeoutError(`no answer within ${opts.timeoutMs} ms`)),
      );
      if (opts.signal?.aborted) {
        onAbort();
        return;
      }
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const sink: StreamSink = {
        onHead: (head) => {
          status = head.status;
          retryAfter = head.retryAfter;
        },
        onData: (chunk) => chunks.push(chunk),
        onEnd: (err) => {
          id = -1;
          if (err !== undefined) settle(err);
          else if (status === 0) settle(new Error("the server's answer had no :status"));
          else settle(undefined, { status, retryAfter, body: Buffer.concat(chunks) });
        },
      };
      conn.open(fullPath, headers, sink, method, body).then(
        (opened) => {
          if (settled) conn.cancel(opened);
          else id = opened;
        },
        (err: unknown) => settle(err),
      );
    });
  }

  private statusError(path: string, st: ApiStatus): KubeApiError {
    const status = st.code ?? 500;
    return new KubeApiError({
      code: codeForStatus(status),
      status,
      method: "WATCH",
      path,
      message: `WATCH ${path}: ${status} ${st.reason ?? ""}${st.message ? `: ${st.message}` : ""}`,
      reason: st.reason,
      retryAfterSeconds: st.details?.retryAfterSeconds,
    });
  }

  private unreachable(path: string, err: unknown): KubeApiError {
    return new KubeApiError({
      code: "UNREACHABLE",
      status: 0,
      method: "WATCH",
      path,
      message: `cannot reach ${this.access.server}: ${describeError(err)}`,
      cause: err,
    });
  }
}
