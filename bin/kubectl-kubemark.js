#!/usr/bin/env node
// Package entry point of the kubectl plugin ('kubectl kubemark ...' runs 'kubectl-kubemark' from
// PATH): the compiled CLI on Node.js 24 (see on-node24.js), named as a plugin in help and hints.
import { onNode24 } from "./on-node24.js";

onNode24("kubectl-kubemark", import.meta.filename ?? process.argv[1]);
const { main } = await import("../dist/cli/main.js");
const { PLUGIN_NAME } = await import("../dist/cli/kubectl-plugin.js");
process.exitCode = await main(process.argv.slice(2), PLUGIN_NAME);
