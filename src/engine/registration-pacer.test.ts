import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../kernel/clock.ts";
import {
  OpeningLists,
  RegistrationPacer,
  defaultPacerConfig,
  listPressure,
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
  sampleMs: 5000,
  listTargetMs: 1500,
};

test("defaultPacerConfig: 16 at first, the request window at most, half the renewal period as target", () => {
  assert.deepEqual(defaultPacerConfig(200, 40), { ...cfg, targetMs: 5000 });
  assert.deepEqual(defaultPacerConfig(8, 40), { ...cfg, targetMs: 5000, initialWindow: 8, maxWindow: 8 });
  assert.equal(defaultPacerConfig(200, 20).targetMs, 2500);
});

test("nextWindow: slow start while heartbeats are quick, then once per sample period on the window in force", () => {
  const now = 100_000;
  const s = (window: number, slowStart: boolean, cutAt = 0, changedAt = cutAt): PacerState => ({
    window,
    slowStart,
    cutAt,
    changedAt,
  });
  const settled = now - 5000;
  const cases: Array<[string, PacerState, number | undefined, number, PacerState]> = [
    ["slow start, no heartbeat yet: +1", s(16, true), undefined, 16, s(17, true)],
    ["slow start, quick heartbeats: +1", s(16, true), 300, 16, s(17, true)],
    ["at the target is not over it", s(16, true), 2000, 16, s(17, true)],
    ["never past the request window", s(200, true), 300, 200, s(200, true)],
    [
      "slow heartbeats end slow start: cut in proportion (2,500/2,000)",
      s(64, true),
      2500,
      64,
      s(51, false, now),
    ],
    ["far over the target: at most halved", s(64, true), 9000, 64, s(32, false, now)],
    ["never under the floor", s(6, false, settled), 9000, 0, s(4, false, now)],
    [
      "within the sample period after a change: unchanged",
      s(32, false, now - 4000),
      9000,
      0,
      s(32, false, now - 4000),
    ],
    [
      "a cut not yet in effect (more in flight): unchanged",
      s(32, false, settled),
      9000,
      40,
      s(32, false, settled),
    ],
    ["in effect and still slow: cut again", s(32, false, settled), 9000, 32, s(16, false, now)],
    [
      "quick (under half the target): a quarter more",
      s(32, false, settled),
      900,
      30,
      s(40, false, settled, now),
    ],
    ["small windows grow by one at least", s(4, false, settled), 900, 4, s(5, false, settled, now)],
    ["between half the target and the target: held", s(32, false, settled), 1500, 30, s(32, false, settled)],
    ["no samples past slow start: grow", s(32, false, settled), undefined, 0, s(40, false, settled, now)],
    ["growth stops at the request window", s(190, false, settled), 900, 10, s(200, false, settled, now)],
  ];
  for (const [name, state, p99, running, want] of cases) {
    const got = nextWindow(state, p99, now, cfg, running);
    assert.equal(got.slowStart, want.slowStart, name);
    assert.equal(got.cutAt, want.cutAt, name);
    assert.equal(got.changedAt, want.changedAt, name);
    assert.ok(Math.abs(got.window - want.window) < 1e-9, `${name}: ${got.window} != ${want.window}`);
  }
});

/** Registrations that take `ms` each on the fake clock; records the most at once. */
function fakeRegistrations(
  clock: FakeClock,
  ms: number,
): { register: () => Promise<void>; peak: () => number; running: () => number } {
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
    running: () => running,
  };
}

/**
 * Runs `n` of `regs` under `pacer`, answering one heartbeat after `heartbeatMs(tick)` every 100 ms of
 * the fake clock until all have ended.
 */
async function runPaced(
  pacer: RegistrationPacer,
  clock: FakeClock,
  regs: { register: () => Promise<void> },
  n: number,
  heartbeatMs: (tick: number) => number,
): Promise<void> {
  let done = false;
  const run = pacer.run(Array.from({ length: n }), regs.register).then(() => (done = true));
  for (let i = 0; !done; i++) {
    pacer.heartbeatAnswered(heartbeatMs(i));
    await clock.advance(100);
  }
  await run;
}

test("RegistrationPacer: with quick heartbeats the window opens past any fixed worker count", async () => {
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  const regs = fakeRegistrations(clock, 100);
  await runPaced(pacer, clock, regs, 1000, () => 50);
  assert.ok(regs.peak() > 64, `peak ${regs.peak()} concurrent registrations`);
  assert.ok(regs.peak() <= cfg.maxWindow);
  assert.equal(pacer.peakWindow, regs.peak());
});

test("RegistrationPacer: slow heartbeats shrink the window: fewer new nodes while those up are served", async () => {
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  const regs = fakeRegistrations(clock, 100);
  await runPaced(pacer, clock, regs, 1000, () => 5000);
  assert.equal(pacer.window, cfg.minWindow);
  assert.equal(pacer.peakWindow, 16, "it never grew");
  assert.equal(regs.peak(), 16);
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
  const regs = fakeRegistrations(clock, 100);
  await runPaced(pacer, clock, regs, 10_000, (i) => (i < 3 ? 50 : 5000));
  const s = pacer.summary();
  assert.ok(s.cuts >= 2, `${s.cuts} cuts`);
  const slow = s.windows.filter(([, , p99]) => p99 !== null && p99 > cfg.targetMs);
  assert.ok(slow.length >= s.cuts, JSON.stringify(s.windows));
  assert.equal(s.finalWindow, cfg.minWindow);
  for (const [t, window, , running] of s.windows) {
    assert.ok(t >= 0 && window >= cfg.minWindow && running >= 0, JSON.stringify(s.windows));
  }
});

