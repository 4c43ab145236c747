import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SHAPE, assignShapes, parseProfile, type NodeShape } from "./config.ts";
import { BadInputError } from "../kernel/errors.ts";

const shape = (name: string, weight: number): NodeShape => ({ ...DEFAULT_SHAPE, name, weight });

test("assignShapes: 80/20 over 100 nodes gives exactly 80 and 20, and every prefix is within 1 of the ideal", () => {
  const shapes = [shape("standard", 80), shape("gpu", 20)];
  const out = assignShapes(100, shapes);
  assert.equal(out.length, 100);
  assert.equal(out.filter((s) => s.name === "standard").length, 80);
  assert.equal(out.filter((s) => s.name === "gpu").length, 20);
  for (let n = 1; n <= out.length; n++) {
    const gpus = out.slice(0, n).filter((s) => s.name === "gpu").length;
    assert.ok(Math.abs(gpus - n * 0.2) < 1, `prefix ${n}: ${gpus} gpu nodes, ideal ${n * 0.2}`);
  }
  assert.deepEqual(
    out.slice(0, 10).map((s) => s.name),
    [
      "standard",
      "standard",
      "gpu",
      "standard",
      "standard",
      "standard",
      "standard",
      "gpu",
      "standard",
      "standard",
    ],
  );
});

test("assignShapes follows the weights for several mixes", () => {
  const cases: Array<{ weights: number[]; count: number; want: number[] }> = [
    { weights: [1], count: 7, want: [7] },
    { weights: [1, 1], count: 10, want: [5, 5] },
    { weights: [3, 1], count: 8, want: [6, 2] },
    { weights: [5, 3, 2], count: 100, want: [50, 30, 20] },
    { weights: [0.5, 0.25, 0.25], count: 4, want: [2, 1, 1] },
    { weights: [1, 1, 1], count: 0, want: [0, 0, 0] },
  ];
  for (const { weights, count, want } of cases) {
    const shapes = weights.map((w, i) => shape(`s${i}`, w));
    const out = assignShapes(count, shapes);
    assert.deepEqual(
      shapes.map((s) => out.filter((x) => x === s).length),
      want,
      `weights ${weights.join("/")} over ${count}`,
    );
    const total = weights.reduce((a, b) => a + b, 0);
    shapes.forEach((s, i) => {
      for (let n = 1; n <= count; n++) {
        const got = out.slice(0, n).filter((x) => x === s).length;
        assert.ok(
          Math.abs(got - (n * weights[i]!) / total) < 1,
          `weights ${weights.join("/")} prefix ${n} shape ${i}`,
        );
      }
    });
  }
});

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
  const shapes = parseProfile(TWO_SHAPES, "fleet.yaml", base);
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
  const shapes = parseProfile('{"shapes": [{"cpu": "2"}, {"weight": 3}]}', "fleet.json", DEFAULT_SHAPE);
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
      'profile p.yaml shape 2: weight must be a positive number, got "-1"',
    ],
    [
      "shapes:\n  - {name: a, weight: heavy}",
      'profile p.yaml shape 1: weight must be a positive number, got "heavy"',
    ],
    [
      "shapes:\n  - {name: a, weight: 0}",
      'profile p.yaml shape 1: weight must be a positive number, got "0"',
    ],
    ["shapes:\n  - {name: a, maxPods: 1.5}", "profile p.yaml shape 1: maxPods must be a positive integer"],
    [
      "shapes:\n  - {name: a}\n  - {name: b, memory: lots}",
      'profile p.yaml shape 2 memory must be a Kubernetes quantity such as 4, 500m, 16Gi or 4026531840, got "lots"',
    ],
    ["shapes:\n  - {name: a, cpu: 4 cores}", "profile p.yaml shape 1 cpu must be a Kubernetes quantity"],
    [
      "shapes:\n  - {name: a, extendedResources: [gpu]}",
      "profile p.yaml shape 1: extendedResources must be a map",
    ],
    [
      "shapes:\n  - {name: a, extendedResources: {nvidia.com/gpu: many}}",
      "profile p.yaml shape 1 extendedResources nvidia.com/gpu must be a Kubernetes quantity",
    ],
    [
      "shapes:\n  - {name: a, labels: {-x: y}}",
      'profile p.yaml shape 1 labels takes key=value labels like hollow-node=true, got "-x=y"',
    ],
    ["shapes:\n  - {name: a, taints: [gpu]}", "profile p.yaml shape 1 taints takes key=value:Effect taints"],
    ["shapes:\n  - null", "profile p.yaml shape 1: must be a map of fields"],
    ["shapes:\n  - standard", "profile p.yaml shape 1: must be a map of fields"],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseProfile(text, "p.yaml", DEFAULT_SHAPE),
      (err: unknown) => {
        assert.ok(err instanceof BadInputError, `${JSON.stringify(text)}: ${String(err)}`);
        assert.ok(err.message.startsWith(message), `${JSON.stringify(text)}: ${err.message}`);
        return true;
      },
    );
  }
});
