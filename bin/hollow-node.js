#!/usr/bin/env node
// Package entry point of the engine. Runs the compiled hollow-node on Node.js 24 with V8's young
// generation capped at 4 MB (as ./hollow-node does; see README): it re-runs itself once with that
// flag, on the Node 24 binary of the "node" dependency when started on an older Node.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24 || !process.execArgv.includes("--max-semi-space-size=4")) {
  let node = process.execPath;
  if (major < 24) {
    try {
      node = createRequire(import.meta.url).resolve("node/bin/node");
    } catch {
      console.error(`error: hollow-node needs Node.js 24 or newer (this is ${process.version})`);
      process.exit(1);
    }
  }
  const r = spawnSync(node, ["--max-semi-space-size=4", process.argv[1], ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}
const { main } = await import("../dist/engine/main.js");
process.exitCode = await main(process.argv.slice(2));
