import { test } from "node:test";
import assert from "node:assert/strict";

test("importing a benchmark runs nothing: flags are read only when it is the program", async () => {
  const listeners = process.listenerCount("SIGINT") + process.listenerCount("SIGTERM");
  await import("./compare.ts");
  await import("./engine-scale.ts");
  await import("./storage.ts");
  await import("./scrape.ts");
  assert.equal(process.exitCode, undefined);
  assert.equal(process.listenerCount("SIGINT") + process.listenerCount("SIGTERM"), listeners);
});
