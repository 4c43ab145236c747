import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SHAPE, defaultEngineConfig, type NodeShape } from "./config.ts";
import { DEFAULT_POD_START_LATENCY, NO_POD_START_LATENCY } from "./container-run.ts";
import { parseProfile, type ProfileBase } from "./fleet-profile.ts";
import { ShapeContexts, shapeConfig, usageByNode } from "./shape-models.ts";
import type { EngineContext } from "./engine-context.ts";
import { DEFAULT_USAGE, parseUsageDefaults } from "./usage/usage-defaults.ts";
import { BadInputError } from "../kernel/errors.ts";

/** What the flags give when none is set. */
const FLAGS: ProfileBase = {
  shape: DEFAULT_SHAPE,
  usage: DEFAULT_USAGE,
  pods: { jobRunMs: 5_000, podStartLatency: DEFAULT_POD_START_LATENCY },
};

const TWO_SHAPES = `
shapes:
  - name: standard
    weight: 80
    cpu: "4"
    memory: 16Gi
  - name: gpu
    weight: 20
    cpu: 8
    memory: 64Gi
    maxPods: 64
    extendedResources:
      nvidia.com/gpu: "8"
    labels:
      accelerator: nvidia
      spot: true
    taints:
      - nvidia.com/gpu=present:NoSchedule
`;

test("parseProfile reads shapes with extended resources, labels and taints; the rest comes from the flags", () => {
  const base: NodeShape = {
    ...DEFAULT_SHAPE,
    ephemeralStorage: "100Gi",
    extendedResources: { "example.com/fpga": "1" },
    labels: { tier: "base" },
    taints: [{ key: "hollow", effect: "NoSchedule" }],
  };
  const shapes = parseProfile(TWO_SHAPES, "fleet.yaml", { ...FLAGS, shape: base });
  assert.deepEqual(shapes, [
    {
      name: "standard",
      weight: 80,
      cpu: "4",
      memory: "16Gi",
      maxPods: 110,
      ephemeralStorage: "100Gi",
      extendedResources: { "example.com/fpga": "1" },
      labels: { tier: "base" },
      taints: [{ key: "hollow", effect: "NoSchedule" }],
    },
    {
      name: "gpu",
      weight: 20,
      cpu: "8",
      memory: "64Gi",
      maxPods: 64,
      ephemeralStorage: "100Gi",
      extendedResources: { "example.com/fpga": "1", "nvidia.com/gpu": "8" },
      labels: { tier: "base", accelerator: "nvidia", spot: "true" },
      taints: [
        { key: "hollow", effect: "NoSchedule" },
        { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" },
      ],
    },
  ]);
});

test("parseProfile accepts JSON and names shapes that have no name", () => {
  const shapes = parseProfile('{"shapes": [{"cpu": "2"}, {"weight": 3}]}', "fleet.json", FLAGS);
  assert.deepEqual(
    shapes.map((s) => [s.name, s.weight, s.cpu]),
    [
      ["shape-1", 1, "2"],
      ["shape-2", 3, "1"],
    ],
  );
});

test("parseProfile errors name the file, the shape and the bad value", () => {
  const cases: Array<[string, string]> = [
    ["", 'profile p.yaml needs a non-empty "shapes" list'],
    ["nodes: 3", 'profile p.yaml needs a non-empty "shapes" list'],
    ["shapes: []", 'profile p.yaml needs a non-empty "shapes" list'],
    ["shapes: {a: 1}", 'profile p.yaml needs a non-empty "shapes" list'],
    ["shapes: [\n  - {name: a", "profile p.yaml is not valid YAML"],
    ["shapes:\n  - {name: Big_Nodes}", 'profile p.yaml shape 1: name must be a DNS label, got "Big_Nodes"'],
    [
      "shapes:\n  - {name: a}\n  - {name: b, weight: -1}",
      'profile p.yaml shape 2 (b): weight must be a positive number, got "-1"',
    ],
    [
      "shapes:\n  - {name: a, weight: heavy}",
      'profile p.yaml shape 1 (a): weight must be a positive number, got "heavy"',
    ],
    [
      "shapes:\n  - {name: a, weight: 0}",
      'profile p.yaml shape 1 (a): weight must be a positive number, got "0"',
    ],
    [
      "shapes:\n  - {name: a, maxPods: 1.5}",
      "profile p.yaml shape 1 (a): maxPods must be a positive integer",
    ],
    [
      "shapes:\n  - {name: a}\n  - {name: b, memory: lots}",
      'profile p.yaml shape 2 (b) memory must be a Kubernetes quantity such as 4, 500m, 16Gi or 4026531840, got "lots"',
    ],
    ["shapes:\n  - {name: a, cpu: 4 cores}", "profile p.yaml shape 1 (a) cpu must be a Kubernetes quantity"],
    [
      "shapes:\n  - {name: a, extendedResources: [gpu]}",
      "profile p.yaml shape 1 (a): extendedResources must be a map",
    ],
    [
      "shapes:\n  - {name: a, extendedResources: {nvidia.com/gpu: many}}",
      "profile p.yaml shape 1 (a) extendedResources nvidia.com/gpu must be a Kubernetes quantity",
    ],
    [
      "shapes:\n  - {name: a, labels: {-x: y}}",
      'profile p.yaml shape 1 (a) labels takes key=value labels like hollow-node=true, got "-x=y"',
    ],
    [
      "shapes:\n  - {name: a, taints: [gpu]}",
      "profile p.yaml shape 1 (a) taints takes key=value:Effect taints",
    ],
    ["shapes:\n  - null", "profile p.yaml shape 1: must be a map of fields"],
    ["shapes:\n  - standard", "profile p.yaml shape 1: must be a map of fields"],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseProfile(text, "p.yaml", FLAGS),
      (err: unknown) => {
        assert.ok(err instanceof BadInputError, `${JSON.stringify(text)}: ${String(err)}`);
        assert.ok(err.message.startsWith(message), `${JSON.stringify(text)}: ${err.message}`);
        return true;
      },
    );
  }
});

