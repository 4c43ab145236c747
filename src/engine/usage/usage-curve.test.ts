import { test } from "node:test";
import assert from "node:assert/strict";
import { curveAt, curveIntegral, seedOf, type UsageCurve } from "./usage-curve.ts";

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);

const curves: Array<[string, UsageCurve]> = [
  ["const", { kind: "const", lo: 250, hi: 250, periodMs: 0, duty: 0, noiseAmp: 0, noiseStepMs: 15_000 }],
  [
    "const+noise",
    { kind: "const", lo: 100, hi: 100, periodMs: 0, duty: 0, noiseAmp: 10, noiseStepMs: 15_000 },
  ],
  ["sine", { kind: "sine", lo: 100, hi: 900, periodMs: 600_000, duty: 0, noiseAmp: 0, noiseStepMs: 15_000 }],
  [
    "sine+noise",
    { kind: "sine", lo: 100, hi: 900, periodMs: 600_000, duty: 0, noiseAmp: 30, noiseStepMs: 15_000 },
  ],
  [
    "square",
    { kind: "square", lo: 100, hi: 900, periodMs: 120_000, duty: 0.25, noiseAmp: 0, noiseStepMs: 15_000 },
  ],
  [
    "square+noise",
    { kind: "square", lo: 100, hi: 900, periodMs: 120_000, duty: 0.5, noiseAmp: 5, noiseStepMs: 7_000 },
  ],
];

/** The integral by summing the rate over 1 ms steps (exact for the step-wise parts, close for the sine). */
function numeric(c: UsageCurve, seed: number, s: number, t: number): number {
  let sum = 0;
  for (let x = s; x < t; x++) sum += curveAt(c, seed, x + 0.5);
  return sum;
}

test("curveIntegral agrees with the rate summed over time, from any start to any end", () => {
  const seed = seedOf("uid-1/app");
  for (const [name, c] of curves) {
    for (const [s, t] of [
      [T0 + 1234, T0 + 1234 + 45_678],
      [T0 - 7_777, T0 + 130_001],
      [T0 + 599_000, T0 + 601_500],
    ] as const) {
      const closed = curveIntegral(c, seed, s, t);
      const summed = numeric(c, seed, s, t);
      assert.ok(Math.abs(closed - summed) <= 1e-6 * summed + 1, `${name} ${s}..${t}: ${closed} vs ${summed}`);
    }
  }
});

test("a counter made from curveIntegral only grows, and its rate stays within the curve's bounds plus noise", () => {
  const seed = seedOf("uid-2/web");
  for (const [name, c] of curves) {
    let last = 0;
    for (let t = T0; t < T0 + 3_600_000; t += 997) {
      const v = curveIntegral(c, seed, T0, t);
      assert.ok(v >= last, `${name} decreased at ${t}`);
      last = v;
      const r = curveAt(c, seed, t);
      assert.ok(
        r >= Math.min(c.lo, c.hi) - c.noiseAmp - 1e-9 && r <= Math.max(c.lo, c.hi) + c.noiseAmp + 1e-9,
        `${name} ${r}`,
      );
    }
  }
});

test("noise averages out: over whole step pairs the integral is the noiseless one", () => {
  const c = curves[1]![1];
  const quiet = { ...c, noiseAmp: 0 };
  const seed = seedOf("uid-3/app");
  const start = Math.floor(T0 / 30_000) * 30_000;
  assert.equal(
    curveIntegral(c, seed, start, start + 10 * 30_000),
    curveIntegral(quiet, seed, start, start + 10 * 30_000),
  );
  // ...and it is not flat: two steps of one pair differ.
  assert.notEqual(curveAt(c, seed, start + 1), curveAt(c, seed, start + 15_001));
});

test("the same seed and time give the same value; another seed another", () => {
  const c = curves[1]![1];
  assert.equal(curveAt(c, seedOf("a/x"), T0), curveAt(c, seedOf("a/x"), T0));
  const values = new Set([1, 2, 3, 4, 5].map((i) => curveAt(c, seedOf(`pod-${i}/app`), T0)));
  assert.ok(values.size >= 4, `seeds should spread the noise: ${[...values].join(",")}`);
});

test("periodic shapes are aligned on the epoch: sine at its minimum at multiples of the period, square high first", () => {
  const sine = curves[2]![1];
  const square = curves[4]![1];
  const p0 = Math.floor(T0 / 600_000) * 600_000;
  assert.equal(curveAt(sine, 1, p0), 100);
  assert.ok(Math.abs(curveAt(sine, 1, p0 + 300_000) - 900) < 1e-9);
  const q0 = Math.floor(T0 / 120_000) * 120_000;
  assert.equal(curveAt(square, 1, q0 + 29_999), 900);
  assert.equal(curveAt(square, 1, q0 + 30_000), 100);
});
