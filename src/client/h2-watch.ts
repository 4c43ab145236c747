import { createSecureContext, type SecureContext } from "node:tls";
import { realClock, type Clock } from "../kernel/clock.ts";
import { describeError } from "../kernel/errors.ts";
import { KubeApiError, codeForStatus, type ApiStatus } from "./api-error.ts";
import { H2Connection, type StreamSink } from "./h2-connection.ts";
import type { ClusterAccess } from "./kubeconfig.ts";
import type { WatchEvent, WatchStreamHandle, WatchStreamHandlers } from "./watch-stream.ts";

/*
 * The lean watch transport: thousands of long-lived watch streams over a few HTTP/2 connections
 * (h2-connection.ts, which says why not undici or node:http2), each stream a small sink object.
 */

/**
 * Watches over a pool of lean HTTP/2 connections: a new connection is opened whenever the open
 * ones carry as many streams as the server allows.
 */
export class H2WatchClient {
  private readonly conns = new Set<H2Connection>();
  private readonly access: ClusterAccess;
  private readonly url: URL;
  private readonly userAgent: string | undefined;
  private readonly clock: Clock;
  private secureContext: SecureContext | undefined;

  constructor(access: ClusterAccess, opts: { userAgent?: string | undefined; clock?: Clock } = {}) {
    this.access = access;
    this.url = new URL(access.server);
    this.userAgent = opts.userAgent;
    this.clock = opts.clock ?? realClock;
  }

  /** Connections open now (for figures). */
  get connectionCount(): number {
    return this.conns.size;
  }

  private connection(): H2Connection {
    for (const c of this.conns) if (c.hasCapacity) return c;
    // One TLS context for every connection: a context per connection re-parses the CA and key
    // into its own OpenSSL store, about a megabyte each.
    this.secureContext ??= createSecureContext({
      ...(this.access.ca ? { ca: this.access.ca } : {}),
      ...(this.access.cert ? { cert: this.access.cert } : {}),
      ...(this.access.key ? { key: this.access.key } : {}),
    });
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
  watchStream(path: string, fullPath: string, handlers: WatchStreamHandlers): WatchStreamHandle {
    let partial = "";
    let first = true;
    let done = false;
    let conn: H2Connection | undefined;
    let id = -1;
    const end = (err?: unknown): void => {
      if (done) return;
      done = true;
      if (conn && id >= 0) conn.cancel(id);
      handlers.onEnd(err);
    };
    const sink: StreamSink = {
      onData: (chunk) => {
        if (done) return;
        const text = partial + chunk;
        let from = 0;
        let nl: number;
        while ((nl = text.indexOf("\n", from)) >= 0) {
          const line = text.slice(from, nl);
          from = nl + 1;
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
        partial = text.slice(from);
      },
      onEnd: (err) => {
        if (done) return;
        if (!err && partial.trim() !== "") {
          // Error responses carry one Status object without a trailing newline.
          try {
            const obj = JSON.parse(partial) as ApiStatus;
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
    const headers: Record<string, string> = { accept: "application/json" };
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
