// Shared by the package's entry points: make sure the program runs on Node.js 24 with the given
// V8 flags. On an older Node (any Node 20+ can start the launchers) or without the flags, it runs
// the entry point again on the Node 24 binary of the "node" dependency (or this one) and exits
// with its status; otherwise it returns and the caller goes on.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

/**
 * @param {string} name the program's name, for the error when no Node 24 is installed
 * @param {string} entry the entry point's file, run again
 * @param {readonly string[]} [nodeFlags] V8/Node flags the program needs
 */
export function onNode24(name, entry, nodeFlags = []) {
  const major = Number(process.versions.node.split(".")[0]);
  const flagsMissing = nodeFlags.some((f) => !process.execArgv.includes(f));
  if (major >= 24 && !flagsMissing) return;
  let node = process.execPath;
  if (major < 24) {
    try {
      node = createRequire(import.meta.url).resolve("node/bin/node");
    } catch {
      console.error(`error: ${name} needs Node.js 24 or newer (this is ${process.version})`);
      process.exit(1);
    }
  }
  const r = spawnSync(node, [...nodeFlags, entry, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
