import { test } from "node:test";
import assert from "node:assert/strict";
import { renderTable } from "./text-table.ts";

test("renderTable aligns columns with upper-case headers and two-space gaps", () => {
  const out = renderTable(
    ["name", "status", "age"],
    [
      ["hollow-node-0", "Ready", "5m"],
      ["n1", "NotReady", 12],
    ],
  );
  assert.equal(
    out,
    ["NAME           STATUS    AGE", "hollow-node-0  Ready     5m", "n1             NotReady  12", ""].join(
      "\n",
    ),
  );
});

test("renderTable leaves no trailing spaces and handles no rows", () => {
  assert.equal(renderTable(["name", "ready"], []), "NAME  READY\n");
  for (const line of renderTable(["name", "x"], [["a", "1"]]).split("\n")) {
    assert.equal(line, line.trimEnd());
  }
});
