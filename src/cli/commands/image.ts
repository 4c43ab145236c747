import type { Command } from "commander";
import { resolve } from "node:path";
import { copyFile } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { hollowNodeImageTag } from "../../workers/workers.ts";
import { hollowNodeImage } from "../../workers/image.ts";
import { engineBundleSource } from "../../fleet/bundle.ts";
import { PREBUILT_ENGINE_PATH } from "../../fleet/spec.ts";
import { PACKAGE_VERSION } from "../../kernel/version.ts";
import type { CliContext } from "../context.ts";
import { parseOutput, renderData } from "../output.ts";

/**
 * `image`: writes the hollow-node image (Node 24 + the bundled engine, laid out as the Dockerfile
 * does) as a docker-save tarball, built without Docker, for `docker load`, `podman load` or
 * `skopeo copy docker-archive:` to a registry, and then `create --image`.
 */
export function registerImage(program: Command, ctx: () => CliContext): void {
  program
    .command("image")
    .description("write the hollow-node image as a docker-save tarball (no Docker needed), for --image")
    .option("--output <file>", "where to write it", "hollow-node-image.tar")
    .option("-o, --format <format>", "table|json|yaml")
    .addHelpText(
      "after",
      `
Examples:
  kubemark-cluster image --output hollow-node.tar
  skopeo copy docker-archive:hollow-node.tar docker://registry.example.com/hollow-node:${PACKAGE_VERSION}
  docker load -i hollow-node.tar     # or: podman load -i hollow-node.tar
  kubemark-cluster create 1000 --image registry.example.com/hollow-node:${PACKAGE_VERSION}`,
    )
    .action(async (flags: { output: string; format?: string }) => {
      const c = ctx();
      const format = parseOutput(flags.format);
      const hollowNode = hollowNodeImageTag(PACKAGE_VERSION);
      await mkdir(c.paths.cacheDir, { recursive: true });
      const tar = await hollowNodeImage(
        c.paths.cacheDir,
        process.execPath,
        await engineBundleSource(),
        hollowNode,
        PREBUILT_ENGINE_PATH,
      );
      const out = resolve(flags.output);
      await copyFile(tar.file, out);
      const result = { file: out, tag: hollowNode, bytes: tar.bytes };
      c.stdout(
        format === "table"
          ? `wrote ${out}: ${hollowNode} (${(tar.bytes / 1024 / 1024).toFixed(1)} MiB, docker-save format)\n` +
              `next: load or push it (see 'kubemark-cluster image --help'), then 'kubemark-cluster create N --image REGISTRY/hollow-node:${PACKAGE_VERSION}'\n`
          : renderData(result, format),
      );
    });
}
