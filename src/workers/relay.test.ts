import { test } from "node:test";
import assert from "node:assert/strict";
import { cidrMatcher } from "./relay.ts";

test("the relay accepts only the allowed networks", () => {
  const allowed = cidrMatcher(["10.128.0.0/9", "10.254.0.0/24", "10.0.0.1/32"]);
  assert.ok(allowed("10.128.0.5"));
  assert.ok(allowed("10.255.255.1"));
  assert.ok(allowed("::ffff:10.254.0.2"));
  assert.ok(allowed("10.0.0.1"));
  assert.ok(!allowed("10.0.0.2"));
  assert.ok(!allowed("192.0.2.7"));
  assert.ok(!allowed("127.0.0.1"));
  assert.ok(!allowed("fd00::2"));
});
