/**
 * The architecture's two checks, kept from silently stopping working: the layer rule of
 * eslint.config.js fires on probe sources placed in each layer, and src/ has no import cycle.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint, type Linter } from "eslint";
import tseslint from "typescript-eslint";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The layer table (README "Architecture"): what each layer of src/ may import besides itself. */
const ALLOWED: Record<string, readonly string[] | "anything"> = {
  cli: "anything",
  report: ["client", "host", "kernel"],
  workers: ["fleet", "controlplane", "engine", "client", "host", "kernel"],
  fleet: ["controlplane", "engine", "client", "host", "kernel"],
  controlplane: ["client", "host", "kernel"],
  engine: ["client", "host", "kernel"],
  client: ["kernel"],
  host: ["kernel"],
  kernel: [],
};
const LAYERS = Object.keys(ALLOWED);

let eslint: ESLint | undefined;

/** The messages of `rule` for `code` linted as the file `path` (relative to the repository). */
async function lint(path: string, code: string, rule = "no-restricted-imports"): Promise<string[]> {
  // The project's own config, without type information: the probe files do not exist on disk.
  eslint ??= new ESLint({ cwd: ROOT, overrideConfig: [tseslint.configs.disableTypeChecked] });
  const results = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return results
    .flatMap((r) => r.messages)
    .flatMap((m: Linter.LintMessage) => (m.ruleId === rule ? [m.message] : []));
}

test("the layer rule fails a lower layer that imports a higher one, and only then", async () => {
  for (const layer of LAYERS) {
    const allowed = ALLOWED[layer]!;
    for (const other of LAYERS) {
      if (other === layer) continue;
      const messages = await lint(
        `src/${layer}/layer-probe.ts`,
        `import { x } from "../${other}/x.ts"; export const y = x;`,
      );
      if (allowed === "anything" || allowed.includes(other)) {
        assert.deepEqual(messages, [], `${layer} may import ${other}`);
      } else {
        assert.equal(messages.length, 1, `${layer} -> ${other} is reported`);
        assert.match(messages[0]!, new RegExp(`${layer} must not import ${other}: `), `${layer} -> ${other}`);
      }
    }
  }
});

test("the layer rule sees type-only imports, re-exports and files in sub-folders", async () => {
  const cases: Array<[path: string, code: string, fires: boolean]> = [
    ["src/engine/x.ts", `import type { Cli } from "../cli/parse.ts"; export type Y = Cli;`, true],
    ["src/engine/x.ts", `export { parseInteger } from "../cli/parse.ts";`, true],
    ["src/engine/x.ts", `export * from "../fleet/spec.ts";`, true],
    [
      "src/engine/x.test.ts",
      `import { parseInteger } from "../cli/parse.ts"; parseInteger("1", "-n");`,
      true,
    ],
    [
      "src/engine/sub/x.ts",
      `import { parseInteger } from "../../cli/parse.ts"; parseInteger("1", "-n");`,
      true,
    ],
    ["src/fleet/runtime/local/x.ts", `import { y } from "../../../workers/y.ts"; export const z = y;`, true],
    [
      "src/engine/a/b/c/d/e/f/x.ts",
      `import { y } from "../../../../../../../cli/y.ts"; export const z = y;`,
      true,
    ],
    // ../cli/ from a sub-folder is a folder of the engine itself, not the cli layer.
    ["src/engine/sub/x.ts", `import { y } from "../cli/y.ts"; export const z = y;`, false],
    ["src/engine/x.ts", `import { Clock } from "../kernel/clock.ts"; export type C = Clock;`, false],
    [
      "src/cli/hollow-node/x.ts",
      `import { Engine } from "../../engine/engine.ts"; export const E = Engine;`,
      false,
    ],
  ];
  for (const [path, code, fires] of cases) {
    const messages = await lint(path, code);
    assert.equal(messages.length, fires ? 1 : 0, `${path}: ${code} -> ${JSON.stringify(messages)}`);
  }
});

