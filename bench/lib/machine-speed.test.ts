import { test } from "node:test";
import assert from "node:assert/strict";
import { CALIBRATION_ROUNDS, calibrationWork, measureMachineSpeed } from "./machine-speed.ts";

test("the fixed work is the same in every run: its checksum is pinned (change it and old figures no longer compare)", () => {
  assert.equal(calibrationWork(10), 8750);
  assert.equal(CALIBRATION_ROUNDS, 20_000);
});

test("a measurement times the work it says: fastest <= median, the checksum of that work", () => {
  const m = measureMachineSpeed(3, 50);
  assert.equal(m.repetitions, 3);
  assert.equal(m.checksum, calibrationWork(50));
  assert.ok(m.bestMs > 0 && m.bestMs <= m.medianMs, JSON.stringify(m));
  assert.throws(() => measureMachineSpeed(0, 50), /repetitions/);
  assert.throws(() => measureMachineSpeed(1.5, 50), /repetitions/);
});
