import { connect as tlsConnect, type SecureContext, type TLSSocket } from "node:tls";
import type { Clock } from "../kernel/clock.ts";
import { hpackLiteral, readResponseHead, type ResponseHead } from "./hpack.ts";
import type { ClusterAccess } from "./kubeconfig.ts";

/*
 * A minimal HTTP/2 client for one job: holding thousands of long-lived watch streams cheaply.
 *
 * Why not undici or node:http2: both keep roughly 15-25 KB of memory per open stream (measured on
 * this project's engine), and a kubelet-faithful hollow node holds 5-8 watches, so the streams
 * alone would cost more than the whole per-node budget. Here a stream is a small object.
 *
 * It also carries a node's ordinary requests (`--connections per-node`: one connection per node
 * for its requests and its watches, as client-go's transport multiplexes a kubelet's), with
 * request bodies under the server's flow-control windows.
 *
 * What it leaves out, on purpose: of the response headers only `:status` and `retry-after` are
 * read (hpack.ts: the API server puts every error in the body as a Status object, and its bodies
 * say what they are), with a header table of size 0 so there is no dynamic table; request headers
 * are sent as HPACK literals without indexing. Anything it does not handle ends the stream with
 * an error; the caller above it then retries.
 */

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** What a peer may send before it has our SETTINGS and WINDOW_UPDATEs (RFC 9113 6.5.2, 6.9.2). */
const DEFAULT_WINDOW = 65_535;
const DEFAULT_MAX_FRAME = 16_384;
/** Stream-level receive window we announce (bytes the server may send before we acknowledge). */
const STREAM_WINDOW = 1 << 20;
/** Connection-level receive window. */
const CONNECTION_WINDOW = 1 << 26;
/** How long the TCP and TLS handshakes may take, as client-go's TLSHandshakeTimeout. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(streamId & 0x7fffffff, 5);
  payload.copy(b, 9);
  return b;
}

/** Receives a stream's response. */
export interface StreamSink {
  /** The response's status (and retry-after), before its body. */
  onHead?(head: ResponseHead): void;
  onData(chunk: Buffer): void;
  onEnd(err?: unknown): void;
}

interface Stream {
  id: number;
  sink: StreamSink;
  unacked: number;
  /** Bytes the server lets us send on this stream now. */
  sendWindow: number;
  /** The part of the request body not sent yet (waiting for a window). */
  body: Buffer | undefined;
  /** A header block being received (HEADERS then CONTINUATIONs). */
  block: Buffer | undefined;
  headSeen: boolean;
}

/** One TLS connection speaking HTTP/2, carrying up to the server's limit of streams. */
export class H2Connection {
  readonly streams = new Map<number, Stream>();
  /** Streams being opened (counted against the limit before they have an id). */
  pending = 0;
  maxStreams = 100;
  goingAway = false;
  closed = false;
  private nextId = 1;
  private socket: TLSSocket;
  private leftover: Buffer | undefined;
  private connUnacked = 0;
  /** Bytes the server lets us send on the connection now, and its settings for new streams. */
  private connSendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private readonly ready: Promise<void>;
  /** Ends the wait for the handshake (a connection that failed before it completed). */
  private notReady: ((err: unknown) => void) | undefined;
  private cancelHandshakeTimer: (() => void) | undefined;
  private pingOutstanding = false;
  private cancelPing: (() => void) | undefined;
  private readonly onClosed: (c: H2Connection) => void;
  private readonly clock: Clock;
  private readonly authority: string;

