import { Command, CommanderError } from "commander";
import { realClock } from "../kernel/clock.ts";
import { BadInputError, KubemarkError, describeError } from "../kernel/errors.ts";
import { resolvePaths } from "../kernel/paths.ts";
import type { CliContext } from "./context.ts";
import { registerBuild } from "./commands/build.ts";
import { registerCompletion } from "./commands/completion.ts";
import { registerDown } from "./commands/down.ts";
import { registerFleet } from "./commands/fleet.ts";
import { registerImage } from "./commands/image.ts";
import { registerKubeconfig } from "./commands/kubeconfig.ts";
import { registerReport } from "./commands/report.ts";
import { registerStatus } from "./commands/status.ts";
import { registerUp } from "./commands/up.ts";
import { CLUSTER_FLAGS, hoistClusterFlags } from "./global-flags.ts";

/** The CLI's name: `kubemark-cluster`, or `kubectl kubemark` when run as a kubectl plugin. */
export const CLI_NAME = "kubemark-cluster";

/** Help and hints of the CLI run as `name`: suggested `kubemark-cluster ...` commands read `name ...`. */
export function renameCommands(text: string, name: string): string {
  return name === CLI_NAME ? text : text.replace(/(^|[\s'(`])kubemark-cluster(?= |$)/gm, `$1${name}`);
}

/** Builds the command tree. Verbs stay thin: they parse flags and call one operation. */
export function buildProgram(
  makeContext: (globals: { stateDir?: string }) => CliContext,
  name: string = CLI_NAME,
): Command {
  const program = new Command();
  let context: CliContext | undefined;
  const ctx = (): CliContext => {
    context ??= makeContext(program.opts<{ stateDir?: string }>());
    return context;
  };
  program
    .name(name)
    .description(
      "Scale-test Kubernetes control planes with hollow nodes: kubelet-faithful simulated nodes, thousands per process.",
    )
    .option("--state-dir <dir>", "where local clusters keep their state (or set KUBEMARK_STATE_DIR)")
    .showHelpAfterError(`(run '${name} help' for the list of commands)`)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(renameCommands(s, name)),
      writeOut: (s) => process.stdout.write(renameCommands(s, name)),
    })
    .addHelpText(
      "after",
      `
Local control plane:
  kubemark-cluster up                 start etcd, kube-apiserver, controller-manager, scheduler on loopback
  kubemark-cluster up --workers 1     plus a real kubelet on containerd (root) for hollow-node pods
  kubemark-cluster status             pid, port and health of each component
  kubemark-cluster down               stop it and remove its state
  kubemark-cluster kubeconfig         print its kubeconfig path

Hollow nodes (a fleet: local engine processes, or a StatefulSet in the hosting cluster):
  kubemark-cluster setup              namespace and least-privilege identity (create does it too)
  kubemark-cluster create [N]         N hollow nodes (default 10), waits until Ready
  kubemark-cluster verify             desired vs registered vs Ready, lease freshness, workload
  kubemark-cluster scale N            up or down; removes Nodes no longer backed
  kubemark-cluster list               workload, processes or pods, node counts (-o wide: nodes)
  kubemark-cluster logs [NODE]        a hollow node's log
  kubemark-cluster cleanup [--all]    remove the fleet's workload, Nodes, Leases and RBAC
  kubemark-cluster image              the hollow-node image as a tarball (no Docker), for --image

  kubemark-cluster completion bash    shell completion (bash, zsh or fish)

Cluster flags go before or after the command, as kubectl's:
  ${CLUSTER_FLAGS.map((f) => (f.short ? `${f.short}/${f.long}` : f.long)).join(", ")}
  e.g. kubemark-cluster --kubeconfig K -n load create 100

The engine alone:
  ./hollow-node --kubeconfig $(kubemark-cluster kubeconfig) --nodes 100

Run 'kubemark-cluster <command> --help' for a command's flags and examples.`,
    );
  registerUp(program, ctx);
  registerDown(program, ctx);
  registerStatus(program, ctx);
  registerBuild(program, ctx);
  registerKubeconfig(program, ctx);
  registerImage(program, ctx);
  registerFleet(program, ctx);
  registerReport(program, ctx);
  registerCompletion(program, ctx);
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

/** Entry point: runs the CLI and returns the process exit code (only this function decides it). */
export async function main(argv: readonly string[], name: string = CLI_NAME): Promise<number> {
  const env = { ...process.env };
  // A reader that went away (`| head`) must not crash an operation half-way: drop the output.
  for (const s of [process.stdout, process.stderr]) s.on("error", () => undefined);
  // The first Ctrl-C or SIGTERM asks the running operation to stop and clean up; a second one exits.
  const interrupt = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort(new KubemarkError("INTERNAL", `interrupted by ${sig}`, { exitCode: 130 }));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const program = buildProgram(
    (globals) => ({
      env,
      paths: resolvePaths(env, globals.stateDir ? { stateDir: globals.stateDir } : {}),
      clock: realClock,
      stdout: (t) => process.stdout.write(t),
      tty: process.stderr.isTTY === true && !env["CI"],
      signal: interrupt.signal,
    }),
    name,
  );
  try {
    const args = hoistClusterFlags(program, argv);
    if (args.length === 0 || args[0] === "help") {
      const topic = args.slice(1).find((a) => !a.startsWith("-"));
      const sub = topic ? program.commands.find((c) => c.name() === topic) : undefined;
      (sub ?? program).outputHelp();
      return 0;
    }
    // `create -5` would read as an unknown option: name the real problem instead.
    const negative = ["create", "scale"].includes(args[0] ?? "")
      ? args.slice(1).find((a) => /^-\d/.test(a))
      : undefined;
    if (negative !== undefined) {
      throw new BadInputError(
        `${args[0]}: the number of nodes must be a whole number of at least ${args[0] === "scale" ? 0 : 1}, got ${negative}`,
        `for example 'kubemark-cluster ${args[0]} 100'`,
      );
    }
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message (or help/version output) already.
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.exitCode === 0
        ? 0
        : 2;
    }
    if (err instanceof KubemarkError) {
      process.stderr.write(renameCommands(`error: ${err.message}\n`, name));
      if (err.hint) process.stderr.write(renameCommands(`hint: ${err.hint}\n`, name));
      return err.exitCode;
    }
    process.stderr.write(`error: ${describeError(err)}\n`);
    if (env["KUBEMARK_DEBUG"] && err instanceof Error) process.stderr.write(`${err.stack ?? ""}\n`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
