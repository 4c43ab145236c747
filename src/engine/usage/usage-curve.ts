/*
 * The arithmetic of a usage model (#19): one resource of one container as a curve in time, its
 * value at `t` and, for CPU, its integral between two times in closed form, so a cumulative
 * counter costs a few operations whatever the container's age and needs no history.
 */

/** How a usage varies in time. Periodic shapes are aligned on the epoch, so every pod of a Deployment is in phase. */
export type CurveKind = "const" | "sine" | "square";

/**
 * One resource's modelled usage (millicores for CPU, bytes for memory).
 *
 * - `const`: `lo` (= `hi`) at all times;
 * - `sine`: from `lo` up to `hi` and back over `periodMs` (`lo` at each multiple of the period);
 * - `square`: `hi` for the first `duty` of each period, then `lo`.
 *
 * Noise adds `noiseAmp * u` with `u` in [-1, 1], constant for `noiseStepMs` and drawn from
 * `seed`; steps come in pairs whose second step is the first one negated, so the noise
 * integrates to zero over each pair: the counter's integral stays a closed form (see
 * {@link noiseIntegral}) and the long-run average is the curve's.
 */
export interface UsageCurve {
  readonly kind: CurveKind;
  readonly lo: number;
  readonly hi: number;
  readonly periodMs: number;
  /** Fraction of the period spent at `hi` (square only). */
  readonly duty: number;
  /** Noise amplitude, in the curve's unit (0: none). Kept below `lo` so a rate never goes negative. */
  readonly noiseAmp: number;
  readonly noiseStepMs: number;
}

/** A constant curve without noise. */
export function constCurve(value: number): UsageCurve {
  return { kind: "const", lo: value, hi: value, periodMs: 0, duty: 0, noiseAmp: 0, noiseStepMs: 1 };
}

/** Whether two curves model the same usage (a change restarts the counter's closed form). */
export function sameCurve(a: UsageCurve, b: UsageCurve): boolean {
  return (
    a.kind === b.kind &&
    a.lo === b.lo &&
    a.hi === b.hi &&
    a.periodMs === b.periodMs &&
    a.duty === b.duty &&
    a.noiseAmp === b.noiseAmp &&
    a.noiseStepMs === b.noiseStepMs
  );
}

/** 32-bit FNV-1a of a string: the seed of a container's noise (its pod uid and name). */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A value in [-1, 1] for step pair `j` of `seed` (murmur3's finaliser: cheap and well mixed). */
function unit(seed: number, j: number): number {
  let h = (seed ^ Math.imul(j | 0, 0x9e3779b1) ^ Math.floor(j / 4294967296)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) / 4294967295) * 2 - 1;
}

/** The noise factor in [-1, 1] at `t`: step `k` of pair `j = k / 2`, negated on the pair's second step. */
function noiseAt(c: UsageCurve, seed: number, t: number): number {
  const k = Math.floor(t / c.noiseStepMs);
  const u = unit(seed, Math.floor(k / 2));
  return k % 2 === 0 ? u : -u;
}

/**
 * The noise's integral from the start of the pair holding `t` to `t` (in unit·ms): whole pairs
 * integrate to zero, so `noiseIntegral(t) - noiseIntegral(s)` is the integral from `s` to `t`.
 */
function noiseIntegral(c: UsageCurve, seed: number, t: number): number {
  const step = c.noiseStepMs;
  const k = Math.floor(t / step);
  const j = Math.floor(k / 2);
  const u = unit(seed, j);
  const intoPair = t - 2 * j * step;
  return intoPair <= step ? u * intoPair : u * (2 * step - intoPair);
}

/** The curve without noise at `t`. */
function baseAt(c: UsageCurve, t: number): number {
  switch (c.kind) {
    case "const":
      return c.lo;
    case "sine": {
      const phase = (t % c.periodMs) / c.periodMs;
      return c.lo + ((c.hi - c.lo) * (1 - Math.cos(2 * Math.PI * phase))) / 2;
    }
    case "square":
      return t % c.periodMs < c.duty * c.periodMs ? c.hi : c.lo;
  }
}

/**
 * The integral of the curve without noise from the start of `t`'s period to `t`, and the
 * integral of a whole period: with them, the integral between any two times is whole periods
 * plus two partial ones, never a sum over the container's age.
 */
function partialPeriod(c: UsageCurve, t: number): number {
  const r = t % c.periodMs;
  if (c.kind === "sine") {
    const mid = (c.lo + c.hi) / 2;
    const amp = (c.hi - c.lo) / 2;
    return mid * r - ((amp * c.periodMs) / (2 * Math.PI)) * Math.sin((2 * Math.PI * r) / c.periodMs);
  }
  const highMs = c.duty * c.periodMs;
  return r <= highMs ? c.hi * r : c.hi * highMs + c.lo * (r - highMs);
}

function wholePeriod(c: UsageCurve): number {
  if (c.kind === "sine") return ((c.lo + c.hi) / 2) * c.periodMs;
  return c.hi * c.duty * c.periodMs + c.lo * (1 - c.duty) * c.periodMs;
}

/** The modelled value at `t` (ms since the epoch), noise included, never below 0. */
export function curveAt(c: UsageCurve, seed: number, t: number): number {
  const v = baseAt(c, t) + (c.noiseAmp === 0 ? 0 : c.noiseAmp * noiseAt(c, seed, t));
  return v > 0 ? v : 0;
}

/**
 * The integral of the curve (noise included) from `s` to `t` (ms), in unit·ms: for CPU in
 * millicores, millicore-milliseconds, i.e. microseconds of CPU time. 0 when `t <= s`.
 */
export function curveIntegral(c: UsageCurve, seed: number, s: number, t: number): number {
  if (t <= s) return 0;
  let base: number;
  if (c.kind === "const") base = c.lo * (t - s);
  else {
    const periods = Math.floor(t / c.periodMs) - Math.floor(s / c.periodMs);
    base = periods * wholePeriod(c) + partialPeriod(c, t) - partialPeriod(c, s);
  }
  if (c.noiseAmp === 0) return base;
  const noise = c.noiseAmp * (noiseIntegral(c, seed, t) - noiseIntegral(c, seed, s));
  return Math.max(0, base + noise);
}
