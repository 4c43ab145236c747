/**
 * How fast a starting engine admits nodes to registration. Kubelets have no such limit: each starts
 * when its machine does, and the API server's queues pace them. An engine starting thousands at
 * once must pace them itself, and the pace that matters is the API server's: new nodes are
 * admitted as fast as it answers while the heartbeats of the nodes already up stay quick (none may
 * miss its Lease during start-up). The window of concurrent registrations grows as in TCP's slow
 * start (one more per completed registration) while the recent heartbeat latency p99 stays under a
 * target. From the first time it does not, the window is set once per sample period, on samples
 * all taken since the last change and only once the registrations in flight fell to the window
 * (so a cut is judged by its effect, not by the overload it answered): cut in proportion to how
 * far the p99 is over the target (at most by half), grown by a quarter while the p99 is under half
 * the target, held in between. {@link nextWindow} is the pure decision; {@link RegistrationPacer}
 * keeps the samples and runs the registrations.
 *
 * The second signal is the API server's watch cache. A WatchList (each node opens eight) waits
 * until the cache of its resource has caught up with etcd, at most 3 s, and then fails with "Too
 * large resource version" for the client to retry. At 5,000 nodes on 2 cores the Node cache fell
 * behind, and then ~100,000 node WatchLists failed after their 3 s wait: every waiting request
 * is woken by each event the cache takes, so the waiters slow the cache they wait for
 * (results/startup-22.md). Lists that fail, or take over {@link PacerConfig.listTargetMs} to
 * their end, count as congestion as slow heartbeats do, so new nodes wait while the cache lags.
 * The kubelets' own watches open before registration begins, all at once, and the registrations
 * wait for their initial lists ({@link OpeningLists}): those lists are not for the pacer.
 */
import type { Clock } from "../kernel/clock.ts";
import { quantile } from "../kernel/quantile.ts";

/** The pacer's tunables; the defaults are documented on each. */
export interface PacerConfig {
  /** Concurrent registrations at the start (default 16). */
  readonly initialWindow: number;
  /** Never fewer than this (default 4). */
  readonly minWindow: number;
  /** Never more (default: the engine's request window, `--max-in-flight`: each registration has one request in flight). */
  readonly maxWindow: number;
  /**
   * Heartbeat latency p99 above which the API server counts as saturated (default half the Lease
   * renewal period: 5 s of 10 s; a renewal that slow is still 25 s from a missed Lease). A fifth
   * (2 s) held 5,000 nodes at the floor window for most of their start-up on 2 cores, where the
   * steady heartbeats of the nodes already up keep the p99 at 2-5 s whatever registers
   * (results/startup-22.md).
   */
  readonly targetMs: number;
  /**
   * Past slow start, the window changes at most this often (default the sample period, 5 s): the
   * samples must all show the window in force.
   */
  readonly cooldownMs: number;
  /** Heartbeat latencies older than this are forgotten (default 5 s). */
  readonly sampleMs: number;
  /**
   * A WatchList's time to its initial list's end above which the watch cache counts as lagging
   * (default 1.5 s: half of the API server's 3 s wait for a fresh cache; ~0.25 s when it keeps up).
   */
  readonly listTargetMs: number;
}

/** The pacer's state between decisions. */
export interface PacerState {
  /** Concurrent registrations allowed (fractional in congestion avoidance; floor is used). */
  readonly window: number;
  /** Growing by one per completed registration (doubling per round) until the first congestion. */
  readonly slowStart: boolean;
  /** When the window was last cut (epoch ms; 0 = never). */
  readonly cutAt: number;
  /** When the window was last changed past slow start (epoch ms; 0 = never). */
  readonly changedAt: number;
}

/** The default tunables for an engine with `maxInFlight` and leases of `leaseDurationSeconds`. */
export function defaultPacerConfig(maxInFlight: number, leaseDurationSeconds: number): PacerConfig {
  const max = Math.max(1, maxInFlight);
  return {
    initialWindow: Math.min(16, max),
    minWindow: Math.min(4, max),
    maxWindow: max,
    targetMs: (leaseDurationSeconds * 1000) / 4 / 2,
    cooldownMs: 5_000,
    sampleMs: 5_000,
    listTargetMs: 1_500,
  };
}

/** The first state. */
export function initialPacerState(cfg: PacerConfig): PacerState {
  return { window: cfg.initialWindow, slowStart: true, cutAt: 0, changedAt: 0 };
}

/** Past slow start, the window grows by this factor per sample period while heartbeats are quick. */
const GROWTH = 1.25;

