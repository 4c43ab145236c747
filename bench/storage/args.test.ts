import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../lib/flag-values.ts";
import { parseStorageArgs, type StorageOptions } from "./args.ts";

const parse = (...argv: string[]): StorageOptions => {
  const args = parseStorageArgs(argv, { INIT_CWD: "/home/u" }, "/repo", "/repo");
  assert.equal(args.help, false);
  return args.options;
};
const rejects = (argv: string[], message: RegExp): void =>
  assert.throws(
    () => parseStorageArgs(argv, {}, "/repo", "/repo"),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `UsageError, got ${String(err)}`);
      assert.match(err.message, message);
      return true;
    },
  );

test("npm run bench:storage: 1,000 pods on 100 nodes, with and without attach, 15 minutes each", () => {
  assert.deepEqual(parse(), {
    nodes: 100,
    pods: 1000,
    setSize: 100,
    modes: ["attach", "no-attach"],
    timeoutMs: 900_000,
    kubeconfig: undefined,
    cluster: undefined,
    resultsFile: "/repo/results/storage-100n-1000p.json",
  });
});

test("flags: sizes name the results file; one mode; a kubeconfig and --out relative to where the user ran it", () => {
  const o = parse(
    "--nodes",
    "10",
    "--pods",
    "20",
    "--set-size",
    "10",
    "--modes",
    "no-attach",
    "--timeout",
    "60",
    "--kubeconfig",
    "k.yaml",
  );
  assert.equal(o.resultsFile, "/repo/results/storage-10n-20p.json");
  assert.deepEqual(o.modes, ["no-attach"]);
  assert.equal(o.timeoutMs, 60_000);
  assert.equal(o.setSize, 10);
  assert.equal(o.kubeconfig, "/home/u/k.yaml");
  assert.equal(parse("--out", "mine").resultsFile, "/repo/results/mine.json");
  assert.equal(parse("--out", "./r/x.json").resultsFile, "/home/u/r/x.json");
  assert.deepEqual(parse("--modes", "no-attach,attach").modes, ["no-attach", "attach"]);
});

test("bad values name the flag and the value", () => {
  rejects(["--nodes", "0"], /--nodes takes a whole number of at least 1, got "0"/);
  rejects(["--pods", "many"], /--pods .* got "many"/);
  rejects(["--modes", "attach,fast"], /--modes takes attach, no-attach or both .* got "attach,fast"/);
  rejects(["--modes", "attach,attach"], /--modes/);
  rejects(["--timeout", "0"], /--timeout takes a number of seconds above 0, got "0"/);
  rejects(["--out", "a b"], /--out takes a name/);
  rejects(["--bogus"], /bogus/);
});

test("--help", () => {
  assert.deepEqual(parseStorageArgs(["--help"], {}, "/repo", "/repo"), { help: true });
});
