/*
 * Admission of new connections' TLS handshakes on a process's kubelet endpoints (#19): at most
 * `limit` at a time, the others waiting in arrival order.
 *
 * Why: a real kubelet does one handshake per scraper connection on a machine of its own; a
 * hollow-node process does them for thousands of nodes on one thread. metrics-server dials every
 * node within 4 s of its first round (5,000 nodes: ~10 s of handshake CPU in 4 s), and handshakes
 * run side by side share the thread, so every one of them is slow, most outlive the client's 10 s
 * handshake timeout, the work is wasted and repeated the next round (the 5,000-node cold start
 * failed ~50,000 scrapes over 225 s). First come, first served, a started handshake finishes in
 * milliseconds, and the process does as many as its CPU allows. A connection that waited
 * `maxWaitMs` (client-go's and Go's TLS handshake timeout, 10 s: its client has given up) is
 * closed unstarted, and a slot held that long (a client that never finishes) is given back.
 * Connections that are already open (every later scrape) never wait here.
 */
import type { Clock } from "../../kernel/clock.ts";

/** How the gate starts and drops what it admits. */
export interface HandshakeGateOptions<T> {
  /** Handshakes at a time. */
  readonly limit: number;
  /** Longest wait before a start, and longest hold of a slot. */
  readonly maxWaitMs: number;
  readonly clock: Clock;
  /** Starts `item`'s handshake; the caller says when it is over with {@link HandshakeGate.finished}. */
  start(item: T): void;
  /** Closes `item`, which waited too long to be worth starting. */
  drop(item: T): void;
}

/** Up to `limit` handshakes at a time, the rest first come, first served. */
export class HandshakeGate<T> {
  private readonly opts: HandshakeGateOptions<T>;
  /** Items started, with when (in start order). */
  private readonly active = new Map<T, number>();
  /** Items waiting, with their arrival time (in arrival order). */
  private readonly waiting = new Map<T, number>();

  constructor(opts: HandshakeGateOptions<T>) {
    this.opts = { ...opts, limit: Math.max(1, opts.limit) };
  }

  /** Handshakes started and not over. */
  get running(): number {
    return this.active.size;
  }

  /** Items waiting for a slot. */
  get queued(): number {
    return this.waiting.size;
  }

  /** A new connection: started now when a slot is free, else queued. */
  offer(item: T): void {
    this.waiting.set(item, this.opts.clock.now());
    this.pump();
  }

  /** `item`'s handshake is over (done or failed), or it closed: its slot (or its place in line) is freed. */
  finished(item: T): void {
    if (this.waiting.delete(item)) return;
    if (this.active.delete(item)) this.pump();
  }

  private pump(): void {
    const { limit, maxWaitMs, clock } = this.opts;
    const now = clock.now();
    if (this.active.size >= limit) {
      // Slots held too long are given back (oldest first: the map is in start order).
      for (const [item, at] of this.active) {
        if (now - at < maxWaitMs) break;
        this.active.delete(item);
      }
    }
    while (this.active.size < limit && this.waiting.size > 0) {
      const [item, at] = this.waiting.entries().next().value as [T, number];
      this.waiting.delete(item);
      if (now - at >= maxWaitMs) {
        this.opts.drop(item);
        continue;
      }
      this.active.set(item, now);
      this.opts.start(item);
    }
  }
}
