import { test } from "node:test";
import assert from "node:assert/strict";
import { parseWorkers } from "./up.ts";

test("--workers takes 0 to 8", () => {
  assert.equal(parseWorkers("0"), 0);
  assert.equal(parseWorkers("2"), 2);
  for (const bad of ["-1", "9", "1.5", "abc", ""])
    assert.throws(() => parseWorkers(bad), /--workers must be/);
});
