import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../lib/flag-values.ts";
import { parseCompareArgs, type CompareOptions } from "./args.ts";

const ROOT = "/repo";
const parse = (...argv: string[]): CompareOptions => {
  const args = parseCompareArgs(argv, { INIT_CWD: "/home/u" }, "/repo", ROOT);
  assert.equal(args.help, false);
  return args.options;
};
const rejects = (argv: string[], message: RegExp): void =>
  assert.throws(
    () => parseCompareArgs(argv, {}, "/repo", ROOT),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `UsageError, got ${String(err)}`);
      assert.match(err.message, message);
      return true;
    },
  );

test("npm run bench: the full suite's defaults", () => {
  assert.deepEqual(parse(), {
    quick: false,
    systems: ["hollow-node", "kubemark", "kwok"],
    sizes: [10, 100, 1000, 5000],
    kubemarkMax: 100,
    podNodes: 100,
    pods: 1000,
    podRate: 50,
    fidelityIdleMs: 600_000,
    settleMs: 30_000,
    windowMs: 60_000,
    out: "/repo/results/compare",
    kubeVersion: "v1.36.3",
    identity: "shared",
  });
});

test("--identity node asks for per-node identities; anything else is refused", () => {
  assert.equal(parse("--identity", "node").identity, "node");
  rejects(["--identity", "nodes"], /--identity takes shared or node, got "nodes"/);
});

test("--quick: smaller defaults, and its own results directory; flags still win", () => {
  const o = parse("--quick", "--pods", "50");
  assert.deepEqual(o.sizes, [10, 100]);
  assert.equal(o.podNodes, 10);
  assert.equal(o.pods, 50);
  assert.equal(o.podRate, 20);
  assert.equal(o.fidelityIdleMs, 45_000);
  assert.equal(o.settleMs, 10_000);
  assert.equal(o.windowMs, 20_000);
  assert.equal(o.out, "/repo/results/compare-quick");
});

test("lists, seconds and --out as the user wrote them", () => {
  const o = parse(
    "--systems",
    "hollow-node, kwok",
    "--nodes",
    "10,1000",
    "--settle",
    "2.5",
    "--out",
    "x",
    "--kube-version",
    "v1.35.0",
  );
  assert.deepEqual(o.systems, ["hollow-node", "kwok"]);
  assert.deepEqual(o.sizes, [10, 1000]);
  assert.equal(o.settleMs, 2_500);
  assert.equal(o.out, "/home/u/x");
  assert.equal(o.kubeVersion, "v1.35.0");
});

test("--help and -h ask for usage, whatever else is given", () => {
  assert.deepEqual(parseCompareArgs(["--help"], {}, "/", ROOT), { help: true });
  assert.deepEqual(parseCompareArgs(["-h", "--nodes", "abc"], {}, "/", ROOT), { help: true });
});

test("bad input: the error names the flag and the value", () => {
  rejects(["--nodes", "abc"], /--nodes .*positive integers, got "abc"/);
  rejects(["--nodes", "10,0"], /--nodes .*got "10,0"/);
  rejects(["--nodes", ""], /--nodes/);
  rejects(
    ["--systems", "hollow-node,kubelet"],
    /--systems .*hollow-node, kubemark, kwok, got "hollow-node,kubelet"/,
  );
  rejects(["--pod-rate", "0"], /--pod-rate .*above 0, got "0"/);
  rejects(["--pods", "1.5"], /--pods .*whole number.*got "1.5"/);
  rejects(["--kubemark-max=-1"], /--kubemark-max .*got "-1"/);
  rejects(["--settle", "soon"], /--settle .*seconds.*got "soon"/);
  rejects(["--window=-5"], /--window .*got "-5"/);
  rejects(["--fidelity-idle", "NaN"], /--fidelity-idle/);
});

test("bad input: unknown flags and missing values are usage errors", () => {
  rejects(["--node", "10"], /--node/);
  rejects(["--nodes"], /--nodes/);
  rejects(["extra"], /extra/);
});
