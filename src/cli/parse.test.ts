import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInteger, parsePort, parseSeconds } from "./parse.ts";
import { BadInputError } from "../kernel/errors.ts";

/** Asserts `fn` throws BAD_INPUT naming the flag, the quoted value and the expected text. */
function assertBad(fn: () => unknown, flag: string, value: string, expect: RegExp): void {
  assert.throws(
    fn,
    (err: unknown) =>
      err instanceof BadInputError &&
      err.code === "BAD_INPUT" &&
      err.exitCode === 2 &&
      err.message.startsWith(`${flag} must`) &&
      err.message.endsWith(`got "${value}"`) &&
      expect.test(err.message),
    `${flag} ${JSON.stringify(value)}`,
  );
}

test("parseInteger accepts whole numbers in range", () => {
  const cases: Array<[string, number, number | undefined, number]> = [
    ["1", 1, undefined, 1],
    ["100000", 1, undefined, 100_000],
    [" 42 ", 1, undefined, 42],
    ["+7", 1, undefined, 7],
    ["0", 0, 10, 0],
    ["10", 0, 10, 10],
    ["-3", -5, 5, -3],
  ];
  for (const [value, min, max, want] of cases) {
    assert.equal(parseInteger(value, "--nodes", min, max), want, JSON.stringify(value));
  }
});

test("parseInteger rejects other values, naming the flag and the value", () => {
  const notWhole = /must be a whole number/;
  const cases: Array<[string, number, number | undefined, RegExp]> = [
    ["abc", 1, undefined, notWhole],
    ["", 1, undefined, notWhole],
    ["1.5", 1, undefined, notWhole],
    ["1e3", 1, undefined, notWhole],
    ["0x10", 1, undefined, notWhole],
    ["12abc", 1, undefined, notWhole],
    ["0", 1, undefined, /must be at least 1,/],
    ["-1", 1, undefined, /must be at least 1,/],
    ["11", 0, 10, /must be between 0 and 10,/],
  ];
  for (const [value, min, max, expect] of cases) {
    assertBad(() => parseInteger(value, "--nodes", min, max), "--nodes", value, expect);
  }
});

test("parsePort accepts 1..65535 only", () => {
  for (const [value, want] of [
    ["1", 1],
    ["6443", 6443],
    ["65535", 65535],
  ] as const) {
    assert.equal(parsePort(value, "--port"), want);
  }
  for (const value of ["0", "65536", "-1", "http", "80.5"]) {
    assertBad(
      () => parsePort(value, "--port"),
      "--port",
      value,
      /--port must be (a whole number|between 1 and 65535)/,
    );
  }
});

test("parseSeconds accepts positive numbers, fractions included", () => {
  for (const [value, want] of [
    ["1", 1],
    ["0.5", 0.5],
    ["90", 90],
    [" 2.25 ", 2.25],
  ] as const) {
    assert.equal(parseSeconds(value, "--timeout"), want);
  }
  for (const value of ["0", "-1", "", "  ", "abc", "Infinity", "NaN", "5s"]) {
    assertBad(
      () => parseSeconds(value, "--timeout"),
      "--timeout",
      value,
      /must be a positive number of seconds/,
    );
  }
});
