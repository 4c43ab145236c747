import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { ENGINE_NODE_FLAGS } from "./spec.ts";

test("./hollow-node and the Dockerfile start the engine with ENGINE_NODE_FLAGS", async () => {
  const launcher = await readFile(new URL("../../hollow-node", import.meta.url), "utf8");
  const dockerfile = await readFile(new URL("../../Dockerfile", import.meta.url), "utf8");
  const flags = ENGINE_NODE_FLAGS.join(" ");
  assert.ok(
    launcher.includes(`--disable-warning=ExperimentalWarning ${flags} "$here/src/cli/hollow-node/main.ts"`),
    "hollow-node",
  );
  assert.ok(
    dockerfile.includes(`ENTRYPOINT ["node", ${ENGINE_NODE_FLAGS.map((f) => JSON.stringify(f)).join(", ")},`),
    "Dockerfile",
  );
});
