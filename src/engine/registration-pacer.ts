/**
 * How fast a starting engine admits nodes to registration. Kubelets have no such limit: each starts
 * when its machine does, and the API server's queues pace them. An engine starting thousands at
 * once must pace them itself, and the pace that matters is the API server's: new nodes are
 * admitted as fast as it completes registrations while the heartbeats of the nodes already up stay
 * quick (none may miss its Lease during start-up).
 *
 * The window of concurrent registrations is found by climbing the completion rate: it doubles
 * (slow start) while each doubling raises the registrations completed per second, and goes back
 * to the last window that paid once it does not (past that point more concurrent registrations
 * only queue in the API server, slowing the heartbeats for nothing). It then holds, and every few
 * seconds tries a quarter more, kept only if the rate rises with it. Whatever the phase, the
 * window halves (at most once per cooldown) when the recent heartbeat latency p99 passes a target.
 * Rates are measured per epoch: after a change, once the registrations in flight have turned
 * over, for at least a window's worth of completions and a minimum time.
 * {@link nextPacerState} is the pure decision; {@link RegistrationPacer} keeps the samples and
 * runs the registrations.
 */
import type { Clock } from "../kernel/clock.ts";

/** The pacer's tunables; the defaults are documented on each. */
export interface PacerConfig {
  /** Concurrent registrations at the start (default 16). */
  readonly initialWindow: number;
  /** Never fewer than this (default 4). */
  readonly minWindow: number;
  /** Never more (default: the engine's request window, `--max-in-flight`: each registration has one request in flight). */
  readonly maxWindow: number;
  /**
   * Heartbeat latency p99 above which the API server counts as saturated (default a fifth of the
   * Lease renewal period: 2 s of 10 s; a renewal that slow is still 28 s from a missed Lease).
   */
  readonly targetMs: number;
  /** After a halving, no other for this long: the samples still show the old window (default 2 s). */
  readonly cooldownMs: number;
  /** Heartbeat latencies older than this are forgotten (default 5 s). */
  readonly sampleMs: number;
  /** An epoch's rate is measured over at least this long (default 1 s) and a window's worth of completions. */
  readonly epochMs: number;
  /**
   * The share of a window's growth that must show as growth of the completion rate for the larger
   * window to be kept (default 0.25: a doubled window must complete 25 % more registrations per
   * second, a quarter more window 6.25 % more).
   */
  readonly minGain: number;
  /** Growth of a probe from a held window (default 1.25, at least one more). */
  readonly probeFactor: number;
  /** A held window is probed upwards after this long (default 10 s). */
  readonly probeEveryMs: number;
}

/** Doubling while the rate rises, probing a held window upwards, or holding. */
export type PacerPhase = "slow-start" | "probe" | "hold";

/** The pacer's state between decisions. */
export interface PacerState {
  /** Concurrent registrations allowed. */
  readonly window: number;
  readonly phase: PacerPhase;
  /** When the window last changed, and how many registrations had ended by then. */
  readonly changedAt: number;
  readonly changedDone: number;
  /** When this epoch's measurement began (the registrations in flight at the change had turned over); undefined before. */
  readonly measureAt: number | undefined;
  readonly measureDone: number;
  /** The window this one is compared with, and its completion rate (per second); undefined: nothing to compare. */
  readonly baseline: { readonly window: number; readonly rate: number } | undefined;
  /** When the window was last halved (epoch ms; 0 = never). */
  readonly cutAt: number;
  /** When the current hold began. */
  readonly heldAt: number;
  /** The last epoch's completion rate (per second; 0 before the first). */
  readonly rate: number;
}

/** What the pacer knows when a registration ends. */
export interface PacerObservation {
  readonly now: number;
  /** Registrations ended so far. */
  readonly done: number;
  /** Heartbeat latency p99 of the last seconds (undefined: no heartbeat answered yet, nothing to judge by). */
  readonly heartbeatP99Ms: number | undefined;
}

