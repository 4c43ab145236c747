/**
 * Reads the Prometheus text exposition format (what `/metrics` serves) into samples, and collects
 * histograms from it. Only what the report needs: names, labels, values; comments other than
 * `# TYPE` are skipped and timestamps ignored.
 */

/** One sample line: `name{labels} value`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseValue(text: string): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  return Number(text);
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (on the brace); returns the labels and the index after `}`. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let p = i + 1;
  while (p < line.length) {
    while (line[p] === " " || line[p] === ",") p++;
    if (line[p] === "}") return { labels, end: p + 1 };
    const eq = line.indexOf("=", p);
    if (eq < 0 || line[eq + 1] !== '"') throw new Error(`bad label set at column ${p + 1}`);
    const key = line.slice(p, eq).trim();
    let v = "";
    let q = eq + 2;
    for (; q < line.length && line[q] !== '"'; q++) {
      if (line[q] === "\\") {
        q++;
        v += line[q] === "n" ? "\n" : (line[q] ?? "");
      } else v += line[q];
    }
    if (q >= line.length) throw new Error(`unterminated label value at column ${eq + 2}`);
    labels[key] = v;
    p = q + 1;
  }
  throw new Error("unterminated label set");
}

/**
 * Parses exposition text into samples. A malformed line throws with its line number: a truncated
 * or foreign answer must not pass as a cluster without requests.
 */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    try {
      const m = NAME_RE.exec(line);
      if (!m) throw new Error("no metric name");
      const name = m[0];
      let rest = name.length;
      let labels: Record<string, string> = {};
      if (line[rest] === "{") {
        const l = parseLabels(line, rest);
        labels = l.labels;
        rest = l.end;
      }
      const fields = line.slice(rest).trim().split(/\s+/);
      const value = parseValue(fields[0] ?? "");
      if (fields[0] === undefined || fields[0] === "" || (Number.isNaN(value) && fields[0] !== "NaN"))
        throw new Error(`bad value "${fields[0] ?? ""}"`);
      out.push({ name, labels, value });
    } catch (err) {
      throw new Error(`metrics line ${n + 1}: ${(err as Error).message}: ${line.slice(0, 120)}`, {
        cause: err,
      });
    }
  }
  return out;
}

/** A histogram series: cumulative bucket counts by upper bound (ascending, ending with +Inf). */
export interface Histogram {
  readonly labels: Readonly<Record<string, string>>;
  /** `[le, cumulative count]`, ascending by le; the last bound is Infinity. */
  readonly buckets: ReadonlyArray<readonly [number, number]>;
  readonly count: number;
  readonly sum: number;
}

/** A stable key of a label set (sorted `k=v` pairs). */
export function labelKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(",");
}

/** Collects every series of histogram `name` (its `_bucket`, `_count` and `_sum` samples). */
export function histograms(samples: readonly Sample[], name: string): Histogram[] {
  const series = new Map<
    string,
    { labels: Record<string, string>; buckets: Array<[number, number]>; count: number; sum: number }
  >();
  const entry = (labels: Readonly<Record<string, string>>) => {
    const { le: _le, ...rest } = labels;
    const key = labelKey(rest);
    let e = series.get(key);
    if (!e) {
      e = { labels: rest, buckets: [], count: 0, sum: 0 };
      series.set(key, e);
    }
    return e;
  };
  for (const s of samples) {
    if (s.name === `${name}_bucket` && s.labels["le"] !== undefined) {
      entry(s.labels).buckets.push([parseValue(s.labels["le"]), s.value]);
    } else if (s.name === `${name}_count`) entry(s.labels).count = s.value;
    else if (s.name === `${name}_sum`) entry(s.labels).sum = s.value;
  }
  return [...series.values()].map((e) => ({ ...e, buckets: e.buckets.sort((a, b) => a[0] - b[0]) }));
}

/** The value of an untyped or gauge sample without labels (e.g. `process_start_time_seconds`). */
export function scalar(samples: readonly Sample[], name: string): number | undefined {
  return samples.find((s) => s.name === name && Object.keys(s.labels).length === 0)?.value;
}
