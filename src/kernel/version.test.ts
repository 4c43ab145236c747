import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { PACKAGE_VERSION } from "./version.ts";

test("PACKAGE_VERSION is package.json's version", async () => {
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  assert.equal(PACKAGE_VERSION, pkg.version);
});
