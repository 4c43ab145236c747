#!/usr/bin/env node
// Package entry point of the engine: the compiled hollow-node on Node.js 24 with the engine's V8
// flags (ENGINE_NODE_FLAGS, as ./hollow-node and local fleets run it; see README), re-run once
// with them (see on-node24.js).
import { onNode24 } from "./on-node24.js";

const { ENGINE_NODE_FLAGS } = await import("../dist/fleet/spec.js");
onNode24("hollow-node", import.meta.filename ?? process.argv[1], ENGINE_NODE_FLAGS);
const { main } = await import("../dist/cli/hollow-node/main.js");
process.exitCode = await main(process.argv.slice(2));