test("RegistrationPacer: on a server whose heartbeats slow with the registrations in flight it settles near the target, not at the floor", async () => {
  // Heartbeats take 500 ms plus 40 ms per registration in flight: the target (2 s) is met at 37.
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  const regs = fakeRegistrations(clock, 1000);
  const windows: number[] = [];
  await runPaced(pacer, clock, regs, 3000, (i) => {
    if (i % 10 === 0) windows.push(pacer.window);
    return 500 + 40 * regs.running();
  });
  const later = windows.slice(20); // after the first 20 s
  assert.ok(later.length > 20, `${later.length} samples`);
  assert.ok(Math.min(...later) >= 16, `never down near the floor: ${later.join(",")}`);
  assert.ok(Math.max(...later) <= 64, `never far past the target: ${later.join(",")}`);
});

test("listPressure: none without lists; 1 plus the failed share when any failed; else the p90 time over the target", () => {
  assert.equal(listPressure([], 1500), undefined);
  const ok = (ms: number): { ms: number; ok: boolean } => ({ ms, ok: true });
  const quick = Array.from({ length: 10 }, (_, i) => ok(100 + i * 10));
  assert.equal(listPressure(quick, 1500), 180 / 1500, "p90 of 100..190 is 180");
  assert.equal(listPressure([...quick.slice(0, 9), { ms: 3000, ok: false }], 1500), 1.1);
  assert.equal(listPressure([{ ms: 3000, ok: false }], 1500), 2);
});

test("nextWindow: a lagging watch cache cuts as slow heartbeats do; growth needs both quick", () => {
  const now = 100_000;
  const settled: PacerState = { window: 64, slowStart: false, cutAt: now - 6000, changedAt: now - 6000 };
  assert.equal(nextWindow(settled, 300, now, cfg, 0, 2).window, 32, "every list failed: halved");
  assert.equal(nextWindow(settled, 300, now, cfg, 0, 1.25).window, 51, "a fifth failed: cut by 1/1.25");
  assert.equal(
    nextWindow(settled, 300, now, cfg, 0, 0.6).window,
    64,
    "lists slowish, heartbeats quick: held",
  );
  assert.equal(nextWindow(settled, 300, now, cfg, 0, 0.2).window, 80, "both quick: grown by a quarter");
  assert.equal(
    nextWindow({ ...settled, slowStart: true }, 300, now, cfg, 0, 1.5).slowStart,
    false,
    "ends slow start",
  );
});

test("RegistrationPacer: WatchLists failing while heartbeats are quick keep the window at the floor", async () => {
  const clock = new FakeClock();
  const pacer = new RegistrationPacer(cfg, clock);
  const regs = fakeRegistrations(clock, 100);
  await runPaced(pacer, clock, regs, 1000, () => {
    pacer.watchListed(3000, false);
    return 50;
  });
  assert.equal(pacer.window, cfg.minWindow);
  assert.equal(pacer.peakWindow, 16, "it never grew");
  const traced = pacer.summary().windows;
  assert.ok(
    traced.every(([, , , , lists]) => lists === null || lists >= 1),
    JSON.stringify(traced),
  );
});

test("the kubelets' opening lists: registrations wait until each has ended (or failed), later lists are not theirs", async () => {
  const clock = new FakeClock(1000);
  // 3 initial lists begun at t=1000, just before the registrations would.
  const lists = new OpeningLists(3, 1000, clock);
  let ended: boolean | undefined;
  void lists.ended().then((all) => (ended = all));
  await clock.advance(800);
  assert.equal(lists.listEnded(1000), true, "one of them, begun in the opening's very millisecond");
  assert.equal(lists.listEnded(1500), false, "a list begun later (a retry) is not one of them");
  assert.equal(lists.listEnded(999), true, "one failed before its end: it has ended too");
  await clock.advance(200);
  assert.equal(ended, undefined, "one still listing");
  assert.equal(lists.pending, 1);
  assert.equal(lists.listEnded(1000), true);
  await clock.advance(0);
  assert.equal(ended, true);
});

test("the opening lists stop holding the registrations back after their time limit; none at all hold nothing", async () => {
  const clock = new FakeClock(0);
  const lists = new OpeningLists(5, 0, clock, 30_000);
  let ended: boolean | undefined;
  void lists.ended().then((all) => (ended = all));
  lists.listEnded(0);
  await clock.advance(29_999);
  assert.equal(ended, undefined);
  await clock.advance(1);
  assert.equal(ended, false, "time ran out with lists pending");
  assert.equal(lists.pending, 4);
  assert.equal(await new OpeningLists(0, 0, clock).ended(), true, "minimal traffic: no list to wait for");
});