test("engine and client code takes the Clock: no Date.now, new Date(), setTimeout or setInterval", async () => {
  const banned = [
    "export const t = Date.now();",
    "export const d = new Date();",
    "export const d = new Date;",
    "setTimeout(() => undefined, 10);",
    "export const i = setInterval(() => undefined, 10);",
    "globalThis.setTimeout(() => undefined, 10);",
    `import { setTimeout as sleep } from "node:timers/promises"; await sleep(1);`,
  ];
  const rules = [
    "no-restricted-globals",
    "no-restricted-properties",
    "no-restricted-syntax",
    "no-restricted-imports",
  ];
  const clockMessages = async (path: string, code: string): Promise<string[]> =>
    (await Promise.all(rules.map((rule) => lint(path, code, rule)))).flat();
  for (const layer of ["engine", "client"]) {
    for (const code of banned) {
      const messages = await clockMessages(`src/${layer}/clock-probe.ts`, code);
      assert.equal(messages.length, 1, `${layer}: ${code} -> ${JSON.stringify(messages)}`);
      assert.match(messages[0]!, /take the Clock/);
      // Tests may use real time (to drive a real server, say), and other layers are not restricted.
      assert.deepEqual(
        await clockMessages(`src/${layer}/clock-probe.test.ts`, code),
        [],
        `${layer} test: ${code}`,
      );
    }
  }
  assert.deepEqual(await clockMessages("src/report/clock-probe.ts", banned[0]!), []);
  assert.deepEqual(await clockMessages("src/engine/clock-probe.ts", "export const d = new Date(0);"), []);
});

/** Every .ts file under `dir`. */
async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".ts")).map((e) => join(e.parentPath, e.name));
}

/** Static imports and re-exports (type-only ones included) at the start of a line. */
const IMPORT_RE = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^;"'`]*?\s+from\s+)?["']([^"']+)["']/gm;

/** The import graph of src/: file -> the files of src/ it imports. */
async function importGraph(): Promise<Map<string, string[]>> {
  const files = await sources(join(ROOT, "src"));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = await readFile(file, "utf8");
    const deps = new Set<string>();
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1]!;
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (known.has(target)) deps.add(target);
    }
    graph.set(file, [...deps]);
  }
  return graph;
}

/** The cycles of a graph: one shortest cycle through each strongly connected component. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's strongly connected components, iteratively.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: Array<[node: string, child: number]> = [[start, 0]];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1]!;
      const [node, i] = top;
      const deps = graph.get(node) ?? [];
      if (i < deps.length) {
        top[1]++;
        const dep = deps[i]!;
        if (!index.has(dep)) {
          index.set(dep, next);
          low.set(dep, next++);
          stack.push(dep);
          onStack.add(dep);
          work.push([dep, 0]);
        } else if (onStack.has(dep)) {
          low.set(node, Math.min(low.get(node)!, index.get(dep)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent[0], Math.min(low.get(parent[0])!, low.get(node)!));
      if (low.get(node) === index.get(node)) {
        const component: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          component.push(n);
        } while (n !== node);
        if (component.length > 1 || (graph.get(node) ?? []).includes(node)) components.push(component);
      }
    }
  }
  // Name each component by a shortest cycle through its first file (breadth-first within it).
  return components.map((component) => {
    const members = new Set(component);
    const from = [...component].sort()[0]!;
    const previous = new Map<string, string>();
    const queue = [from];
    while (queue.length) {
      const node = queue.shift()!;
      for (const dep of graph.get(node) ?? []) {
        if (!members.has(dep)) continue;
        if (dep === from) {
          const path = [node];
          while (path[0] !== from) path.unshift(previous.get(path[0]!)!);
          return [...path, from];
        }
        if (!previous.has(dep)) {
          previous.set(dep, node);
          queue.push(dep);
        }
      }
    }
    return [from, from];
  });
}

test("findCycles names a cycle and ignores a diamond", () => {
  const graph = new Map([
    ["a", ["b", "c"]],
    ["b", ["d"]],
    ["c", ["d"]],
    ["d", []],
    ["x", ["y"]],
    ["y", ["z"]],
    ["z", ["x", "d"]],
  ]);
  assert.deepEqual(findCycles(graph), [["x", "y", "z", "x"]]);
  assert.deepEqual(findCycles(new Map([["s", ["s"]]])), [["s", "s"]]);
});

test("src/ has no import cycle between files (type-only imports count)", async () => {
  const graph = await importGraph();
  assert.ok(graph.size > 50, `src/ has its files (${graph.size})`);
  const cycles = findCycles(graph).map((c) => c.map((f) => relative(join(ROOT, "src"), f)).join(" -> "));
  assert.deepEqual(cycles, [], `import cycles in src/:\n${cycles.join("\n")}`);
});
