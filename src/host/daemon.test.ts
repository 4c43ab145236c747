import { test } from "node:test";
import assert from "node:assert/strict";
import { processStartTicks } from "./daemon.ts";

test("processStartTicks gives this process's start time in ticks", () => {
  const ticks = processStartTicks(process.pid);
  assert.equal(typeof ticks, "number");
  assert.ok(Number.isInteger(ticks) && ticks! >= 0, String(ticks));
  assert.equal(processStartTicks(process.pid), ticks, "stable for the same process");
});

test("processStartTicks is undefined for a process that does not exist", () => {
  // Above the kernel's PID_MAX_LIMIT (2^22), so no process can have it.
  for (const pid of [2 ** 22 + 1, 0, -1]) {
    assert.equal(processStartTicks(pid), undefined, String(pid));
  }
});
