import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../kernel/clock.ts";
import {
  RegistrationPacer,
  defaultPacerConfig,
  nextWindow,
  type PacerConfig,
  type PacerState,
} from "./registration-pacer.ts";

const cfg: PacerConfig = {
  initialWindow: 16,
  minWindow: 4,
  maxWindow: 200,
  targetMs: 2000,
  cooldownMs: 5000,
  probeMs: 10000,
  sampleMs: 5000,
};

test("defaultPacerConfig: 16 at first, the request window at most, a fifth of the renewal period as target", () => {
  assert.deepEqual(defaultPacerConfig(200, 40), cfg);
  assert.deepEqual(defaultPacerConfig(8, 40), { ...cfg, initialWindow: 8, maxWindow: 8 });
  assert.equal(defaultPacerConfig(200, 20).targetMs, 1000);
});

test("nextWindow: slow start while heartbeats are quick; halved when they are not, once the last halving took effect; then held, probed", () => {
  const s = (window: number, o: Partial<PacerState> = {}): PacerState => ({
    window,
    slowStart: false,
    cutAt: 0,
    settledAt: 0,
    probedAt: 0,
    ...o,
  });
  const now = 100_000;
  const slow = (window: number): PacerState => s(window, { slowStart: true });
  const cases: Array<[string, PacerState, number | undefined, number, PacerState]> = [
    ["slow start, no heartbeat yet: +1", slow(16), undefined, 10, slow(17)],
    ["slow start, quick heartbeats: +1", slow(16), 300, 15, slow(17)],
    ["at the target is not over it", slow(16), 2000, 15, slow(17)],
    ["never past the request window", slow(200), 300, 199, slow(200)],
    [
      "slow heartbeats: halve, leave slow start; 64 in flight: not yet in effect",
      slow(128),
      2500,
      64,
      s(64, { cutAt: now, settledAt: now }),
    ],
    [
      "slow heartbeats: halve; 127 in flight: the halving takes effect later",
      slow(128),
      2500,
      127,
      s(64, { cutAt: now, settledAt: undefined }),
    ],
    [
      "never under the floor",
      s(6, { cutAt: 1, settledAt: 1 }),
      2500,
      3,
      s(4, { cutAt: now, settledAt: now }),
    ],
    // What the previous pacer did not do: it halved again 2 s after a halving whatever was in
    // flight (collapsing to the floor on samples of the old window) and grew back 1/window per registration.
    [
      "more in flight than the window: the halving is not in effect yet, no other",
      s(64, { cutAt: now - 60_000, settledAt: undefined }),
      9000,
      65,
      s(64, { cutAt: now - 60_000, settledAt: undefined }),
    ],
    [
      "in flight fell to the window: in effect from now, the samples cool down",
      s(64, { cutAt: now - 60_000, settledAt: undefined }),
      9000,
      64,
      s(64, { cutAt: now - 60_000, settledAt: now }),
    ],
    [
      "in effect for less than the cooldown: unchanged",
      s(64, { cutAt: now - 60_000, settledAt: now - 4999 }),
      9000,
      10,
      s(64, { cutAt: now - 60_000, settledAt: now - 4999 }),
    ],
    [
      "in effect for the cooldown, still slow: halve again",
      s(64, { cutAt: now - 60_000, settledAt: now - 5000 }),
      9000,
      10,
      s(32, { cutAt: now, settledAt: now }),
    ],
    [
      "past the first halving, quick heartbeats: held (no growth back into the overload)",
      s(20, { cutAt: now - 1000, settledAt: now - 1000 }),
      300,
      15,
      s(20, { cutAt: now - 1000, settledAt: now - 1000 }),
    ],
    [
      "10 s of quick heartbeats since the halving took effect: probe an eighth more",
      s(32, { cutAt: now - 12_000, settledAt: now - 10_000 }),
      300,
      30,
      s(36, { cutAt: now - 12_000, settledAt: now - 10_000, probedAt: now }),
    ],
    [
      "a probe 9 s ago: held",
      s(36, { cutAt: now - 30_000, settledAt: now - 30_000, probedAt: now - 9000 }),
      300,
      30,
      s(36, { cutAt: now - 30_000, settledAt: now - 30_000, probedAt: now - 9000 }),
    ],
    [
      "a small window probes one more",
      s(4, { cutAt: now - 30_000, settledAt: now - 30_000, probedAt: now - 10_000 }),
      300,
      3,
      s(5, { cutAt: now - 30_000, settledAt: now - 30_000, probedAt: now }),
    ],
    [
      "probes never pass the request window",
      s(200, { cutAt: now - 30_000, settledAt: now - 30_000, probedAt: now - 10_000 }),
      300,
      3,
      s(200, { cutAt: now - 30_000, settledAt: now - 30_000, probedAt: now - 10_000 }),
    ],
  ];
  for (const [name, state, heartbeatP99Ms, running, want] of cases) {
    assert.deepEqual(nextWindow(state, { heartbeatP99Ms, running }, now, cfg), want, name);
  }
});

