import type { Clock } from "../kernel/clock.ts";

/** A unit of work the queue runs when it is due. */
export type DueTask = () => Promise<void> | void;

interface Entry {
  at: number;
  seq: number;
  task: DueTask;
}

/** Figures of the queue, for metrics. */
export interface DueQueueStats {
  readonly pending: number;
  readonly running: number;
  /** Lateness of the last task started (ms after its due time). */
  readonly lastLatenessMs: number;
}

/**
 * One scheduler for every node's periodic work: a min-heap of due times drained by at most
 * `concurrency` tasks at once, with a single timer armed for the earliest entry. Thousands of
 * nodes cost one heap entry each, not one timer each.
 */
export class DueQueue {
  private readonly heap: Entry[] = [];
  private seq = 0;
  private running = 0;
  private cancelTimer: (() => void) | undefined;
  private timerAt = Infinity;
  private stopped = false;
  private pumpQueued = false;
  private lastLateness = 0;
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly onLateness: ((ms: number) => void) | undefined;
  private readonly onError: (err: unknown) => void;

  constructor(opts: {
    clock: Clock;
    concurrency: number;
    onLateness?: (ms: number) => void;
    onError: (err: unknown) => void;
  }) {
    this.clock = opts.clock;
    this.concurrency = opts.concurrency;
    this.onLateness = opts.onLateness;
    this.onError = opts.onError;
  }

  /** Runs `task` at `at` (epoch ms) or as soon after as a worker is free. */
  schedule(at: number, task: DueTask): void {
    if (this.stopped) return;
    this.push({ at, seq: this.seq++, task });
    // Never run a task inside its caller: the caller may not have finished updating its state.
    if (!this.pumpQueued) {
      this.pumpQueued = true;
      queueMicrotask(() => {
        this.pumpQueued = false;
        this.pump();
      });
    }
  }

  /** Runs `task` after `ms`. */
  after(ms: number, task: DueTask): void {
    this.schedule(this.clock.now() + ms, task);
  }

  /** Stops running tasks; pending ones are dropped. */
  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.heap.length = 0;
  }

  /** Current figures. */
  stats(): DueQueueStats {
    return { pending: this.heap.length, running: this.running, lastLatenessMs: this.lastLateness };
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    while (this.running < this.concurrency && this.heap.length > 0 && this.heap[0]!.at <= now) {
      const e = this.pop()!;
      this.lastLateness = now - e.at;
      this.onLateness?.(this.lastLateness);
      this.running++;
      let result: Promise<void> | void;
      try {
        result = e.task();
      } catch (err) {
        result = undefined;
        this.onError(err);
      }
      if (result instanceof Promise) {
        result.then(
          () => this.done(),
          (err: unknown) => {
            this.onError(err);
            this.done();
          },
        );
      } else {
        this.running--;
      }
    }
    this.arm();
  }

  private done(): void {
    this.running--;
    this.pump();
  }

  private arm(): void {
    const first = this.heap[0];
    // When workers are busy, finishing tasks call pump(); only arm for the future.
    if (!first || this.running >= this.concurrency) return;
    if (this.cancelTimer && this.timerAt <= first.at) return;
    this.cancelTimer?.();
    this.timerAt = first.at;
    this.cancelTimer = this.clock.setTimer(Math.max(0, first.at - this.clock.now()), () => {
      this.cancelTimer = undefined;
      this.timerAt = Infinity;
      this.pump();
    });
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