const MODELS = `
usage: {cpu: 20%, noise: 5%}
pods: {sandbox-latency: 1s}
shapes:
  - {name: standard, weight: 3}
  - name: gpu
    usage: {cpu: 80%, system-cpu: 250m}
    pods: {sandbox-latency: 2s-3s, job-run-seconds: 120}
  - name: batch
    pods: {job-run-seconds: 30s}
`;

test("parseProfile: usage and pods models, the shape's over the profile's over the flags'", () => {
  const flags: ProfileBase = {
    ...FLAGS,
    usage: parseUsageDefaults("memory=60%,system-memory=1Gi", "--usage-defaults"),
    pods: { jobRunMs: 7_000, podStartLatency: NO_POD_START_LATENCY },
  };
  const [standard, gpu, batch] = parseProfile(MODELS, "fleet.yaml", flags);
  const profileUsage = parseUsageDefaults("cpu=20%,noise=5%", "x", flags.usage);
  // The profile's usage over the flag's: memory 60% and system memory 1 GiB stay.
  assert.deepEqual(standard!.usage, profileUsage);
  assert.deepEqual(standard!.usage.memory, { kind: "const", value: { ofRequest: 0.6 } });
  assert.equal(standard!.usage.systemMemoryBytes, 2 ** 30);
  assert.deepEqual(standard!.pods, {
    jobRunMs: 7_000,
    podStartLatency: { sandbox: { minMs: 1000, maxMs: 1000 }, containersMs: 10 },
  });
  // The shape's over the profile's.
  assert.deepEqual(gpu!.usage, parseUsageDefaults("cpu=80%,system-cpu=250m", "x", profileUsage));
  assert.equal(gpu!.usage.noise, 0.05);
  assert.deepEqual(gpu!.pods, {
    jobRunMs: 120_000,
    podStartLatency: { sandbox: { minMs: 2000, maxMs: 3000 }, containersMs: 10 },
  });
  assert.deepEqual(batch!.usage, profileUsage);
  assert.deepEqual(batch!.pods, {
    jobRunMs: 30_000,
    podStartLatency: { sandbox: { minMs: 1000, maxMs: 1000 }, containersMs: 10 },
  });
});

test("parseProfile: a profile without models leaves them to the fleet; `0` starts pods at once", () => {
  const [plain] = parseProfile("shapes: [{name: a}]", "p.yaml", FLAGS);
  assert.equal(plain!.usage, undefined);
  assert.equal(plain!.pods, undefined);
  const [a, b] = parseProfile(
    "shapes:\n  - {name: a, pods: {sandbox-latency: 0}}\n  - {name: b, usage: {memory: 70%}}",
    "p.yaml",
    FLAGS,
  );
  assert.deepEqual(a!.pods, { jobRunMs: 5_000, podStartLatency: NO_POD_START_LATENCY });
  assert.equal(a!.usage, undefined);
  assert.equal(b!.pods, undefined);
  assert.deepEqual(b!.usage, { ...DEFAULT_USAGE, memory: { kind: "const", value: { ofRequest: 0.7 } } });
});

