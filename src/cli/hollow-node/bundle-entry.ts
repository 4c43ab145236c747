/**
 * Entry point of the single-file engine bundle (`kubemark-cluster` ships it to in-cluster pods in a
 * ConfigMap): starts hollow-node unconditionally, since the bundle is imported by a loader.
 */
import { runAsProgram } from "./main.ts";

await runAsProgram();
