import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveOutPath } from "./out-path.ts";

test("--out: absolute as given, relative to where the user ran the command, else the default", () => {
  const root = "/repo";
  const cases: Array<[string | undefined, Record<string, string>, string, string]> = [
    [undefined, {}, "/anywhere", "/repo/results/compare"],
    ["/tmp/x", {}, "/repo", "/tmp/x"],
    ["/tmp/x", { INIT_CWD: "/home/u" }, "/repo", "/tmp/x"],
    ["results/compare-x", {}, "/repo", "/repo/results/compare-x"],
    // `npm run bench -- --out x` from /home/u: npm runs the script in /repo, INIT_CWD=/home/u.
    ["x", { INIT_CWD: "/home/u" }, "/repo", "/home/u/x"],
    ["../y", { INIT_CWD: "/home/u/w" }, "/repo", "/home/u/y"],
    ["x", {}, "/home/u", "/home/u/x"],
  ];
  for (const [out, env, cwd, want] of cases) {
    assert.equal(resolveOutPath(out, "results/compare", root, env, cwd), want, `${out} from ${cwd}`);
  }
});
