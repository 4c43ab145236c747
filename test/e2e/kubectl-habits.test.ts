/**
 * kubectl habits (issue 21), run as a user would against the real control plane: cluster flags
 * before or after every verb, and `kubectl kubemark` through the kubectl this project builds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, cli, kubectlPath, run, testCluster, type RunResult } from "../harness.ts";

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
}

/** Runs `before` (flags ahead of the verb) and `after` (the same flags behind it); both must agree. */
async function bothWays(verb: string, flags: string[], rest: string[] = []): Promise<[RunResult, RunResult]> {
  const before = await cli([...flags, verb, ...rest]);
  const after = await cli([verb, ...rest, ...flags]);
  const what = `${verb} ${flags.join(" ")}`;
  assert.equal(before.code, after.code, `${what}: exit codes differ\n${before.stderr}\n${after.stderr}`);
  assert.equal(before.stderr, after.stderr, `${what}: stderr differs`);
  return [before, after];
}

test("every verb takes its cluster flags before or after its name, with the same outcome", async () => {
  const c = testCluster();
  const ns = "habits";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];

  // Verbs of the local control plane: -o both ways, real runs.
  let [b, a] = await bothWays("status", ["-o", "json"], ["--name", c.name]);
  ok(b, "status");
  assert.deepEqual(
    (JSON.parse(b.stdout) as { name: string }[]).map((x) => x.name),
    (JSON.parse(a.stdout) as { name: string }[]).map((x) => x.name),
  );
  [b, a] = await bothWays("down", ["-o", "json"], ["--name", "no-such-cluster"]);
  ok(b, "down");
  assert.equal(b.stdout, a.stdout);
  assert.equal((JSON.parse(b.stdout) as { existed: boolean }).existed, false);
  [b, a] = await bothWays("build", ["-o", "json"]);
  ok(b, "build");
  assert.equal(b.stdout, a.stdout);
  [b] = await bothWays("up", ["-o", "json"], ["--name", c.name, "--port", "nope"]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /--port/);
  [b, a] = await bothWays("image", ["-o", "yaml"], ["--help"]);
  ok(b, "image --help");
  assert.equal(b.stdout, a.stdout);
  // A cluster flag a verb does not take: the same error in both positions, naming the verbs that do.
  for (const verb of ["up", "down", "status", "build", "kubeconfig", "completion"]) {
    [b] = await bothWays(verb, ["--kubeconfig", c.kubeconfig], verb === "completion" ? ["bash"] : []);
    assert.equal(b.code, 2, `${verb} --kubeconfig`);
    assert.match(
      b.stderr,
      new RegExp(`'kubemark-cluster ${verb}' takes no --kubeconfig; the commands that do: setup, create`),
    );
  }

  // Fleet verbs: real runs with the flags ahead of the verb, and the same verbs with them behind.
  [b, a] = await bothWays("create", [...scope, "-o", "yaml"], ["3", "--local", "--dry-run=client"]);
  ok(b, "create --dry-run=client");
  assert.equal(b.stdout, a.stdout);
  assert.match(b.stdout, new RegExp(`namespace: ${ns}`));
  ok(await cli([...scope, "setup"]), "setup, flags before");
  ok(await cli(["setup", ...scope]), "setup, flags after");
  ok(await cli([...scope, "create", "2", "--local"]), "create, flags before");
  ok(await cli(["scale", "3", ...scope]), "scale, flags after");
  ok(await cli([...scope, "scale", "2"]), "scale, flags before");
  [b, a] = await bothWays("verify", [...scope, "-o", "json"]);
  ok(b, "verify");
  assert.equal((JSON.parse(b.stdout) as { ready: number }).ready, 2);
  assert.equal((JSON.parse(a.stdout) as { ready: number }).ready, 2);
  [b, a] = await bothWays("list", [...scope, "-o", "json"]);
  ok(b, "list");
  assert.equal((JSON.parse(b.stdout) as { spec: { nodes: number } }).spec.nodes, 2);
  assert.equal((JSON.parse(a.stdout) as { spec: { nodes: number } }).spec.nodes, 2);
  [b] = await bothWays("logs", scope, ["--tail", "5"]);
  ok(b, "logs");
  ok(await cli([...scope, "cleanup", "--all"]), "cleanup, flags before");
  const again = await cli(["cleanup", "--all", ...scope]);
  ok(again, "cleanup, flags after");
  assert.match(again.stdout, /nothing to remove/);
});

test("kubectl plugin: 'kubectl plugin list' finds kubectl-kubemark on PATH and 'kubectl kubemark' runs it", async () => {
  const c = testCluster();
  const dir = await mkdtemp(join(tmpdir(), "kubemark-plugin-"));
  try {
    // As a user installs it: the executable (here a link to the checkout's launcher) on PATH.
    await symlink(join(ROOT, "kubectl-kubemark"), join(dir, "kubectl-kubemark"));
    const env = {
      ...process.env,
      PATH: `${dir}:/usr/local/bin:/usr/bin:/bin`,
      KUBEMARK_STATE_DIR: c.stateDir,
      KUBECONFIG: c.kubeconfig,
      CI: "true",
    };
    const kubectl = kubectlPath();
    const list = await run(kubectl, ["plugin", "list"], env);
    ok(list, "kubectl plugin list");
    assert.ok(list.stdout.includes(join(dir, "kubectl-kubemark")), list.stdout);
    const help = await run(kubectl, ["kubemark", "--help"], env);
    ok(help, "kubectl kubemark --help");
    assert.match(help.stdout, /^Usage: kubectl kubemark \[options\] \[command\]/m);
    assert.match(help.stdout, /kubectl kubemark create \[N\]/);
    const dry = await run(
      kubectl,
      ["kubemark", "-n", "plugin", "create", "2", "--local", "--dry-run=client"],
      env,
    );
    ok(dry, "kubectl kubemark create --dry-run=client");
    assert.match(dry.stdout, /namespace: plugin/);
    const bad = await run(kubectl, ["kubemark", "create", "-5"], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /hint: for example 'kubectl kubemark create 100'/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
