/*
 * A keyed work queue as client-go's rate-limited workqueue: a key waits at most once however
 * often it is added, is never processed by two workers at once (added while processing, it runs
 * again after), and a failed key comes back after an exponential back-off per key (the sidecars'
 * --retry-interval-start 1 s doubling to --retry-interval-max 5 min). Work is keys only: the
 * objects stay with the caller.
 */

/** Options of a {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Keys processed at once (the sidecar's worker threads). */
  readonly workers: number;
  /** Runs `fn` after `ms` (the engine's due queue). */
  readonly schedule: (ms: number, fn: () => void) => void;
  /** Processes one key; a rejection retries it after the key's back-off. */
  readonly process: (key: string) => Promise<void>;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly onError?: (key: string, err: unknown) => void;
  /** Process nothing until {@link WorkQueue.start} (keys are still collected). */
  readonly paused?: boolean;
}

/** A client-go style work queue on the engine's due queue. */
export class WorkQueue {
  private readonly o: WorkQueueOptions;
  private ready: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private running = 0;
  private stopped = false;
  private paused: boolean;

  constructor(o: WorkQueueOptions) {
    this.o = o;
    this.paused = o.paused ?? false;
  }

  /** Starts processing (a queue made paused). */
  start(): void {
    this.paused = false;
    this.pump();
  }

  /** Keys waiting or being processed (for tests and figures). */
  get size(): number {
    return this.dirty.size + this.processing.size;
  }

  /** Queues `key` now (once, however often it is added). */
  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.processing.has(key)) this.ready.push(key);
    this.pump();
  }

  /** Queues `key` after `ms`. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    this.o.schedule(ms, () => this.add(key));
  }

  /** Queues `key` after its back-off, which doubles with each failure. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.o.maxDelayMs ?? 300_000, (this.o.baseDelayMs ?? 1_000) * 2 ** n);
    this.addAfter(key, delay);
  }

  /** Resets `key`'s back-off. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Drops everything; keys being processed finish but are not queued again. */
  stop(): void {
    this.stopped = true;
    this.ready = [];
    this.head = 0;
    this.dirty.clear();
    this.failures.clear();
  }

  private pump(): void {
    while (!this.stopped && !this.paused && this.running < this.o.workers && this.head < this.ready.length) {
      const key = this.ready[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.head);
        this.head = 0;
      }
      this.dirty.delete(key);
      this.processing.add(key);
      this.running++;
      void this.o.process(key).then(
        () => this.done(key, undefined),
        (err: unknown) => this.done(key, err ?? new Error("failed")),
      );
    }
  }

  private done(key: string, err: unknown): void {
    this.processing.delete(key);
    this.running--;
    if (err === undefined) this.forget(key);
    else if (!this.stopped) {
      this.o.onError?.(key, err);
      this.addRateLimited(key);
    }
    if (this.dirty.has(key)) this.ready.push(key);
    this.pump();
  }
}