/** The default tunables for an engine with `maxInFlight` and leases of `leaseDurationSeconds`. */
export function defaultPacerConfig(maxInFlight: number, leaseDurationSeconds: number): PacerConfig {
  const max = Math.max(1, maxInFlight);
  return {
    initialWindow: Math.min(16, max),
    minWindow: Math.min(4, max),
    maxWindow: max,
    targetMs: (leaseDurationSeconds * 1000) / 4 / 5,
    cooldownMs: 2_000,
    sampleMs: 5_000,
    epochMs: 1_000,
    minGain: 0.25,
    probeFactor: 1.25,
    probeEveryMs: 10_000,
  };
}

/** The first state, at `now`. */
export function initialPacerState(cfg: PacerConfig, now: number): PacerState {
  return {
    window: cfg.initialWindow,
    phase: "slow-start",
    changedAt: now,
    changedDone: 0,
    measureAt: undefined,
    measureDone: 0,
    baseline: undefined,
    cutAt: 0,
    heldAt: now,
    rate: 0,
  };
}

/** `state` with the window set to `window` in `phase` at `o`: a new epoch that first lets the old window's registrations end. */
function changed(state: PacerState, window: number, phase: PacerPhase, o: PacerObservation): PacerState {
  return { ...state, window, phase, changedAt: o.now, changedDone: o.done, measureAt: undefined };
}

/** The decision at the end of an epoch that completed `rate` registrations per second at `state.window`. */
function afterEpoch(state: PacerState, rate: number, o: PacerObservation, cfg: PacerConfig): PacerState {
  const w = state.window;
  const measured = { ...state, rate };
  if (state.phase === "hold") {
    const probe = Math.min(cfg.maxWindow, Math.max(w + 1, Math.round(w * cfg.probeFactor)));
    if (o.now - state.heldAt >= cfg.probeEveryMs && probe > w) {
      return { ...changed(measured, probe, "probe", o), baseline: { window: w, rate } };
    }
    // Same window: the next epoch measures at once.
    return { ...measured, baseline: { window: w, rate }, measureAt: o.now, measureDone: o.done };
  }
  const b = state.baseline;
  const rose = b === undefined || rate >= b.rate * (1 + cfg.minGain * (w / b.window - 1));
  if (!rose) {
    // The larger window only queued: back to the one that paid, and hold there.
    return { ...changed(measured, b.window, "hold", o), baseline: undefined, heldAt: o.now };
  }
  const grown = state.phase === "slow-start" ? w * 2 : Math.max(w + 1, Math.round(w * cfg.probeFactor));
  const next = Math.min(cfg.maxWindow, grown);
  if (next <= w) {
    return {
      ...measured,
      phase: "hold",
      heldAt: o.now,
      baseline: { window: w, rate },
      measureAt: o.now,
      measureDone: o.done,
    };
  }
  return { ...changed(measured, next, state.phase, o), baseline: { window: w, rate } };
}

/** The pacer's state after a registration ended, as `o` describes the moment. */
export function nextPacerState(state: PacerState, o: PacerObservation, cfg: PacerConfig): PacerState {
  if (o.heartbeatP99Ms !== undefined && o.heartbeatP99Ms > cfg.targetMs) {
    if (o.now - state.cutAt < cfg.cooldownMs) return state;
    const halved = Math.max(cfg.minWindow, Math.floor(state.window / 2));
    return { ...changed(state, halved, "hold", o), baseline: undefined, cutAt: o.now, heldAt: o.now };
  }
  if (state.measureAt === undefined) {
    // The registrations admitted under the previous window are still ending: not this window's rate.
    if (o.done - state.changedDone < state.window) return state;
    return { ...state, measureAt: o.now, measureDone: o.done };
  }
  const completed = o.done - state.measureDone;
  const elapsed = o.now - state.measureAt;
  if (completed < state.window || elapsed < cfg.epochMs) return state;
  return afterEpoch(state, (completed * 1000) / elapsed, o, cfg);
}

