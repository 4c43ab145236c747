#!/usr/bin/env node
// Package entry point: the compiled CLI on Node.js 24 (see on-node24.js).
import { onNode24 } from "./on-node24.js";

onNode24("kubemark-cluster", import.meta.filename ?? process.argv[1]);
const { main } = await import("../dist/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
