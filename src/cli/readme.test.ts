/**
 * Every command the README shows runs as written: each one in its bash blocks (and the commands in
 * its inline code) names a program that exists here and flags that program parses. Full runs are
 * too long for a unit test; the CLI's commands are parsed by its own command definitions, the
 * benchmarks' by their own parsers (`--help` after the README's flags, through `npm run` on the
 * machine's PATH, whatever its `node` is).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CommanderError } from "commander";
import { hoistClusterFlags } from "./global-flags.ts";
import { testProgram } from "./test-program.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const README = readFileSync(new URL("README.md", `file://${ROOT}`), "utf8");
const SCRIPTS = (
  JSON.parse(readFileSync(new URL("package.json", `file://${ROOT}`), "utf8")) as {
    scripts: Record<string, string>;
  }
).scripts;

/** Other tools the README shows, which this repository does not provide. */
const EXTERNAL = new Set(["kubectl", "skopeo", "docker", "jq", "export", "source", "tar", "sha256sum"]);

/** Command lines of the README: its bash blocks' lines and its inline code that starts with a program. */
function readmeCommandLines(): string[] {
  const lines: string[] = [];
  for (const block of README.matchAll(/```bash\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.replace(/\\\n/g, " ").split("\n")) {
      const code = line.replace(/(^|\s)#.*$/, "").trim();
      if (code) lines.push(code);
    }
  }
  const prose = README.replace(/```[\s\S]*?```/g, "");
  for (const span of prose.matchAll(/`([^`]+)`/g)) {
    const code = span[1]!.replace(/\s+/g, " ").trim();
    // Lists of verbs (`up / down / status`) and elisions (`kubectl kubemark ...`) are prose.
    if (code.includes(" / ") || code.includes("...") || code === "npm run") continue;
    if (
      /^(node |npm (run|ci|test|install|pack)|\.\/kubemark-cluster |kubemark-cluster |kubectl kubemark )/.test(
        code,
      )
    )
      lines.push(code);
  }
  return lines;
}

/** Splits a command line into commands (at `&&`, `;`, `|`), with `$(...)` run as commands of their own. */
function commands(line: string): string[][] {
  const inner: string[] = [];
  let text = line.replace(/<\(([^()]*)\)/g, (_, c: string) => (inner.push(c), "X"));
  text = text.replace(/\$\(([^()]*)\)/g, (_, c: string) => (inner.push(c), "X"));
  const out: string[][] = [];
  for (const part of [...text.split(/&&|;|\|(?!\|)/), ...inner]) {
    const words = [...part.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
    while (words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) words.shift();
    if (words.length) out.push(words.map((w) => w.replace(/^\[(.*)\]$/, "$1")));
  }
  return out;
}

const program = testProgram;

/** Parses a kubemark-cluster command line with the CLI's definitions, running nothing. */
async function parsesAsCli(args: string[]): Promise<void> {
  const p = program();
  p.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  for (const c of p.commands) {
    c.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    c.hook("preAction", () => {
      throw new Error("parsed");
    });
  }
  try {
    await p.parseAsync(hoistClusterFlags(p, args), { from: "user" });
  } catch (err) {
    if (err instanceof Error && err.message === "parsed") return;
    if (err instanceof CommanderError && err.code === "commander.helpDisplayed") return;
    throw err;
  }
}

test("the README's commands name programs that exist and flags they parse", async () => {
  const engineHelp = spawnSync(`${ROOT}hollow-node`, ["--help"], { encoding: "utf8" }).stdout;
  const problems: string[] = [];
  let checked = 0;
  for (const line of readmeCommandLines()) {
    for (const words of commands(line)) {
      const [prog, ...args] = words as [string, ...string[]];
      const where = `README: ${line}`;
      checked++;
      if (prog === "node") {
        problems.push(
          `${where}: 'node' is the machine's Node (maybe older than 24); use an npm script or a launcher`,
        );
      } else if (
        prog === "./kubemark-cluster" ||
        prog === "kubemark-cluster" ||
        prog === "./kubectl-kubemark"
      ) {
        await parsesAsCli(args).catch((err: unknown) => problems.push(`${where}: ${String(err)}`));
      } else if (prog === "kubectl" && args[0] === "kubemark") {
        await parsesAsCli(args.slice(1)).catch((err: unknown) => problems.push(`${where}: ${String(err)}`));
      } else if (prog === "./hollow-node" || prog === "hollow-node") {
        for (const flag of args.filter((a) => a.startsWith("--")))
          if (!engineHelp.includes(flag.split("=")[0]!))
            problems.push(`${where}: hollow-node has no ${flag}`);
      } else if (prog === "npm") {
        if (args[0] === "run") {
          const script = args[1] ?? "";
          if (!(script in SCRIPTS)) problems.push(`${where}: no npm script '${script}'`);
          else if (script.startsWith("bench")) {
            // On the machine's PATH: npm runs the script on the project's Node, whatever `node` is here.
            const passed = args.slice(args.indexOf("--") + 1);
            const r = spawnSync(
              "npm",
              ["run", "--silent", script, "--", ...(args.includes("--") ? passed : []), "--help"],
              {
                cwd: ROOT,
                encoding: "utf8",
              },
            );
            if (r.status !== 0 || !r.stdout.includes("Usage:"))
              problems.push(`${where}: exit ${r.status}: ${r.stderr.trim().split("\n").slice(-3).join(" ")}`);
          }
        } else if (!["ci", "test", "pack", "install"].includes(args[0] ?? "")) {
          problems.push(`${where}: npm ${args[0]} is not a command the README should need`);
        }
      } else if (!EXTERNAL.has(prog)) {
        problems.push(`${where}: '${prog}' is no program of this repository or a known tool`);
      }
    }
  }
  assert.ok(checked > 40, `found ${checked} commands in the README`);
  assert.deepEqual(problems, []);
});

test("the README's setup is one line and shows the kubectl plugin and completion", () => {
  assert.match(README, /```bash\nnpm ci --loglevel=error && \.\/kubemark-cluster up && [^\n]*\n```/);
  assert.match(README, /kubectl kubemark create 100/);
  assert.match(README, /completion bash/);
});
