import assert from "node:assert/strict";
import { test } from "node:test";
import { BadInputError } from "../../kernel/errors.ts";
import { connectionMode, type IdentityKind } from "./connections.ts";

test("connectionMode: the mode each --connections and --identity give", () => {
  const cases: [string | undefined, IdentityKind, string][] = [
    [undefined, "node", "per-node"],
    [undefined, "shared", "pooled"],
    ["per-node", "node", "per-node"],
    ["per-node", "shared", "per-node"],
    ["pooled", "shared", "pooled"],
    [" pooled ", "shared", "pooled"],
  ];
  for (const [flag, identity, want] of cases) {
    assert.equal(connectionMode(flag, identity), want, `--connections ${flag} --identity ${identity}`);
  }
});

test("connectionMode: bad values and pooled node identities are refused, naming the fix", () => {
  const cases: [string, IdentityKind, RegExp][] = [
    ["pooled", "node", /--connections pooled needs --identity shared: .*client certificate/],
    ["", "shared", /--connections must be per-node or pooled, got ""/],
    ["pernode", "node", /--connections must be per-node or pooled, got "pernode"/],
    ["Pooled", "shared", /--connections must be per-node or pooled, got "Pooled"/],
    ["shared", "shared", /--connections must be per-node or pooled, got "shared"/],
  ];
  for (const [flag, identity, want] of cases) {
    assert.throws(
      () => connectionMode(flag, identity),
      (err: unknown) => err instanceof BadInputError && want.test(err.message),
      `--connections ${JSON.stringify(flag)} --identity ${identity}`,
    );
  }
  assert.throws(
    () => connectionMode("pooled", "node"),
    (err: unknown) =>
      err instanceof BadInputError && /--identity shared --connections pooled/.test(err.hint ?? ""),
  );
});
