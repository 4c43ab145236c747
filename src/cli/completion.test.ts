import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { completionSpec, renderCompletion } from "./completion.ts";
import { testProgram } from "./test-program.ts";

const program = testProgram;

function hasShell(shell: string): boolean {
  return spawnSync(shell, ["-c", "exit 0"]).status === 0;
}

test("the completion data comes from the command definitions: every verb, its flags and value kinds", () => {
  const p = program();
  const spec = completionSpec(p);
  assert.deepEqual(spec.verbs.map((v) => v.name).sort(), [...p.commands.map((c) => c.name()), "help"].sort());
  const create = spec.verbs.find((v) => v.name === "create")!;
  const longs = create.flags.map((f) => f.long);
  for (const opt of p.commands.find((c) => c.name() === "create")!.options)
    assert.ok(longs.includes(opt.long), `create completes ${opt.long}`);
  assert.ok(longs.includes("--state-dir"), "the program's own option after the verb");
  assert.deepEqual(create.flags.find((f) => f.long === "--kubeconfig")?.value, { kind: "file" });
  assert.equal(create.flags.find((f) => f.long === "--no-wait")?.value, undefined);
  assert.deepEqual(spec.verbs.find((v) => v.name === "completion")?.argChoices, ["bash", "zsh", "fish"]);
  // Before the verb: the program's options and the cluster flags.
  assert.deepEqual(
    spec.globalFlags.map((f) => f.long),
    [
      "--state-dir",
      "--help",
      "--kubeconfig",
      "--context",
      "--namespace",
      "--target-kubeconfig",
      "--target-context",
      "--output",
    ],
  );
});

/** Completions bash offers for a command line whose last word is being completed. */
function bashComplete(script: string, words: string[], cwd: string): string[] {
  const r = spawnSync(
    "bash",
    [
      "--norc",
      "--noprofile",
      "-c",
      `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _kubemark_cluster; printf '%s\\n' "\${COMPREPLY[@]}"`,
      "complete",
      script,
      ...words,
    ],
    { encoding: "utf8", cwd },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  return r.stdout.split("\n").filter(Boolean);
}

test("bash: the script sourced in bash completes verbs, flags before and after the verb, files and choices", async (t) => {
  if (!hasShell("bash")) return t.skip("no bash here");
  const dir = await mkdtemp(join(tmpdir(), "kmc-completion-"));
  try {
    const script = join(dir, "completion.sh");
    await writeFile(script, renderCompletion(completionSpec(program()), "bash"));
    await writeFile(join(dir, "kube.yaml"), "");
    await mkdir(join(dir, "kstate"));
    const c = (...words: string[]): string[] => bashComplete(script, ["kubemark-cluster", ...words], dir);
    assert.ok(c("").includes("create") && c("").includes("cleanup") && c("").includes("completion"));
    assert.deepEqual(c("cr"), ["create"]);
    assert.deepEqual(c("c"), ["create", "cleanup", "completion"]);
    assert.deepEqual(c("--kubeconfig", "K", "-n", "x", "sc"), ["scale"]);
    // bash splits `--kubeconfig=K` at the '='.
    assert.deepEqual(c("--kubeconfig", "=", "K", "ver"), ["verify"]);
    assert.deepEqual(c("list", "--kubeconfig", "=", "ku"), ["kube.yaml"]);
    assert.deepEqual(c("--kube"), ["--kubeconfig"]);
    assert.deepEqual(c("create", "--dry"), ["--dry-run"]);
    assert.deepEqual(c("-n", "x", "create", "100", "--no-"), [
      "--no-proxy",
      "--no-storage",
      "--no-attach",
      "--no-wait",
    ]);
    assert.deepEqual(c("up", "--lo"), ["--load-test"]);
    assert.deepEqual(c("list", "--kubeconfig", "ku"), ["kube.yaml"]);
    assert.deepEqual(c("--kubeconfig", "ku"), ["kube.yaml"]);
    assert.deepEqual(c("up", "--bin-dir", "k"), ["kstate"]);
    assert.deepEqual(c("create", "-n", ""), [], "a namespace is not a file");
    assert.deepEqual(c("completion", ""), ["bash", "zsh", "fish"]);
    assert.deepEqual(c("help", "cl"), ["cleanup"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("zsh: the script loads under compinit and registers the completion function", async (t) => {
  if (!hasShell("zsh")) return t.skip("no zsh here");
  const dir = await mkdtemp(join(tmpdir(), "kmc-completion-"));
  try {
    const script = join(dir, "_kubemark-cluster");
    await writeFile(script, renderCompletion(completionSpec(program()), "zsh"));
    const syntax = spawnSync("zsh", ["-n", script], { encoding: "utf8" });
    assert.equal(syntax.status, 0, syntax.stderr);
    const r = spawnSync(
      "zsh",
      [
        "-f",
        "-c",
        `autoload -Uz compinit && compinit -u -D && source "$1" && print -r -- $_comps[kubemark-cluster]`,
        "zsh",
        script,
      ],
      { encoding: "utf8", env: { ...process.env, HOME: dir } },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "_kubemark_cluster");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("fish: the script loads and completes verbs and flags", async (t) => {
  if (!hasShell("fish")) return t.skip("no fish here");
  const dir = await mkdtemp(join(tmpdir(), "kmc-completion-"));
  try {
    const script = join(dir, "kubemark-cluster.fish");
    await writeFile(script, renderCompletion(completionSpec(program()), "fish"));
    const complete = (line: string): string[] => {
      const r = spawnSync(
        "fish",
        ["--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, line],
        {
          encoding: "utf8",
          env: { ...process.env, HOME: dir },
        },
      );
      assert.equal(r.status, 0, r.stderr);
      return r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t")[0]!);
    };
    assert.ok(complete("kubemark-cluster cr").includes("create"));
    assert.ok(complete("kubemark-cluster -n x --kubeconfig K sc").includes("scale"));
    assert.ok(complete("kubemark-cluster create --dry").includes("--dry-run"));
    assert.ok(!complete("kubemark-cluster up --").includes("--kubeconfig"), "up takes no --kubeconfig");
    assert.deepEqual(complete("kubemark-cluster completion "), ["bash", "fish", "zsh"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
