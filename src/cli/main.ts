import { Command, CommanderError } from "commander";
import { realClock } from "../clock.ts";
import { BadInputError, KubemarkError, describeError } from "../errors.ts";
import { resolvePaths } from "../paths.ts";
import type { CliContext } from "./context.ts";
import { registerBuild } from "./commands/build.ts";
import { registerDown } from "./commands/down.ts";
import { registerFleet } from "./commands/fleet.ts";
import { registerImage } from "./commands/image.ts";
import { registerKubeconfig } from "./commands/kubeconfig.ts";
import { registerStatus } from "./commands/status.ts";
import { registerUp } from "./commands/up.ts";

/** Builds the command tree. Verbs stay thin: they parse flags and call one operation. */
export function buildProgram(makeContext: (globals: { stateDir?: string }) => CliContext): Command {
  const program = new Command();
  let context: CliContext | undefined;
  const ctx = (): CliContext => {
    context ??= makeContext(program.opts<{ stateDir?: string }>());
    return context;
  };
  program
    .name("kubemark-cluster")
    .description(
      "Scale-test Kubernetes control planes with hollow nodes: kubelet-faithful simulated nodes, thousands per process.",
    )
    .option("--state-dir <dir>", "where local clusters keep their state (or set KUBEMARK_STATE_DIR)")
    .showHelpAfterError("(run 'kubemark-cluster help' for the list of commands)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
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
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

/** Entry point: runs the CLI and returns the process exit code (only this function decides it). */
export async function main(argv: readonly string[]): Promise<number> {
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
  const program = buildProgram((globals) => ({
    env,
    paths: resolvePaths(env, globals.stateDir ? { stateDir: globals.stateDir } : {}),
    clock: realClock,
    stdout: (t) => process.stdout.write(t),
    tty: process.stderr.isTTY === true && !env["CI"],
    signal: interrupt.signal,
  }));
  if (argv.length === 0 || argv[0] === "help") {
    const sub = argv[1] ? program.commands.find((c) => c.name() === argv[1]) : undefined;
    (sub ?? program).outputHelp();
    return 0;
  }
  try {
    // `create -5` would read as an unknown option: name the real problem instead.
    const negative = ["create", "scale"].includes(argv[0] ?? "")
      ? argv.slice(1).find((a) => /^-\d/.test(a))
      : undefined;
    if (negative !== undefined) {
      throw new BadInputError(
        `${argv[0]}: the number of nodes must be a whole number of at least ${argv[0] === "scale" ? 0 : 1}, got ${negative}`,
        `for example 'kubemark-cluster ${argv[0]} 100'`,
      );
    }
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message (or help/version output) already.
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.exitCode === 0
        ? 0
        : 2;
    }
    if (err instanceof KubemarkError) {
      process.stderr.write(`error: ${err.message}\n`);
      if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
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