/** Nearest-rank p99 of `values` (undefined when empty); sorts `values`. */
function p99(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.ceil(values.length * 0.99) - 1)];
}

/** What the pacer did, for the engine's log: the windows it tried and the rates they completed. */
export interface PacerSummary {
  peakWindow: number;
  finalWindow: number;
  heartbeatP99Ms: number | undefined;
  /** Halvings for slow heartbeats. */
  cuts: number;
  /** Each window change: seconds since the start, the new window, the rate (per second) measured before it. */
  windows: Array<[number, number, number]>;
}

/** Most window changes kept for the summary (a 5,000-node start-up makes a few dozen). */
const MAX_HISTORY = 200;

/**
 * Runs registrations under the adaptive window, fed with the latency of every heartbeat (Lease and
 * node status) answered meanwhile.
 */
export class RegistrationPacer {
  private state: PacerState;
  private readonly cfg: PacerConfig;
  private readonly clock: Clock;
  private readonly startedAt: number;
  private samples: { at: number; ms: number }[] = [];
  private cached: { at: number; p99: number | undefined } = { at: -Infinity, p99: undefined };
  private cuts = 0;
  private readonly history: Array<[number, number, number]> = [];
  /** The largest window reached (for the log). */
  peakWindow: number;

  constructor(cfg: PacerConfig, clock: Clock) {
    this.cfg = cfg;
    this.clock = clock;
    this.startedAt = clock.now();
    this.state = initialPacerState(cfg, this.startedAt);
    this.peakWindow = cfg.initialWindow;
  }

  /** The current window (concurrent registrations allowed). */
  get window(): number {
    return this.state.window;
  }

  /** A heartbeat was answered (or failed) after `ms`. */
  heartbeatAnswered(ms: number): void {
    this.samples.push({ at: this.clock.now(), ms });
  }

  /** The heartbeat latency p99 of the last `sampleMs` (recomputed at most every 250 ms). */
  recentP99(): number | undefined {
    const now = this.clock.now();
    if (now - this.cached.at < 250) return this.cached.p99;
    const from = now - this.cfg.sampleMs;
    let drop = 0;
    while (drop < this.samples.length && this.samples[drop]!.at < from) drop++;
    if (drop > 0) this.samples = this.samples.slice(drop);
    this.cached = { at: now, p99: p99(this.samples.map((s) => s.ms)) };
    return this.cached.p99;
  }

  /** What the pacer did so far. */
  summary(): PacerSummary {
    return {
      peakWindow: this.peakWindow,
      finalWindow: this.window,
      heartbeatP99Ms: this.recentP99(),
      cuts: this.cuts,
      windows: this.history,
    };
  }

  /** One registration ended, the `done`-th: decide the window. */
  private ended(done: number): void {
    const before = this.state;
    const now = this.clock.now();
    this.state = nextPacerState(before, { now, done, heartbeatP99Ms: this.recentP99() }, this.cfg);
    if (this.state.window === before.window) return;
    if (this.state.cutAt !== before.cutAt) this.cuts++;
    this.peakWindow = Math.max(this.peakWindow, this.window);
    if (this.history.length < MAX_HISTORY) {
      const rate = Math.round(this.state.rate * 10) / 10;
      this.history.push([Math.round((now - this.startedAt) / 100) / 10, this.window, rate]);
    }
  }

  /** Registers every item with `register`, at most {@link window} at once; resolves when all have ended. */
  run<T>(items: readonly T[], register: (item: T) => Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      let next = 0;
      let running = 0;
      let done = 0;
      const admit = (): void => {
        while (next < items.length && running < this.window) {
          const item = items[next++] as T;
          running++;
          void register(item)
            .catch(() => undefined)
            .then(() => {
              running--;
              this.ended(++done);
              admit();
            });
        }
        if (next >= items.length && running === 0) resolve();
      };
      admit();
    });
  }
}
