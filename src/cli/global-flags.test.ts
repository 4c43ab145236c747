import { test } from "node:test";
import assert from "node:assert/strict";
import { BadInputError } from "../kernel/errors.ts";
import { hoistClusterFlags } from "./global-flags.ts";
import { testProgram } from "./test-program.ts";

const program = testProgram;

test("cluster flags before the verb move to just after it; the program's own options stay", () => {
  const cases: Array<[string[], string[]]> = [
    [
      ["--kubeconfig", "K", "-n", "x", "create", "100"],
      ["create", "--kubeconfig", "K", "-n", "x", "100"],
    ],
    [
      ["--kubeconfig=K", "-nx", "-ojson", "list"],
      ["list", "--kubeconfig=K", "-nx", "-ojson"],
    ],
    [
      ["--state-dir", "/s", "--context", "c", "verify", "-o", "json"],
      ["--state-dir", "/s", "verify", "--context", "c", "-o", "json"],
    ],
    [
      ["--target-kubeconfig", "T", "--target-context", "t", "setup"],
      ["setup", "--target-kubeconfig", "T", "--target-context", "t"],
    ],
    [
      ["-o", "json", "status"],
      ["status", "-o", "json"],
    ],
    // Already after the verb, or nothing to move: unchanged.
    [
      ["create", "100", "--kubeconfig", "K"],
      ["create", "100", "--kubeconfig", "K"],
    ],
    [["--kubeconfig"], ["--kubeconfig"]],
    [
      ["--bogus", "-n", "x", "create"],
      ["--bogus", "-n", "x", "create"],
    ],
    [
      ["--", "-n", "x", "create"],
      ["--", "-n", "x", "create"],
    ],
    [
      ["-n", "x", "help", "create"],
      ["help", "-n", "x", "create"],
    ],
  ];
  for (const [argv, want] of cases) {
    assert.deepEqual(hoistClusterFlags(program(), argv), want, argv.join(" "));
  }
});

test("a cluster flag the verb does not take is an error naming the verbs that do, in either position", () => {
  for (const argv of [
    ["--kubeconfig", "K", "up"],
    ["up", "--kubeconfig", "K"],
    ["-n", "x", "down"],
    ["status", "--namespace=x"],
    ["-o", "json", "logs"],
  ]) {
    assert.throws(
      () => hoistClusterFlags(program(), argv),
      (err: unknown) =>
        err instanceof BadInputError &&
        /^'kubemark-cluster (up|down|status|logs)' takes no (--kubeconfig|-n\/--namespace|-o\/--output); the commands that do: .*create/.test(
          err.message,
        ),
      argv.join(" "),
    );
  }
});

test("each verb parses its cluster flags the same before and after its name", async () => {
  const seen: Array<Record<string, unknown>> = [];
  for (const argv of [
    ["create", "7", "--kubeconfig", "K", "-n", "ns", "--context", "c", "-o", "yaml", "--dry-run=client"],
    ["--kubeconfig", "K", "-n", "ns", "--context", "c", "-o", "yaml", "create", "7", "--dry-run=client"],
  ]) {
    const p = program();
    const create = p.commands.find((c) => c.name() === "create")!;
    create.hook("preAction", (_, cmd) => {
      seen.push({ args: cmd.args, ...cmd.opts() });
      throw new Error("parsed");
    });
    await assert.rejects(p.parseAsync(hoistClusterFlags(p, argv), { from: "user" }), /parsed/);
  }
  assert.equal(seen.length, 2);
  assert.deepEqual(seen[0], seen[1]);
  assert.equal(seen[0]?.["kubeconfig"], "K");
  assert.equal(seen[0]?.["namespace"], "ns");
  assert.equal(seen[0]?.["output"], "yaml");
});
