import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SHAPE, assignShapes, type NodeShape } from "./config.ts";

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