/** Registrations that take `ms` each on the fake clock; records the most at once. */
function fakeRegistrations(
  clock: FakeClock,
  ms: number,
): { register: () => Promise<void>; peak: () => number } {
  let running = 0;
  let peak = 0;
  return {
    register: async () => {
      running++;
      peak = Math.max(peak, running);
      await clock.sleep(ms);
      running--;
    },
    peak: () => peak,
  };
}

test("RegistrationPacer: with quick heartbeats the window opens past any fixed worker count", async () => {
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  const regs = fakeRegistrations(clock, 100);
  let done = false;
  const run = pacer.run(Array.from({ length: 1000 }), regs.register).then(() => (done = true));
  for (let i = 0; i < 100 && !done; i++) {
    pacer.heartbeatAnswered(50);
    await clock.advance(100);
  }
  await run;
  assert.ok(regs.peak() > 64, `peak ${regs.peak()} concurrent registrations`);
  assert.ok(regs.peak() <= cfg.maxWindow);
  assert.equal(pacer.peakWindow, regs.peak());
});

test("RegistrationPacer: slow heartbeats shrink the window: fewer new nodes while those up are served", async () => {
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  const regs = fakeRegistrations(clock, 100);
  let done = false;
  const run = pacer.run(Array.from({ length: 3000 }), regs.register).then(() => (done = true));
  for (let i = 0; i < 3000 && !done; i++) {
    pacer.heartbeatAnswered(5000);
    await clock.advance(100);
  }
  await run;
  assert.equal(pacer.window, cfg.minWindow);
  assert.equal(pacer.peakWindow, 16, "it never grew");
  assert.equal(regs.peak(), 16);
});

test("RegistrationPacer: where heartbeats slow with the registrations in flight, the window holds near the knee instead of collapsing", async () => {
  const clock = new FakeClock();
  // The engine's defaults for 40 s Leases and a request window of 200.
  const pacer = new RegistrationPacer(defaultPacerConfig(200, 40), clock);
  // An API server that answers a heartbeat in 30 ms per registration in flight: over the 2 s
  // target past 66. The previous pacer halved every 2 s on samples of the old window, down to 8,
  // and grew back into the overload (128 -> 8 -> 66 -> 8 ...); this one halves once the last
  // halving shows, then holds.
  let running = 0;
  const register = async (): Promise<void> => {
    running++;
    await clock.sleep(500);
    running--;
  };
  let done = false;
  const run = pacer.run(Array.from({ length: 6000 }), register).then(() => (done = true));
  const windows: number[] = [];
  for (let i = 0; i < 3000 && !done; i++) {
    for (let k = 0; k < 10; k++) pacer.heartbeatAnswered(30 * running);
    await clock.advance(100);
    windows.push(pacer.window);
  }
  await run;
  const firstCut = windows.findIndex((w, i) => i > 0 && w < windows[i - 1]!);
  assert.ok(firstCut > 0, "the window was halved");
  const later = windows.slice(firstCut + 100);
  assert.ok(Math.min(...later) >= 24, `from 10 s after the first halving: ${later.join(" ")}`);
  assert.ok(Math.max(...later) <= 80, `no growth back past the knee: ${later.join(" ")}`);
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

test("RegistrationPacer.summary: each cut is counted and traced with the heartbeat p99 and the registrations in flight", async () => {
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  const regs = fakeRegistrations(clock, 1000);
  let done = false;
  const run = pacer.run(Array.from({ length: 600 }), regs.register).then(() => (done = true));
  for (let i = 0; i < 10000 && !done; i++) {
    pacer.heartbeatAnswered(i < 3 ? 50 : 5000);
    await clock.advance(100);
  }
  await run;
  const s = pacer.summary();
  assert.ok(s.cuts >= 2, `${s.cuts} cuts`);
  const slow = s.windows.filter(([, , p99]) => p99 !== null && p99 > cfg.targetMs);
  assert.ok(slow.length >= s.cuts, JSON.stringify(s.windows));
  assert.equal(s.finalWindow, cfg.minWindow);
  for (const [t, window, , running] of s.windows) {
    assert.ok(t >= 0 && window >= cfg.minWindow && running >= 0, JSON.stringify(s.windows));
  }
});