/**
 * The window after one registration ended at `now`, with `running` registrations still in flight,
 * given the heartbeat latency p99 of the last seconds (undefined: no heartbeat answered yet,
 * nothing to judge by) and the watch cache's pressure ({@link listPressure}; over 1 is lagging).
 */
export function nextWindow(
  state: PacerState,
  heartbeatP99Ms: number | undefined,
  now: number,
  cfg: PacerConfig,
  running = 0,
  watchListPressure = 0,
): PacerState {
  // How far over its target the worse signal is (1 = at it).
  const pressure = Math.max(
    heartbeatP99Ms === undefined ? 0 : heartbeatP99Ms / cfg.targetMs,
    watchListPressure,
  );
  const congested = pressure > 1;
  const cut = (): PacerState => {
    const factor = Math.max(0.5, 1 / pressure);
    const window = Math.max(cfg.minWindow, Math.floor(state.window * factor));
    return { window, slowStart: false, cutAt: now, changedAt: now };
  };
  if (state.slowStart) {
    if (congested) return cut();
    return { ...state, window: Math.min(cfg.maxWindow, state.window + 1) };
  }
  // The samples must all be of the window in force, and a cut must have taken effect.
  if (now - state.changedAt < cfg.cooldownMs || running > Math.floor(state.window)) return state;
  if (congested) return cut();
  if (pressure < 0.5) {
    const window = Math.min(cfg.maxWindow, Math.max(state.window + 1, state.window * GROWTH));
    return { ...state, window, changedAt: now };
  }
  return state;
}

/**
 * The watch cache's pressure from the WatchLists that ended in the last seconds (undefined: none):
 * 1 plus the share that failed when any did (at most 2: the window is halved), else the p90 of
 * their times to the initial list's end over `targetMs`.
 */
export function listPressure(
  lists: readonly { ms: number; ok: boolean }[],
  targetMs: number,
): number | undefined {
  if (lists.length === 0) return undefined;
  let failed = 0;
  const times: number[] = [];
  for (const l of lists) {
    if (l.ok) times.push(l.ms);
    else failed++;
  }
  if (failed > 0) return 1 + failed / lists.length;
  return quantile(times, 0.9)! / targetMs;
}

/** How often the pacer's log samples the window besides at each cut. */
const TRACE_MS = 5_000;

/** `samples` without those taken before `from` (they are in time order). */
function since<S extends { at: number }>(samples: S[], from: number): S[] {
  let drop = 0;
  while (drop < samples.length && samples[drop]!.at < from) drop++;
  return drop > 0 ? samples.slice(drop) : samples;
}

/**
 * Runs registrations under the adaptive window, fed with the latency of every heartbeat (Lease and
 * node status) answered meanwhile.
 */
export class RegistrationPacer {
  private state: PacerState;
  private readonly cfg: PacerConfig;
  private readonly clock: Clock;
  private samples: { at: number; ms: number }[] = [];
  private lists: { at: number; ms: number; ok: boolean }[] = [];
  private cached: { at: number; p99: number | undefined; lists: number | undefined } = {
    at: -Infinity,
    p99: undefined,
    lists: undefined,
  };
  /** The largest window reached (for the log). */
  peakWindow: number;
  /** Cuts on slow heartbeats or a lagging watch cache (for the log). */
  private cuts = 0;
  /**
   * Seconds since the start, window, heartbeat p99 ms, registrations in flight, watch-list
   * pressure: at each cut and every {@link TRACE_MS} (for the log).
   */
  private readonly trace: [number, number, number | null, number, number | null][] = [];
  private startedAt = 0;
  private tracedAt = -Infinity;

  constructor(cfg: PacerConfig, clock: Clock) {
    this.cfg = cfg;
    this.clock = clock;
    this.state = initialPacerState(cfg);
    this.peakWindow = cfg.initialWindow;
  }

  /** The current window (concurrent registrations allowed). */
  get window(): number {
    return Math.floor(this.state.window);
  }

  /** A heartbeat was answered (or failed) after `ms`. */
  heartbeatAnswered(ms: number): void {
    this.samples.push({ at: this.clock.now(), ms });
  }

  /**
   * A WatchList of a registered node ended its initial list after `ms` (`ok`), or failed after
   * `ms` before it (the cache was not fresh in time).
   */
  watchListed(ms: number, ok: boolean): void {
    this.lists.push({ at: this.clock.now(), ms, ok });
  }

  /** The heartbeat latency p99 of the last `sampleMs` (recomputed at most every 250 ms). */
  recentP99(): number | undefined {
    this.refresh();
    return this.cached.p99;
  }

