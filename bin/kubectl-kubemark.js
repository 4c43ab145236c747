#!/usr/bin/env node
// Package entry point of the kubectl plugin ('kubectl kubemark ...' runs 'kubectl-kubemark' from
// PATH): the compiled CLI on Node.js 24; on an older Node it re-runs itself on the Node 24 binary
// of the "node" dependency, as bin/kubemark-cluster.js does.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  const require = createRequire(import.meta.url);
  let node;
  try {
    node = require.resolve("node/bin/node");
  } catch {
    console.error(`error: kubectl-kubemark needs Node.js 24 or newer (this is ${process.version})`);
    process.exit(1);
  }
  const r = spawnSync(node, [import.meta.filename ?? process.argv[1], ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}
const { main } = await import("../dist/cli/main.js");
const { PLUGIN_NAME } = await import("../dist/cli/kubectl-plugin.js");
process.exitCode = await main(process.argv.slice(2), PLUGIN_NAME);
