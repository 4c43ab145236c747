import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../kernel/clock.ts";
import {
  RegistrationPacer,
  defaultPacerConfig,
  nextPacerState,
  type PacerConfig,
  type PacerObservation,
  type PacerState,
} from "./registration-pacer.ts";

const cfg: PacerConfig = {
  initialWindow: 16,
  minWindow: 4,
  maxWindow: 200,
  targetMs: 2000,
  cooldownMs: 2000,
  sampleMs: 5000,
  epochMs: 1000,
  minGain: 0.25,
  probeFactor: 1.25,
  probeEveryMs: 10_000,
};

test("defaultPacerConfig: 16 at first, the request window at most, a fifth of the renewal period as target", () => {
  assert.deepEqual(defaultPacerConfig(200, 40), cfg);
  assert.deepEqual(defaultPacerConfig(8, 40), { ...cfg, initialWindow: 8, maxWindow: 8 });
  assert.equal(defaultPacerConfig(200, 20).targetMs, 1000);
});

const now = 100_000;

/** A state measuring since 2 s ago with 0 registrations done then; `over` replaces fields. */
function s(over: Partial<PacerState>): PacerState {
  return {
    window: 16,
    phase: "slow-start",
    changedAt: now - 3000,
    changedDone: 0,
    measureAt: now - 2000,
    measureDone: 0,
    baseline: undefined,
    cutAt: 0,
    heldAt: 0,
    rate: 0,
    ...over,
  };
}

/** `done` registrations ended by now (the epoch's rate is done / 2 s), with heartbeats answered in `p99` ms. */
const at = (done: number, p99: number | undefined = 300): PacerObservation => ({
  now,
  done,
  heartbeatP99Ms: p99,
});

test("nextPacerState: doubles while the completion rate rises with the window, holds where it stops", () => {
  const cases: Array<[string, PacerState, PacerObservation, Partial<PacerState>]> = [
    [
      "settling: the old window's registrations are still ending",
      s({ window: 32, changedDone: 100, measureAt: undefined }),
      at(120),
      { window: 32, measureAt: undefined },
    ],
    [
      "a window's worth ended: the measurement starts",
      s({ window: 32, changedDone: 100, measureAt: undefined }),
      at(132),
      { window: 32, measureAt: now, measureDone: 132 },
    ],
    [
      "under the epoch's minimum time: no decision",
      s({ window: 16, measureAt: now - 500 }),
      at(100),
      { window: 16, measureAt: now - 500 },
    ],
    ["fewer completions than the window: no decision", s({ window: 32 }), at(20), { window: 32 }],
    [
      "first epoch: nothing to compare, double",
      s({ window: 16 }),
      at(64),
      {
        window: 32,
        phase: "slow-start",
        baseline: { window: 16, rate: 32 },
        measureAt: undefined,
        changedDone: 64,
      },
    ],
    [
      "the doubled window doubled the rate: double again",
      s({ window: 32, baseline: { window: 16, rate: 32 } }),
      at(128),
      { window: 64, phase: "slow-start", baseline: { window: 32, rate: 64 } },
    ],
    [
      "the doubled window raised the rate 25 %: kept",
      s({ window: 64, baseline: { window: 32, rate: 64 } }),
      at(160),
      { window: 128, phase: "slow-start", baseline: { window: 64, rate: 80 } },
    ],
    [
      "the doubled window raised the rate 20 %: back to the one that paid, hold",
      s({ window: 128, baseline: { window: 64, rate: 80 } }),
      at(192),
      { window: 64, phase: "hold", heldAt: now, baseline: undefined, rate: 96 },
    ],
    [
      "the rate fell: back, hold",
      s({ window: 128, baseline: { window: 64, rate: 80 } }),
      at(140),
      { window: 64, phase: "hold" },
    ],
    [
      "never past the request window",
      s({ window: 150, baseline: { window: 75, rate: 30 } }),
      at(300),
      { window: 200, phase: "slow-start" },
    ],
    [
      "at the request window: hold there",
      s({ window: 200, baseline: { window: 150, rate: 40 } }),
      at(400),
      { window: 200, phase: "hold", heldAt: now, measureAt: now, baseline: { window: 200, rate: 200 } },
    ],
    [
      "holding: the next epoch measures the same window at once",
      s({ window: 64, phase: "hold", heldAt: now - 5000 }),
      at(200),
      { window: 64, phase: "hold", measureAt: now, measureDone: 200, baseline: { window: 64, rate: 100 } },
    ],
    [
      "held long enough: probe a quarter more",
      s({ window: 64, phase: "hold", heldAt: now - 10_000 }),
      at(200),
      { window: 80, phase: "probe", measureAt: undefined, baseline: { window: 64, rate: 100 } },
    ],
    [
      "the probe raised the rate 7 % (a quarter of its 25 %, and more): kept, probe further",
      s({ window: 80, phase: "probe", baseline: { window: 64, rate: 100 } }),
      at(214),
      { window: 100, phase: "probe", baseline: { window: 80, rate: 107 } },
    ],
    [
      "the probe raised the rate 3 %: back, hold",
      s({ window: 80, phase: "probe", baseline: { window: 64, rate: 100 } }),
      at(206),
      { window: 64, phase: "hold", heldAt: now },
    ],
  ];
  for (const [name, state, o, want] of cases) {
    const got = nextPacerState(state, o, cfg);
    for (const [k, v] of Object.entries(want)) {
      assert.deepEqual(got[k as keyof PacerState], v, `${name}: ${k}`);
    }
  }
});

