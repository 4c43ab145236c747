/**
 * Writes the single-file engine bundle into dist/engine-bundle/ (part of `npm run build`): the
 * compiled package ships it to in-cluster pods, and the Dockerfile copies it into an image.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { buildBundleSource } from "../src/fleet/bundle.ts";

const out = new URL("../dist/engine-bundle/", import.meta.url);
await mkdir(out, { recursive: true });
const source = await buildBundleSource();
await writeFile(new URL("hollow-node.mjs", out), source);
process.stdout.write(`dist/engine-bundle/hollow-node.mjs: ${(source.length / 1024).toFixed(0)} KiB\n`);