  constructor(
    access: ClusterAccess,
    url: URL,
    secureContext: SecureContext,
    clock: Clock,
    onClosed: (c: H2Connection) => void,
  ) {
    this.clock = clock;
    this.onClosed = onClosed;
    this.authority = url.host;
    const port = Number(url.port || 443);
    this.socket = tlsConnect({
      host: url.hostname,
      port,
      ALPNProtocols: ["h2"],
      servername: access.servername ?? (/^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname),
      secureContext,
      rejectUnauthorized: !access.insecureSkipTLSVerify,
    });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      // Streams opened meanwhile wait for the handshake: a failed or silent one must end them.
      this.notReady = reject;
      this.cancelHandshakeTimer = clock.setTimer(HANDSHAKE_TIMEOUT_MS, () =>
        this.fail(new Error(`no TLS handshake with the server within ${HANDSHAKE_TIMEOUT_MS / 1000} s`)),
      );
      this.socket.once("secureConnect", () => {
        this.cancelHandshakeTimer?.();
        this.notReady = undefined;
        if (this.socket.alpnProtocol !== "h2") {
          reject(new Error(`the server did not agree to HTTP/2 (ALPN: ${String(this.socket.alpnProtocol)})`));
          this.socket.destroy();
          return;
        }
        // Preface, our settings (no push, no dynamic table needed, a large stream window), and
        // a larger connection window.
        const settings = Buffer.alloc(18);
        settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
        settings.writeUInt32BE(0, 2);
        settings.writeUInt16BE(0x1, 6); // HEADER_TABLE_SIZE
        settings.writeUInt32BE(0, 8);
        settings.writeUInt16BE(0x4, 12); // INITIAL_WINDOW_SIZE
        settings.writeUInt32BE(STREAM_WINDOW, 14);
        const wu = Buffer.alloc(4);
        wu.writeUInt32BE(CONNECTION_WINDOW - 65535, 0);
        this.socket.write(
          Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, settings), frame(WINDOW_UPDATE, 0, 0, wu)]),
        );
        resolve();
        this.schedulePing();
      });
    });
    this.ready.catch(() => undefined);
    this.socket.on("data", (chunk: Buffer) => this.onSocketData(chunk));
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => this.fail(new Error("connection closed")));
  }

  /** Room for another stream. */
  get hasCapacity(): boolean {
    return !this.goingAway && !this.closed && this.streams.size + this.pending < this.maxStreams;
  }

  /**
   * Opens a stream for a request (a GET without body by default) and resolves with its id once
   * the request's headers are sent; its body follows as the server's windows allow.
   */
  async open(
    path: string,
    headers: Record<string, string>,
    sink: StreamSink,
    method = "GET",
    body?: Buffer,
  ): Promise<number> {
    this.pending++;
    try {
      await this.ready;
    } finally {
      this.pending--;
    }
    if (this.closed || this.goingAway) throw new Error("connection is closing");
    const id = this.nextId;
    this.nextId += 2;
    const block: number[] = [];
    hpackLiteral(":method", method, block);
    hpackLiteral(":scheme", "https", block);
    hpackLiteral(":authority", this.authority, block);
    hpackLiteral(":path", path, block);
    for (const [k, v] of Object.entries(headers)) hpackLiteral(k.toLowerCase(), v, block);
    if (block.length > this.peerMaxFrame) throw new Error(`request headers of ${block.length} bytes`);
    const hasBody = body !== undefined && body.length > 0;
    const s: Stream = {
      id,
      sink,
      unacked: 0,
      sendWindow: this.peerInitialWindow,
      body: hasBody ? body : undefined,
      block: undefined,
      headSeen: false,
    };
    this.streams.set(id, s);
    const flags = hasBody ? FLAG_END_HEADERS : FLAG_END_STREAM | FLAG_END_HEADERS;
    this.socket.write(frame(HEADERS, flags, id, Buffer.from(block)));
    if (hasBody) this.sendBody(s);
    return id;
  }

  /** Sends as much of a stream's body as the windows allow, in frames of the server's size. */
  private sendBody(s: Stream): void {
    while (s.body && this.connSendWindow > 0 && s.sendWindow > 0) {
      const n = Math.min(s.body.length, this.connSendWindow, s.sendWindow, this.peerMaxFrame);
      const last = n === s.body.length;
      this.socket.write(frame(DATA, last ? FLAG_END_STREAM : 0, s.id, s.body.subarray(0, n)));
      this.connSendWindow -= n;
      s.sendWindow -= n;
      s.body = last ? undefined : s.body.subarray(n);
    }
  }

  /** After a window grew: the bodies that were waiting go on. */
  private sendWaitingBodies(): void {
    for (const s of this.streams.values()) {
      if (this.connSendWindow <= 0) return;
      if (s.body) this.sendBody(s);
    }
  }

  /** Cancels a stream (RST_STREAM CANCEL). */
  cancel(id: number): void {
    if (!this.streams.delete(id) || this.closed) return;
    const p = Buffer.alloc(4);
    p.writeUInt32BE(0x8, 0);
    this.socket.write(frame(RST_STREAM, 0, id, p));
    this.closeIfIdle();
  }

  /** Closes the connection and ends every stream with an error. */
  destroy(): void {
    this.fail(new Error("client closed"));
  }

  private closeIfIdle(): void {
    if (this.goingAway && this.streams.size === 0 && this.pending === 0) this.socket.end();
  }

  private schedulePing(): void {
    // A PING every 30 s finds a dead peer; no answer within the next round closes the connection.
    this.cancelPing = this.clock.setTimer(30_000, () => {
      if (this.closed) return;
      if (this.pingOutstanding) {
        this.fail(new Error("no PING answer from the server"));
        return;
      }
      this.pingOutstanding = true;
      this.socket.write(frame(PING, 0, 0, Buffer.alloc(8)));
      this.schedulePing();
    });
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelPing?.();
    this.cancelHandshakeTimer?.();
    this.notReady?.(err);
    this.notReady = undefined;
    this.socket.destroy();
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const s of streams) s.sink.onEnd(err);
    this.onClosed(this);
  }

  private onSocketData(chunk: Buffer): void {
    let buf = this.leftover ? Buffer.concat([this.leftover, chunk]) : chunk;
    this.leftover = undefined;
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const type = buf[3]!;
      const flags = buf[4]!;
      const sid = buf.readUInt32BE(5) & 0x7fffffff;
      this.onFrame(type, flags, sid, buf.subarray(9, 9 + len));
      if (this.closed) return;
      buf = buf.subarray(9 + len);
    }
    if (buf.length > 0) this.leftover = Buffer.from(buf);
  }

  private onFrame(type: number, flags: number, sid: number, payload: Buffer): void {
    switch (type) {
      case DATA: {
        this.ack(sid, payload.length);
        const s = this.streams.get(sid);
        if (!s) return;
        let body = payload;
        if (flags & FLAG_PADDED) body = payload.subarray(1, payload.length - payload[0]!);
        if (body.length > 0) s.sink.onData(body);
        if (flags & FLAG_END_STREAM) this.finish(sid);
        return;
      }
      case HEADERS:
      case CONTINUATION: {
        const s = this.streams.get(sid);
        if (!s) return;
        let block = payload;
        if (type === HEADERS) {
          const pad = flags & FLAG_PADDED ? payload[0]! : 0;
          const from = (flags & FLAG_PADDED ? 1 : 0) + (flags & FLAG_PRIORITY ? 5 : 0);
          block = payload.subarray(from, payload.length - pad);
        }
        s.block = s.block ? Buffer.concat([s.block, block]) : block;
        if (flags & FLAG_END_HEADERS) {
          const whole = s.block;
          s.block = undefined;
          // The first block is the response's head; a later one (trailers) says nothing read.
          if (!s.headSeen) {
            s.headSeen = true;
            let head: ResponseHead;
            try {
              head = readResponseHead(whole);
            } catch (err) {
              this.cancel(sid);
              s.sink.onEnd(err);
              return;
            }
            s.sink.onHead?.(head);
            if (!this.streams.has(sid)) return;
          }
        }
        if (flags & FLAG_END_STREAM) this.finish(sid);
        return;
      }
      case RST_STREAM: {
        const s = this.streams.get(sid);
        if (!s) return;
        this.streams.delete(sid);
        s.sink.onEnd(new Error(`stream reset by the server (code ${payload.readUInt32BE(0)})`));
        this.closeIfIdle();
        return;
      }
      case SETTINGS: {
        if (flags & FLAG_ACK) return;
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          const key = payload.readUInt16BE(i);
          const value = payload.readUInt32BE(i + 2);
          if (key === 0x3) this.maxStreams = Math.max(1, value);
          else if (key === 0x4) {
            // INITIAL_WINDOW_SIZE changes the window of every open stream by the difference.
            for (const s of this.streams.values()) s.sendWindow += value - this.peerInitialWindow;
            this.peerInitialWindow = value;
          } else if (key === 0x5) this.peerMaxFrame = value;
        }
        this.socket.write(frame(SETTINGS, FLAG_ACK, 0, Buffer.alloc(0)));
        this.sendWaitingBodies();
        return;
      }
      case PING:
        if (flags & FLAG_ACK) this.pingOutstanding = false;
        else this.socket.write(frame(PING, FLAG_ACK, 0, payload));
        return;
      case GOAWAY: {
        const last = payload.readUInt32BE(0) & 0x7fffffff;
        this.goingAway = true;
        for (const s of [...this.streams.values()]) {
          if (s.id > last) {
            this.streams.delete(s.id);
            s.sink.onEnd(new Error("stream refused: the server is going away"));
          }
        }
        this.onClosed(this);
        this.closeIfIdle();
        return;
      }
      case WINDOW_UPDATE: {
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (sid === 0) this.connSendWindow += inc;
        else {
          const s = this.streams.get(sid);
          if (!s) return;
          s.sendWindow += inc;
        }
        this.sendWaitingBodies();
        return;
      }
      default:
        // PRIORITY, PUSH_PROMISE (disabled by our settings), extensions.
        return;
    }
  }

  /** Flow control: hand received bytes back to the server's send windows. */
  private ack(sid: number, n: number): void {
    if (n === 0) return;
    this.connUnacked += n;
    if (this.connUnacked >= CONNECTION_WINDOW / 4) {
      const p = Buffer.alloc(4);
      p.writeUInt32BE(this.connUnacked, 0);
      this.socket.write(frame(WINDOW_UPDATE, 0, 0, p));
      this.connUnacked = 0;
    }
    const s = this.streams.get(sid);
    if (!s) return;
    s.unacked += n;
    if (s.unacked >= STREAM_WINDOW / 4) {
      const p = Buffer.alloc(4);
      p.writeUInt32BE(s.unacked, 0);
      this.socket.write(frame(WINDOW_UPDATE, 0, sid, p));
      s.unacked = 0;
    }
  }

  private finish(sid: number): void {
    const s = this.streams.get(sid);
    if (!s) return;
    this.streams.delete(sid);
    s.sink.onEnd();
    this.closeIfIdle();
  }
}
