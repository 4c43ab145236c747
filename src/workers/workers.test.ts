import { test } from "node:test";
import assert from "node:assert/strict";
import { workerIP, workerName } from "./workers.ts";

test("worker names and addresses are per cluster and index", () => {
  assert.equal(workerName("kubemark", 0), "kubemark-worker-0");
  assert.equal(workerIP(0), "10.254.0.2");
  assert.equal(workerIP(3), "10.254.0.5");
});