test("nextPacerState: slow heartbeats halve the window whatever the phase, once per cooldown", () => {
  const cases: Array<[string, PacerState, PacerObservation, Partial<PacerState>]> = [
    ["at the target is not over it", s({ window: 16 }), at(64, 2000), { window: 32 }],
    [
      "slow heartbeats in slow start: halve, hold",
      s({ window: 64, baseline: { window: 32, rate: 10 } }),
      at(10, 2500),
      { window: 32, phase: "hold", cutAt: now, heldAt: now, baseline: undefined, measureAt: undefined },
    ],
    ["never under the floor", s({ window: 6, phase: "hold" }), at(10, 2500), { window: 4, cutAt: now }],
    [
      "within the cooldown: unchanged",
      s({ window: 32, phase: "hold", cutAt: now - 1000 }),
      at(500, 9000),
      { window: 32, cutAt: now - 1000 },
    ],
    [
      "after the cooldown: halve again",
      s({ window: 32, phase: "probe", cutAt: now - 2000 }),
      at(500, 9000),
      { window: 16, phase: "hold", cutAt: now },
    ],
    [
      "no heartbeat answered yet: judged by the rate alone",
      s({ window: 16 }),
      at(64, undefined),
      { window: 32 },
    ],
  ];
  for (const [name, state, o, want] of cases) {
    const got = nextPacerState(state, o, cfg);
    for (const [k, v] of Object.entries(want)) {
      assert.deepEqual(got[k as keyof PacerState], v, `${name}: ${k}`);
    }
  }
});

/**
 * Registrations against a fake API server that completes at most `capacity` per second and answers
 * one alone in `baseMs`: a registration admitted with n in flight takes max(baseMs, n / capacity).
 */
function fakeServer(
  clock: FakeClock,
  baseMs: number,
  capacity: number,
): { register: () => Promise<void>; peak: () => number } {
  let running = 0;
  let peak = 0;
  return {
    register: async () => {
      running++;
      peak = Math.max(peak, running);
      await clock.sleep(Math.max(baseMs, (running * 1000) / capacity));
      running--;
    },
    peak: () => peak,
  };
}

/** Runs `n` registrations through `pacer`, answering a heartbeat in `heartbeatMs` every 100 ms. */
async function drive(
  clock: FakeClock,
  pacer: RegistrationPacer,
  n: number,
  register: () => Promise<void>,
  heartbeatMs: number,
): Promise<number> {
  const t0 = clock.now();
  let done = false;
  const run = pacer.run(Array.from({ length: n }), register).then(() => (done = true));
  for (let i = 0; i < 100_000 && !done; i++) {
    pacer.heartbeatAnswered(heartbeatMs);
    await clock.advance(100);
  }
  await run;
  return (clock.now() - t0) / 1000;
}

test("RegistrationPacer: with quick heartbeats and a server that keeps up, the window opens past any fixed worker count", async () => {
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  const regs = fakeServer(clock, 100, 100_000);
  await drive(clock, pacer, 5000, regs.register, 50);
  assert.ok(regs.peak() > 64, `peak ${regs.peak()} concurrent registrations`);
  assert.ok(regs.peak() <= cfg.maxWindow);
  assert.equal(pacer.peakWindow, regs.peak());
});

test("RegistrationPacer: stops growing where the completion rate stops rising (quick heartbeats)", async () => {
  // 100 registrations/s at most, 0.5 s each alone: more than 50 at once only queue.
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  const regs = fakeServer(clock, 500, 100);
  const seconds = await drive(clock, pacer, 5000, regs.register, 50);
  const summary = pacer.summary();
  assert.ok(pacer.peakWindow <= 128, `peak window ${pacer.peakWindow}: grew past the knee (50) to the cap`);
  assert.ok(pacer.window >= 50 && pacer.window <= 100, `held at ${pacer.window}, the knee is 50`);
  assert.ok(seconds < 5000 / 100 + 10, `${seconds} s for 5,000 at 100/s: the server was kept busy`);
  assert.equal(summary.cuts, 0);
  assert.equal(summary.windows[0]?.[1], 32, "first change: doubled");
});

test("RegistrationPacer: slow heartbeats shrink the window: fewer new nodes while those up are served", async () => {
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  const regs = fakeServer(clock, 100, 100_000);
  await drive(clock, pacer, 300, regs.register, 5000);
  assert.equal(pacer.window, cfg.minWindow);
  assert.equal(pacer.peakWindow, 16, "it never grew");
  assert.equal(regs.peak(), 16);
  assert.ok(pacer.summary().cuts >= 2);
});

test("RegistrationPacer: failed registrations free their place; an empty list resolves at once", async () => {
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  let calls = 0;
  await pacer.run([1, 2, 3], () => {
    calls++;
    return Promise.reject(new Error("refused"));
  });
  assert.equal(calls, 3);
  await pacer.run([], () => Promise.resolve());
});

test("RegistrationPacer: only the last seconds' heartbeats count", async () => {
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  assert.equal(pacer.recentP99(), undefined);
  pacer.heartbeatAnswered(9000);
  await clock.advance(1000);
  for (let i = 0; i < 99; i++) pacer.heartbeatAnswered(100);
  assert.equal(pacer.recentP99(), 100, "99 quick and one slow: the p99 is quick");
  pacer.heartbeatAnswered(9000);
  await clock.advance(300);
  assert.equal(pacer.recentP99(), 9000);
  await clock.advance(6000);
  assert.equal(pacer.recentP99(), undefined, "all older than 5 s");
});
