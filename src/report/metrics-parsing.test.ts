import assert from "node:assert/strict";
import { test } from "node:test";
import { addBuckets, quantileBound, subtractBuckets } from "./histogram-math.ts";
import { quantileOfSorted } from "../kernel/quantile.ts";
import { histograms, parsePrometheusText, scalar } from "./prometheus-text.ts";

const TEXT = `# HELP apiserver_request_sli_duration_seconds x
# TYPE apiserver_request_sli_duration_seconds histogram
apiserver_request_sli_duration_seconds_bucket{component="apiserver",resource="pods",scope="resource",subresource="",verb="GET",le="0.05"} 90
apiserver_request_sli_duration_seconds_bucket{component="apiserver",resource="pods",scope="resource",subresource="",verb="GET",le="1"} 99
apiserver_request_sli_duration_seconds_bucket{component="apiserver",resource="pods",scope="resource",subresource="",verb="GET",le="+Inf"} 100
apiserver_request_sli_duration_seconds_sum{component="apiserver",resource="pods",scope="resource",subresource="",verb="GET"} 12.5
apiserver_request_sli_duration_seconds_count{component="apiserver",resource="pods",scope="resource",subresource="",verb="GET"} 100
weird_label{a="x\\"y,z}",b="line\\nbreak"} 1.5e3 1700000000000
process_start_time_seconds 1.7e+09
`;

test("parses samples, escaped labels, exponents and timestamps", () => {
  const s = parsePrometheusText(TEXT);
  const w = s.find((x) => x.name === "weird_label")!;
  assert.deepEqual(w.labels, { a: 'x"y,z}', b: "line\nbreak" });
  assert.equal(w.value, 1500);
  assert.equal(scalar(s, "process_start_time_seconds"), 1.7e9);
});

test("collects a histogram's buckets (ascending, +Inf last), count and sum", () => {
  const [h] = histograms(parsePrometheusText(TEXT), "apiserver_request_sli_duration_seconds");
  assert.deepEqual(h!.buckets, [
    [0.05, 90],
    [1, 99],
    [Infinity, 100],
  ]);
  assert.equal(h!.count, 100);
  assert.equal(h!.sum, 12.5);
  assert.equal(h!.labels["le"], undefined);
});

test("a malformed line is an error naming its line", () => {
  assert.throws(() => parsePrometheusText('ok 1\nbroken{a="x" 2\n'), /metrics line 2/);
  assert.throws(() => parsePrometheusText("no_value\n"), /metrics line 1: bad value/);
});

const B = (...c: number[]): Array<[number, number]> => [0.1, 1, 5, Infinity].map((le, i) => [le, c[i]!]);

test("quantile bounds from buckets", () => {
  const cases: Array<{ b: Array<[number, number]>; q: number; upper: number; lower: number }> = [
    { b: B(99, 100, 100, 100), q: 0.99, upper: 0.1, lower: 0 },
    { b: B(98, 100, 100, 100), q: 0.99, upper: 1, lower: 0.1 },
    { b: B(50, 60, 98, 100), q: 0.99, upper: Infinity, lower: 5 },
    { b: B(50, 60, 98, 100), q: 0.5, upper: 0.1, lower: 0 },
    { b: B(0, 0, 1, 1), q: 0.99, upper: 5, lower: 1 },
  ];
  for (const c of cases)
    assert.deepEqual(quantileBound(c.b, c.q), { upper: c.upper, lower: c.lower }, JSON.stringify(c));
  assert.equal(quantileBound(B(0, 0, 0, 0), 0.99), undefined);
});

test("window = after - before; a count that fell means a restart", () => {
  assert.deepEqual(subtractBuckets(B(10, 20, 30, 30), B(5, 5, 5, 5)), B(5, 15, 25, 25));
  assert.equal(subtractBuckets(B(1, 1, 1, 1), B(5, 5, 5, 5)), undefined);
  assert.deepEqual(addBuckets(B(1, 2, 3, 4), B(1, 1, 1, 1)), B(2, 3, 4, 5));
});

test("nearest-rank percentiles", () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantileOfSorted(v, 0.5), 50);
  assert.equal(quantileOfSorted(v, 0.99), 99);
  assert.equal(quantileOfSorted([3], 0.99), 3);
  assert.equal(quantileOfSorted([], 0.5), undefined);
});