test("parseProfile: bad models and unknown fields are named with file, shape and field, and the fix", () => {
  const cases: Array<[string, string]> = [
    [
      "shapes: [{name: a}]\nusgae: {cpu: 20%}",
      'profile p.yaml: unknown field "usgae" (the fields are shapes, usage, pods)',
    ],
    [
      "shapes: [{name: gpu, cpus: 8}]",
      'profile p.yaml shape 1 (gpu): unknown field "cpus" (the fields are name, weight, cpu, memory',
    ],
    ["shapes: [{name: a, usage: 20%}]", "profile p.yaml shape 1 (a): usage must be a map like {cpu: 20%"],
    [
      "shapes: [{name: a, usage: {cpu: lots}}]",
      'profile p.yaml shape 1 (a) usage cpu "lots" is not a usage: give a CPU quantity (250m)',
    ],
    [
      "shapes: [{name: a, usage: {memory: [1, 2]}}]",
      'profile p.yaml shape 1 (a) usage memory must be one value like 20%, 250m or "sine min=100m max=900m period=10m", got [1,2]',
    ],
    [
      "shapes: [{name: a, usage: {cpu: '10%,memory=5%'}}]",
      "profile p.yaml shape 1 (a) usage cpu must be one value",
    ],
    [
      "shapes: [{name: a, usage: {hot: yes}}]",
      "profile p.yaml shape 1 (a) usage takes key=value pairs with keys cpu, memory, noise",
    ],
    [
      "usage: {noise: 200%}\nshapes: [{name: a}]",
      "profile p.yaml usage noise must be a percentage below 100%",
    ],
    [
      "shapes: [{name: a, usage: {system-cpu: -1}}]",
      'profile p.yaml shape 1 (a) usage system-cpu must be a CPU quantity like 100m, got "-1"',
    ],
    [
      "shapes: [{name: a, pods: 1s}]",
      "profile p.yaml shape 1 (a): pods must be a map like {sandbox-latency:",
    ],
    [
      "shapes: [{name: a, pods: {sandbox: 1s}}]",
      'profile p.yaml shape 1 (a) pods: unknown field "sandbox" (the fields are sandbox-latency, job-run-seconds)',
    ],
    [
      "shapes: [{name: a, pods: {sandbox-latency: fast}}]",
      'profile p.yaml shape 1 (a) pods.sandbox-latency must be a duration like 300ms or a range like 250ms-350ms (0 = pods start at once; at most 10m), got "fast"',
    ],
    [
      "shapes: [{name: a, pods: {sandbox-latency: 3s-1s}}]",
      "profile p.yaml shape 1 (a) pods.sandbox-latency must be",
    ],
    [
      "shapes: [{name: a, pods: {sandbox-latency: 11m}}]",
      "profile p.yaml shape 1 (a) pods.sandbox-latency must be",
    ],
    [
      "pods: {job-run-seconds: 0}\nshapes: [{name: a}]",
      "profile p.yaml pods.job-run-seconds must be a positive number of seconds or a duration like 30s or 5m, got 0",
    ],
    [
      "shapes: [{pods: {job-run-seconds: soon}}]",
      "profile p.yaml shape 1 pods.job-run-seconds must be a positive",
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseProfile(text, "p.yaml", FLAGS),
      (err: unknown) => {
        assert.ok(err instanceof BadInputError, `${JSON.stringify(text)}: ${String(err)}`);
        const full = err.hint ? `${err.message} (${err.hint})` : err.message;
        assert.ok(full.startsWith(message), `${JSON.stringify(text)}: ${full}`);
        return true;
      },
    );
  }
});

test("shapeConfig and ShapeContexts: a shape's pod models over the fleet's, one context per shape", () => {
  const cfg = defaultEngineConfig(["n-0", "n-1"]);
  const plain: NodeShape = DEFAULT_SHAPE;
  const slow: NodeShape = {
    ...DEFAULT_SHAPE,
    name: "slow",
    pods: { jobRunMs: 60_000, podStartLatency: NO_POD_START_LATENCY },
  };
  assert.equal(shapeConfig(cfg, plain), cfg);
  const c = shapeConfig(cfg, slow);
  assert.equal(c.jobRunMs, 60_000);
  assert.equal(c.podStartLatency, NO_POD_START_LATENCY);
  assert.equal(c.maxInFlight, cfg.maxInFlight);
  const ctx = { cfg } as EngineContext;
  const own = { cfg } as EngineContext;
  const contexts = new ShapeContexts();
  assert.equal(contexts.context(ctx, plain), ctx);
  const a = contexts.context(ctx, slow);
  assert.equal(a.cfg.jobRunMs, 60_000);
  assert.equal(contexts.context(ctx, slow), a, "one context per shape");
  const b = contexts.context(own, slow);
  assert.notEqual(b, a, "a node's own context keeps its own client");
  assert.equal(b.cfg, a.cfg, "one config per shape");
});

test("usageByNode: each node gets its shape's usage model, by the engine's assignment, else the fleet's", () => {
  const hot = parseUsageDefaults("cpu=80%", "x");
  const fleet = parseUsageDefaults("cpu=20%", "x");
  const names = ["n-0", "n-1", "n-2", "n-3"];
  const cfg = defaultEngineConfig(names, {
    usage: fleet,
    shapes: [
      { ...DEFAULT_SHAPE, name: "standard", weight: 1 },
      { ...DEFAULT_SHAPE, name: "gpu", weight: 1, usage: hot },
    ],
  });
  const of = usageByNode(cfg);
  // Smooth weighted round robin over 1/1 alternates, the first shape first.
  assert.deepEqual(
    names.map((n) => of(n)),
    [fleet, hot, fleet, hot],
  );
  assert.equal(of("other"), fleet);
  assert.equal(usageByNode(defaultEngineConfig(names))("n-1"), DEFAULT_USAGE);
});
