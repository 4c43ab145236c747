/**
 * kubectl's habit: cluster flags before or after the verb (`kubectl -n x get pods`). Commander
 * reads a subcommand's options only after its name, so the entry point moves the cluster flags a
 * user put before the verb to just after it; each verb then parses them as its own, with the same
 * meaning, help text and validation in either position.
 */
import type { Command } from "commander";
import { BadInputError } from "../kernel/errors.ts";

/** A flag that may come before the verb. Every one of them takes a value. */
export interface ClusterFlag {
  readonly long: string;
  readonly short?: string;
}

/** The cluster flags (kubectl's names) accepted before the verb as well as after it. */
export const CLUSTER_FLAGS: readonly ClusterFlag[] = [
  { long: "--kubeconfig" },
  { long: "--context" },
  { long: "--namespace", short: "-n" },
  { long: "--target-kubeconfig" },
  { long: "--target-context" },
  { long: "--output", short: "-o" },
];

/** The cluster flag `arg` is (`--kubeconfig`, `--kubeconfig=K`, `-n`, `-nfoo`), and whether its value is inline. */
function matchClusterFlag(arg: string): { flag: ClusterFlag; inline: boolean } | undefined {
  for (const flag of CLUSTER_FLAGS) {
    if (arg === flag.long || arg === flag.short) return { flag, inline: false };
    if (arg.startsWith(`${flag.long}=`)) return { flag, inline: true };
    if (flag.short && arg.length > 2 && arg.startsWith(flag.short) && !arg.startsWith("--"))
      return { flag, inline: true };
  }
  return undefined;
}

/** The program option `arg` is, by commander's definition, and whether it takes a separate value. */
function programOption(program: Command, arg: string): { takesValue: boolean } | undefined {
  const name = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
  const opt = program.options.find((o) => o.long === name || o.short === name);
  if (!opt) return undefined;
  return { takesValue: (opt.required || opt.optional) && !arg.includes("=") };
}

function hasOption(cmd: Command, flag: ClusterFlag): boolean {
  return cmd.options.some(
    (o) => o.long === flag.long || (flag.short !== undefined && o.short === flag.short),
  );
}

/**
 * Moves the cluster flags given before the verb to just after it:
 * `--kubeconfig K -n x create 100` becomes `create --kubeconfig K -n x 100`. The program's own
 * options stay where they are; arguments it cannot read (no verb, an unknown option first) are
 * returned unchanged for commander to report. A cluster flag given to a verb that does not take it,
 * before or after the verb, is an error naming the verbs that do.
 */
export function hoistClusterFlags(program: Command, argv: readonly string[]): string[] {
  const before: string[] = [];
  const moved: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === "--") return [...argv];
    const cluster = matchClusterFlag(arg);
    if (cluster) {
      if (!cluster.inline && i + 1 >= argv.length) return [...argv];
      moved.push(...argv.slice(i, cluster.inline ? i + 1 : i + 2));
      i += cluster.inline ? 1 : 2;
      continue;
    }
    const own = programOption(program, arg);
    if (own) {
      before.push(...argv.slice(i, own.takesValue ? i + 2 : i + 1));
      i += own.takesValue ? 2 : 1;
      continue;
    }
    if (arg.startsWith("-")) return [...argv];
    break;
  }
  if (i >= argv.length) return [...argv];
  const verbName = argv[i]!;
  const rest = argv.slice(i + 1);
  const verb = program.commands.find((c) => c.name() === verbName || c.aliases().includes(verbName));
  if (verb && verbName !== "help") {
    const dashDash = rest.indexOf("--");
    for (const arg of [...moved, ...(dashDash < 0 ? rest : rest.slice(0, dashDash))]) {
      const m = matchClusterFlag(arg);
      if (m && !hasOption(verb, m.flag)) throw notTaken(program, verbName, m.flag);
    }
  }
  return [...before, verbName, ...moved, ...rest];
}

function notTaken(program: Command, verb: string, flag: ClusterFlag): BadInputError {
  const takers = program.commands.filter((c) => hasOption(c, flag)).map((c) => c.name());
  const name = flag.short ? `${flag.short}/${flag.long}` : flag.long;
  return new BadInputError(
    `'${program.name()} ${verb}' takes no ${name}` +
      (takers.length ? `; the commands that do: ${takers.join(", ")}` : ""),
    `see '${program.name()} ${verb} --help' for its flags`,
  );
}