  /** The watch-list pressure of the last `sampleMs` ({@link listPressure}; recomputed at most every 250 ms). */
  recentListPressure(): number | undefined {
    this.refresh();
    return this.cached.lists;
  }

  private refresh(): void {
    const now = this.clock.now();
    if (now - this.cached.at < 250) return;
    const from = now - this.cfg.sampleMs;
    this.samples = since(this.samples, from);
    this.lists = since(this.lists, from);
    this.cached = {
      at: now,
      p99: quantile(
        this.samples.map((s) => s.ms),
        0.99,
      ),
      lists: listPressure(this.lists, this.cfg.listTargetMs),
    };
  }

  /** What the engine logs when registration ends: the windows taken and the heartbeat latency. */
  summary(): {
    peakWindow: number;
    finalWindow: number;
    heartbeatP99Ms: number | undefined;
    cuts: number;
    windows: [number, number, number | null, number, number | null][];
  } {
    return {
      peakWindow: this.peakWindow,
      finalWindow: this.window,
      heartbeatP99Ms: this.recentP99(),
      cuts: this.cuts,
      windows: this.trace,
    };
  }

  /** Records the window after a decision: at every cut, else every {@link TRACE_MS}. */
  private record(cut: boolean, p99: number | undefined, running: number, lists: number | undefined): void {
    const now = this.clock.now();
    if (cut) this.cuts++;
    if (!cut && now - this.tracedAt < TRACE_MS) return;
    this.tracedAt = now;
    this.trace.push([
      Math.round((now - this.startedAt) / 100) / 10,
      this.window,
      p99 ?? null,
      running,
      lists === undefined ? null : Math.round(lists * 100) / 100,
    ]);
  }

  /** Registers every item with `register`, at most {@link window} at once; resolves when all have ended. */
  run<T>(items: readonly T[], register: (item: T) => Promise<void>): Promise<void> {
    this.startedAt = this.clock.now();
    return new Promise((resolve) => {
      let next = 0;
      let running = 0;
      const admit = (): void => {
        while (next < items.length && running < this.window) {
          const item = items[next++] as T;
          running++;
          void register(item)
            .catch(() => undefined)
            .then(() => {
              running--;
              const p99 = this.recentP99();
              const lists = this.recentListPressure();
              const before = this.state;
              this.state = nextWindow(before, p99, this.clock.now(), this.cfg, running, lists);
              this.record(this.state.cutAt !== before.cutAt, p99, running, lists);
              this.peakWindow = Math.max(this.peakWindow, this.window);
              admit();
            });
        }
        if (next >= items.length && running === 0) resolve();
      };
      admit();
    });
  }
}

/**
 * The initial lists of the watches an engine's kubelets open together before they register (a
 * kubelet starts its informers before its status loop registers the Node). The registrations wait
 * for them ({@link OpeningLists.ended}): the kubelets' watches then reach the API server before
 * their Nodes' creations, and meet watch caches that are current. An initial list has ended when it
 * has (or failed before it: its retry is a list of its own); `ended` resolves when every one has,
 * or after `maxMs` whatever is left.
 */
export class OpeningLists {
  private outstanding: number;
  private readonly startedAt: number;
  private readonly clock: Clock;
  private readonly maxMs: number;
  private readonly done: Promise<void>;
  private resolve: () => void = () => undefined;

  /** `lists` initial lists begun at or before `startedAt` (the registrations begin after them). */
  constructor(lists: number, startedAt: number, clock: Clock, maxMs = 30_000) {
    this.outstanding = lists;
    this.startedAt = startedAt;
    this.clock = clock;
    this.maxMs = maxMs;
    this.done = new Promise((r) => (this.resolve = r));
    if (lists <= 0) this.resolve();
  }

  /**
   * An initial list begun at `since` (the clock's reading when it began) ended: whether it was one
   * of these (true) or a later one. Not derived from a later reading of the clock: a list begun in
   * the millisecond the opening began, whose end was reported across a millisecond's turn, would
   * look begun after it and never be counted (the 30 s stall of 2026-12-02).
   */
  listEnded(since: number): boolean {
    if (since > this.startedAt) return false;
    if (--this.outstanding === 0) this.resolve();
    return true;
  }

  /** Resolves when every one of the lists has ended, or after `maxMs`: whether all had (false: time ran out). */
  async ended(): Promise<boolean> {
    const timeout = new AbortController();
    const all = await Promise.race([
      this.done.then(() => true),
      this.clock.sleep(this.maxMs, timeout.signal).then(
        () => false,
        () => true,
      ),
    ]);
    timeout.abort();
    return all;
  }

  /** How many have not ended yet. */
  get pending(): number {
    return Math.max(0, this.outstanding);
  }
}
