/*
 * What a usage is asked to be (#19), as written in a pod annotation or the fleet's `--usage`
 * flag: a constant (`250m`, `200Mi`), a share of the container's request (`50%`) or a periodic
 * pattern (`sine min=100m max=900m period=10m`, `square low=10% high=90% period=2m duty=25%`).
 * Parsing is pure and never throws: a bad text gives a message naming the value and the fix.
 */
import { quantityNumber } from "../quantity.ts";

/** An amount: absolute (millicores for CPU, bytes for memory) or a fraction of the request. */
export type UsageAmount = { readonly abs: number } | { readonly ofRequest: number };

/** A usage as written, before the container's request resolves its percentages. */
export type UsageSpec =
  | { readonly kind: "const"; readonly value: UsageAmount }
  | { readonly kind: "sine"; readonly min: UsageAmount; readonly max: UsageAmount; readonly periodMs: number }
  | {
      readonly kind: "square";
      readonly low: UsageAmount;
      readonly high: UsageAmount;
      readonly periodMs: number;
      readonly duty: number;
    };

/** Which resource a spec is for: decides the unit of an absolute amount. */
export type UsageResource = "cpu" | "memory";

const EXAMPLES: Readonly<Record<UsageResource, string>> = {
  cpu: `a CPU quantity (250m), a share of the request (50%) or a pattern ("sine min=100m max=900m period=10m", "square low=100m high=900m period=2m")`,
  memory: `a memory quantity (200Mi), a share of the request (50%) or a pattern ("sine min=100Mi max=300Mi period=10m", "square low=100Mi high=300Mi period=2m")`,
};

/** A parsed spec, or the reason the text is not one. */
export type SpecResult = { readonly spec: UsageSpec } | { readonly error: string };

/** `250m` -> 250 (CPU, millicores), `200Mi` -> bytes, `50%` -> 0.5 of the request. */
function parseAmount(text: string, resource: UsageResource): UsageAmount | undefined {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) return { ofRequest: Number(pct[1]) / 100 };
  const n = quantityNumber(text);
  if (n === undefined) return undefined;
  return { abs: resource === "cpu" ? n * 1000 : Math.round(n) };
}

/** `10m`, `30s`, `1h`, `500ms` in ms; undefined when not a duration. */
function parsePeriod(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n * 3_600_000;
}

/** Parses a usage text for `resource`; `where` names its source in the message (an annotation, a flag). */
export function parseUsageSpec(text: string, resource: UsageResource, where: string): SpecResult {
  const bad = (why: string): SpecResult => ({
    error: `${where} "${text}" ${why}: give ${EXAMPLES[resource]}`,
  });
  const words = text.trim().split(/\s+/);
  if (words.length === 1 && words[0] !== "") {
    const value = parseAmount(words[0]!, resource);
    return value ? { spec: { kind: "const", value } } : bad("is not a usage");
  }
  const kind = words[0];
  if (kind !== "sine" && kind !== "square") return bad("is not a usage");
  const params = new Map<string, string>();
  for (const w of words.slice(1)) {
    const eq = w.indexOf("=");
    if (eq <= 0) return bad(`has "${w}" where a name=value parameter belongs`);
    params.set(w.slice(0, eq), w.slice(eq + 1));
  }
  const [loKey, hiKey] = kind === "sine" ? ["min", "max"] : ["low", "high"];
  const allowed = new Set([loKey, hiKey, "period", ...(kind === "square" ? ["duty"] : [])]);
  for (const k of params.keys()) if (!allowed.has(k)) return bad(`has an unknown parameter "${k}"`);
  const lo = parseAmount(params.get(loKey) ?? "", resource);
  const hi = parseAmount(params.get(hiKey) ?? "", resource);
  if (!lo || !hi) return bad(`needs ${loKey}= and ${hiKey}= amounts`);
  const periodMs = parsePeriod(params.get("period") ?? "");
  if (periodMs === undefined || periodMs < 1000) return bad("needs a period= of at least 1s (10s, 5m, 1h)");
  if (kind === "sine") return { spec: { kind, min: lo, max: hi, periodMs } };
  const dutyText = params.get("duty") ?? "50%";
  const dutyPct = /^(\d+(?:\.\d+)?)%$/.exec(dutyText);
  const duty = dutyPct ? Number(dutyPct[1]) / 100 : NaN;
  if (!(duty >= 0 && duty <= 1)) return bad(`has duty=${dutyText}: give a percentage from 0% to 100%`);
  return { spec: { kind, low: lo, high: hi, periodMs, duty } };
}
