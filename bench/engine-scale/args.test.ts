import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../lib/flag-values.ts";
import { parseEngineScaleArgs, type EngineScaleOptions } from "./args.ts";

const ROOT = "/repo";
const parse = (...argv: string[]): EngineScaleOptions => {
  const args = parseEngineScaleArgs(argv, { INIT_CWD: "/home/u" }, "/repo", ROOT);
  assert.equal(args.help, false);
  return args.options;
};
const rejects = (argv: string[], message: string | RegExp): void =>
  assert.throws(
    () => parseEngineScaleArgs(argv, {}, "/repo", ROOT),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `UsageError, got ${String(err)}`);
      if (typeof message === "string") assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );

test("npm run bench:engine: defaults, and results/engine-scale-<traffic>[-proxy].json", () => {
  assert.deepEqual(parse(), {
    sizes: [1000],
    traffic: "kubelet",
    proxy: true,
    settleMs: 45_000,
    windowMs: 60_000,
    registerTimeoutMs: 600_000,
    podsPerNode: 0,
    kubeconfig: undefined,
    cluster: undefined,
    metricsPort: 19464,
    leaseContentType: "application/vnd.kubernetes.protobuf",
    identity: "kubeconfig",
    connections: undefined,
    soakMinutes: 0,
    csiDriver: "",
    resultsFile: "/repo/results/engine-scale-kubelet-proxy.json",
  });
  assert.equal(
    parse("--traffic", "minimal", "--no-proxy").resultsFile,
    "/repo/results/engine-scale-minimal.json",
  );
});

test("--out: a name goes under results/, a path with a '/' from where the user ran the command", () => {
  assert.equal(parse("--out", "smoke-1.x").resultsFile, "/repo/results/smoke-1.x.json");
  assert.equal(parse("--out", "runs/a.json").resultsFile, "/home/u/runs/a.json");
  assert.equal(parse("--out", "/tmp/a.json").resultsFile, "/tmp/a.json");
  assert.equal(parse("--kubeconfig", "kc").kubeconfig, "/home/u/kc");
});

test("lists and numbers as the user wrote them", () => {
  const o = parse(
    "--nodes",
    "50,1000",
    "--settle",
    "5",
    "--window",
    "0.5",
    "--pods-per-node",
    "2",
    "--soak",
    "3",
  );
  assert.deepEqual(o.sizes, [50, 1000]);
  assert.equal(o.settleMs, 5_000);
  assert.equal(o.windowMs, 500);
  assert.equal(o.podsPerNode, 2);
  assert.equal(o.soakMinutes, 3);
  assert.equal(parse("--register-timeout", "1200").registerTimeoutMs, 1_200_000);
  assert.equal(parse("--identity", "fleet").identity, "fleet");
  assert.equal(parse("--identity", "node").identity, "node");
  assert.equal(parse("--connections", "per-node").connections, "per-node");
  assert.equal(parse("--connections", "pooled").connections, "pooled");
  assert.equal(
    parse("--csi-driver", "hollow.csi.kubemark-cluster.io").csiDriver,
    "hollow.csi.kubemark-cluster.io",
  );
});

test("--help and -h ask for usage", () => {
  assert.deepEqual(parseEngineScaleArgs(["--help"], {}, "/", ROOT), { help: true });
  assert.deepEqual(parseEngineScaleArgs(["-h"], {}, "/", ROOT), { help: true });
});

test("bad input: the error names the flag and the value", () => {
  rejects(["--soak", "1.5"], '--soak takes whole minutes (0 for none), got "1.5"');
  rejects(["--soak=-1"], '--soak takes whole minutes (0 for none), got "-1"');
  rejects(
    ["--out", "a b"],
    `--out takes a name (written to results/<name>.json) or a path with a '/', got "a b"`,
  );
  rejects(["--identity", "root"], '--identity takes kubeconfig, fleet or node, got "root"');
  rejects(["--connections", "shared"], '--connections takes per-node or pooled, got "shared"');
  rejects(["--nodes", "1k"], /--nodes .*got "1k"/);
  rejects(["--settle", "x"], /--settle .*got "x"/);
  rejects(["--pods-per-node=-2"], /--pods-per-node .*got "-2"/);
  rejects(["--metrics-port", "70000"], /--metrics-port .*got "70000"/);
  rejects(["--nodez", "5"], /--nodez/);
  rejects(["--window"], /--window/);
});
