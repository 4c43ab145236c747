import { test } from "node:test";
import assert from "node:assert/strict";
import { parseUsageSpec, type UsageSpec } from "./usage-spec.ts";
import { DEFAULT_USAGE, parseUsageDefaults } from "./usage-defaults.ts";
import { BadInputError } from "../../kernel/errors.ts";

test("parseUsageSpec reads constants, shares of the request and patterns", () => {
  const cases: Array<[string, "cpu" | "memory", UsageSpec]> = [
    ["250m", "cpu", { kind: "const", value: { abs: 250 } }],
    ["1.5", "cpu", { kind: "const", value: { abs: 1500 } }],
    ["200Mi", "memory", { kind: "const", value: { abs: 200 * 2 ** 20 } }],
    ["50%", "cpu", { kind: "const", value: { ofRequest: 0.5 } }],
    ["150%", "memory", { kind: "const", value: { ofRequest: 1.5 } }],
    [
      "sine min=100m max=900m period=10m",
      "cpu",
      { kind: "sine", min: { abs: 100 }, max: { abs: 900 }, periodMs: 600_000 },
    ],
    [
      "  square   low=10% high=1 period=90s duty=25% ",
      "cpu",
      { kind: "square", low: { ofRequest: 0.1 }, high: { abs: 1000 }, periodMs: 90_000, duty: 0.25 },
    ],
    [
      "square low=100Mi high=300Mi period=2m",
      "memory",
      {
        kind: "square",
        low: { abs: 100 * 2 ** 20 },
        high: { abs: 300 * 2 ** 20 },
        periodMs: 120_000,
        duty: 0.5,
      },
    ],
  ];
  for (const [text, resource, spec] of cases)
    assert.deepEqual(parseUsageSpec(text, resource, "x"), { spec }, text);
});

test("parseUsageSpec names the bad value and the fix, never throws", () => {
  const cases: Array<[string, string]> = [
    ["", "is not a usage"],
    ["lots", "is not a usage"],
    ["-5m", "is not a usage"],
    ["50 %", "is not a usage"],
    ["sine min=1 max=2", "period="],
    ["sine min=1 max=2 period=500ms", "period="],
    ["sine min=1 period=1m", "min= and max="],
    ["sine min=1 max=2 period=1m duty=5%", 'unknown parameter "duty"'],
    ["square low=1 high=2 period=1m duty=150%", "duty=150%"],
    ["wave min=1 max=2 period=1m", "is not a usage"],
    ["sine 1 2", "name=value"],
  ];
  for (const [text, fragment] of cases) {
    const r = parseUsageSpec(text, "cpu", "annotation kubemark-cluster.io/cpu-usage");
    assert.ok("error" in r, `"${text}" should be refused`);
    assert.ok(r.error.includes(fragment), `${r.error} lacks ${fragment}`);
    assert.ok(r.error.includes(`annotation kubemark-cluster.io/cpu-usage "${text}"`), r.error);
    assert.ok(r.error.includes("250m"), r.error);
  }
});

test("parseUsageDefaults overrides the documented defaults key by key", () => {
  assert.deepEqual(parseUsageDefaults("", "--usage"), DEFAULT_USAGE);
  const d = parseUsageDefaults(
    "cpu=20%, memory=sine min=100Mi max=200Mi period=5m,noise=0%,noise-step=30s,floor-cpu=2m,floor-memory=8Mi,system-cpu=250m,system-memory=1Gi,pod-rx=2Ki,pod-tx=0",
    "--usage",
  );
  assert.deepEqual(d, {
    cpu: { kind: "const", value: { ofRequest: 0.2 } },
    memory: { kind: "sine", min: { abs: 100 * 2 ** 20 }, max: { abs: 200 * 2 ** 20 }, periodMs: 300_000 },
    noise: 0,
    noiseStepMs: 30_000,
    cpuFloorMilli: 2,
    memoryFloorBytes: 8 * 2 ** 20,
    systemCpuMilli: 250,
    systemMemoryBytes: 2 ** 30,
    podRxBytesPerSecond: 2048,
    podTxBytesPerSecond: 0,
  });
});

test("parseUsageDefaults refuses bad parts with a BadInputError naming them", () => {
  const cases: Array<[string, string]> = [
    ["cpu=abc", '--usage cpu "abc" is not a usage'],
    ["noise=1.5", "noise must be a percentage"],
    ["noise=100%", "noise must be a percentage"],
    ["noise-step=1ms", "noise-step"],
    ["system-cpu=-1", 'system-cpu must be a CPU quantity like 100m, got "-1"'],
    ["colour=red", "keys cpu, memory, noise"],
    ["cpu", '--usage cpu "" is not a usage'],
  ];
  for (const [text, fragment] of cases) {
    assert.throws(
      () => parseUsageDefaults(text, "--usage"),
      (err: unknown) => err instanceof BadInputError && err.message.includes(fragment),
      text,
    );
  }
});
