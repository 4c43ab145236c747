/**
 * The packaged install (issue 21): `npm pack` makes a tarball with everything the CLI needs, which
 * installs globally into a prefix and runs from any directory on its own Node.js 24, started by
 * whatever `node` the machine has.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, testCluster, type RunResult } from "../harness.ts";

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
}

test("npm pack, npm install -g --prefix, then the installed CLI from another directory", async () => {
  const c = testCluster();
  const dir = await mkdtemp(join(tmpdir(), "kubemark-package-"));
  try {
    // The machine's PATH: its `node` and `npm`, not the project's (npm scripts would put those first).
    const PATH = (process.env["PATH"] ?? "")
      .split(":")
      .filter((p) => !p.includes("node_modules"))
      .join(":");
    const env = { ...process.env, PATH, npm_config_loglevel: "error" };
    const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], { ...env }, 600_000);
    ok(packed, "npm pack");
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = info[0]!.files.map((f) => f.path);
    for (const need of [
      "bin/kubemark-cluster.js",
      "bin/kubectl-kubemark.js",
      "bin/hollow-node.js",
      "dist/cli/main.js",
      "dist/cli/kubectl-plugin.js",
      "dist/cli/hollow-node/main.js",
      "dist/engine-bundle/hollow-node.mjs",
      "dist/workers/relay.js",
      "package.json",
      "README.md",
    ]) {
      assert.ok(files.includes(need), `the tarball has ${need}`);
    }
    assert.ok(
      !files.some((f) => f.startsWith("src/") || f.startsWith("test/") || f.endsWith(".test.js")),
      "no sources or tests",
    );

    const prefix = join(dir, "prefix");
    const tgz = join(dir, info[0]!.filename);
    const installed = await run(
      "npm",
      // Not --allow-scripts=node: npm 11.19 then fails the nested install the node package's
      // preinstall makes (EALLOWSCRIPTS); without it the script runs, with a note.
      ["install", "-g", "--no-audit", "--no-fund", "--prefix", prefix, tgz],
      env,
      600_000,
    );
    ok(installed, "npm install -g");
    assert.deepEqual((await readdir(join(prefix, "bin"))).sort(), [
      "hollow-node",
      "kubectl-kubemark",
      "kubemark-cluster",
    ]);

    // From another directory, with only the prefix's bin added to the machine's PATH.
    const elsewhere = join(dir, "elsewhere");
    await mkdir(elsewhere);
    const user = {
      ...process.env,
      PATH: `${join(prefix, "bin")}:${PATH}`,
      KUBEMARK_STATE_DIR: c.stateDir,
      CI: "true",
    };
    const inDir = (file: string, args: string[]): Promise<RunResult> =>
      run("sh", ["-c", `cd "$1" && shift && exec "$@"`, "sh", elsewhere, file, ...args], user);
    const help = await inDir("kubemark-cluster", ["--help"]);
    ok(help, "kubemark-cluster --help");
    assert.match(help.stdout, /^Usage: kubemark-cluster/m);
    const upHelp = await inDir("kubemark-cluster", ["up", "--help"]);
    ok(upHelp, "kubemark-cluster up --help");
    assert.match(upHelp.stdout, /--kube-version/);
    const dry = await inDir("kubemark-cluster", [
      "--kubeconfig",
      c.kubeconfig,
      "create",
      "3",
      "--in-cluster",
      "--dry-run=client",
    ]);
    ok(dry, "kubemark-cluster create --dry-run=client");
    assert.match(dry.stdout, /kind: StatefulSet/);
    // The in-cluster workload ships the prebuilt engine bundle (no esbuild in the package).
    assert.match(dry.stdout, /hollow-node\.mjs\.gz/);
    const status = await inDir("kubemark-cluster", ["status", "--name", c.name, "-o", "json"]);
    ok(status, "kubemark-cluster status");
    const plugin = await inDir("kubectl-kubemark", ["--help"]);
    ok(plugin, "kubectl-kubemark --help");
    assert.match(plugin.stdout, /^Usage: kubectl kubemark/m);
    const engine = await inDir("hollow-node", ["--help"]);
    ok(engine, "hollow-node --help");
    const completion = await inDir("kubemark-cluster", ["completion", "bash"]);
    ok(completion, "kubemark-cluster completion bash");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
