import { test } from "node:test";
import assert from "node:assert/strict";
import { parseOutput } from "./output.ts";
import { BadInputError } from "../kernel/errors.ts";

test("parseOutput accepts the allowed formats and defaults to table", () => {
  assert.equal(parseOutput(undefined), "table");
  for (const f of ["table", "json", "yaml"] as const) assert.equal(parseOutput(f), f);
  assert.equal(parseOutput("wide", ["table", "wide", "json"]), "wide");
});

test("parseOutput rejects other formats, listing the allowed ones", () => {
  const cases: Array<[string, readonly ("table" | "json" | "yaml" | "wide")[] | undefined, string]> = [
    ["xml", undefined, '-o must be one of table, json, yaml, got "xml"'],
    ["wide", undefined, '-o must be one of table, json, yaml, got "wide"'],
    ["", undefined, '-o must be one of table, json, yaml, got ""'],
    ["JSON", undefined, '-o must be one of table, json, yaml, got "JSON"'],
    ["yaml", ["table", "json"], '-o must be one of table, json, got "yaml"'],
  ];
  for (const [value, allowed, message] of cases) {
    assert.throws(
      () => parseOutput(value, allowed),
      (err: unknown) => err instanceof BadInputError && err.message === message,
      value,
    );
  }
});
