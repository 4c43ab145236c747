import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { KubemarkError, describeError } from "../kernel/errors.ts";

/** The engine as in-cluster pods get it: one gzipped ES module plus a loader that unpacks it. */
export interface EngineBundle {
  readonly gz: Buffer;
  readonly loader: string;
  /** sha256 of the uncompressed bundle (a pod-template annotation, so a new engine rolls pods). */
  readonly sha256: string;
}

/**
 * The loader (`engine/start.mjs` in the pod): unpacks the bundle into `run/`, an in-memory
 * emptyDir (the root filesystem is read-only), and starts it. The bundle is gzipped because a
 * ConfigMap holds at most 1 MiB.
 */
export const LOADER = `// Unpacks the bundled hollow-node engine into run/ (an emptyDir) and starts it.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
const out = "run/hollow-node.mjs";
writeFileSync(out, gunzipSync(readFileSync(new URL("hollow-node.mjs.gz", import.meta.url))));
await import(pathToFileURL(out).href);
`;

/** Where `npm run build` leaves the bundle the compiled package uses. */
const PREBUILT = new URL("../../dist/engine-bundle/hollow-node.mjs", import.meta.url);
const ENTRY = new URL("../cli/hollow-node/bundle-entry.ts", import.meta.url);

/** Bundles the engine into one ES module with esbuild (~1 MB; the client library for kubeconfig parsing is left out: pods use --credentials-dir). */
export async function buildBundleSource(): Promise<Buffer> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (err) {
    throw new KubemarkError(
      "MISSING_TOOL",
      `cannot bundle the engine: esbuild is not installed (${describeError(err)})`,
      {
        hint: "run 'npm ci' in the kubemark-cluster checkout, or 'npm run build' to ship a prebuilt bundle",
        cause: err,
      },
    );
  }
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(ENTRY)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    minify: true,
    write: false,
    legalComments: "none",
    external: ["@kubernetes/client-node"],
    // main.ts starts itself when run directly; in the bundle, bundle-entry.ts starts it once.
    define: { "import.meta.main": "false" },
    banner: { js: "import{createRequire as __kcr}from'node:module';const require=__kcr(import.meta.url);" },
    logLevel: "silent",
  });
  const out = result.outputFiles[0];
  if (!out) throw new KubemarkError("INTERNAL", "esbuild produced no output");
  return Buffer.from(out.contents);
}

/**
 * The bundled engine: built now from the source in a checkout, the one `npm run build` left in the
 * compiled package (which has no esbuild: it is a development dependency).
 */
export async function engineBundleSource(): Promise<Buffer> {
  return import.meta.url.endsWith(".ts") ? await buildBundleSource() : await readFile(PREBUILT);
}

/** The engine bundle: built now from the source in a checkout, prebuilt in the compiled package. */
export async function engineBundle(): Promise<EngineBundle> {
  const source = await engineBundleSource();
  return {
    gz: gzipSync(source, { level: 9 }),
    loader: LOADER,
    sha256: createHash("sha256").update(source).digest("hex"),
  };
}
