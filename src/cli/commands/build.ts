import type { Command } from "commander";
import { CONTROL_PLANE_BINARIES, resolveBinaries } from "../../controlplane/binaries.ts";
import type { BinaryName } from "../../controlplane/go-build.ts";
import { DEFAULT_KUBE_VERSION, parseKubeVersion } from "../../controlplane/kube-version.ts";
import { BadInputError } from "../../kernel/errors.ts";
import type { CliContext } from "../context.ts";
import { parseOutput, renderData, renderTable } from "../output.ts";
import { ProgressView } from "../progress.ts";

const EXTRAS: readonly BinaryName[] = ["kubemark", "kwok", "kubelet", "metrics-server"];

/** `build`: make sure the binaries of a release are available (cached, built if missing). */
export function registerBuild(program: Command, ctx: () => CliContext): void {
  program
    .command("build")
    .description("build (or find) the control-plane binaries of a release ahead of 'up'")
    .option("--kube-version <version>", `Kubernetes release (default ${DEFAULT_KUBE_VERSION})`)
    .option("--with <names>", `also build these, comma-separated: ${EXTRAS.join(", ")}`)
    .option("--bin-dir <dir>", "check a directory of prebuilt binaries instead")
    .option("-o, --output <format>", "table|json|yaml")
    .addHelpText(
      "after",
      "\nExamples:\n  kubemark-cluster build\n  kubemark-cluster build --with kubemark,kwok   # for the benchmarks\n  kubemark-cluster build --with metrics-server  # for 'up --metrics-server'",
    )
    .action(async (flags: { kubeVersion?: string; with?: string; binDir?: string; output?: string }) => {
      const c = ctx();
      const format = parseOutput(flags.output);
      const extras = (flags.with ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      for (const e of extras) {
        if (!EXTRAS.includes(e as BinaryName)) {
          throw new BadInputError(`--with takes ${EXTRAS.join(", ")}; got "${e}"`);
        }
      }
      const version = parseKubeVersion(flags.kubeVersion ?? DEFAULT_KUBE_VERSION);
      const view = new ProgressView({ tty: c.tty });
      const bins = await resolveBinaries({
        version,
        binaries: [...CONTROL_PLANE_BINARIES, ...(extras as BinaryName[])],
        binDir: flags.binDir ?? c.env["KUBEMARK_BIN_DIR"],
        cacheDir: c.paths.cacheDir,
        env: c.env,
        now: () => c.clock.now() / 1000,
        onBuildEvent: (e) => view.build(e),
      });
      view.stop();
      const rows = Object.entries(bins).map(([name, b]) => ({ name, source: b.source, path: b.path }));
      c.stdout(
        format === "table"
          ? renderTable(
              ["binary", "source", "path"],
              rows.map((r) => [r.name, r.source, r.path]),
            ) + `\nnext: kubemark-cluster up --kube-version ${version.git}\n`
          : renderData(rows, format),
      );
    });
}
