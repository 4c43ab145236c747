/**
 * Shell completion scripts generated from the command definitions (commander's own data: the
 * verbs, their options, which options take a value and what kind, argument choices), so a new
 * verb or flag completes without touching this file.
 */
import type { Command, Option } from "commander";
import { CLUSTER_FLAGS } from "./global-flags.ts";

/** Shells a completion script can be generated for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** What an option's value completes to: file names, directories, a fixed list, or nothing. */
export type ValueKind =
  { kind: "file" } | { kind: "dir" } | { kind: "choices"; choices: string[] } | { kind: "word" };

/** One flag as completion sees it. */
export interface FlagSpec {
  readonly short?: string;
  readonly long?: string;
  readonly description: string;
  /** Undefined for a flag without a value. */
  readonly value?: ValueKind;
  readonly valueName?: string;
}

/** One verb: its flags (the program's own included: commander reads them anywhere) and its arguments. */
export interface VerbSpec {
  readonly name: string;
  readonly description: string;
  readonly flags: readonly FlagSpec[];
  /** Choices of its first argument, if it has a fixed set. */
  readonly argChoices?: readonly string[];
  readonly argName?: string;
}

/** Everything a completion script needs. */
export interface CompletionSpec {
  readonly program: string;
  /** Flags before the verb: the program's own and the cluster flags. */
  readonly globalFlags: readonly FlagSpec[];
  readonly verbs: readonly VerbSpec[];
}

function valueKind(o: Option): ValueKind | undefined {
  if (!o.required && !o.optional) return undefined;
  if (o.argChoices) return { kind: "choices", choices: [...o.argChoices] };
  const placeholder = /[<[]([\w-]+)[>\]]/.exec(o.flags)?.[1] ?? "";
  if (/^(dir|directory)$/.test(placeholder)) return { kind: "dir" };
  if (/^(file|path)$/.test(placeholder)) return { kind: "file" };
  return { kind: "word" };
}

function flagSpec(o: Option): FlagSpec {
  const value = valueKind(o);
  const valueName = /[<[]([\w-]+)[>\]]/.exec(o.flags)?.[1];
  return {
    ...(o.short ? { short: o.short } : {}),
    ...(o.long ? { long: o.long } : {}),
    description: o.description,
    ...(value ? { value } : {}),
    ...(valueName ? { valueName } : {}),
  };
}

function sameFlag(a: FlagSpec, b: FlagSpec): boolean {
  return (a.long !== undefined && a.long === b.long) || (a.short !== undefined && a.short === b.short);
}

/** Reads the completion data out of a commander program. */
export function completionSpec(program: Command): CompletionSpec {
  const help = program.createHelp();
  const own = help.visibleOptions(program).map(flagSpec);
  const verbs = help.visibleCommands(program).map((cmd): VerbSpec => {
    const flags = help.visibleOptions(cmd).map(flagSpec);
    for (const f of own) if (!flags.some((x) => sameFlag(x, f))) flags.push(f);
    const first = cmd.registeredArguments[0];
    const choices =
      cmd.name() === "help"
        ? program.commands.map((c) => c.name())
        : first?.argChoices
          ? [...first.argChoices]
          : undefined;
    return {
      name: cmd.name(),
      description: cmd.summary() || cmd.description(),
      flags,
      ...(choices ? { argChoices: choices } : {}),
      ...(first ? { argName: first.name() } : {}),
    };
  });
  const cluster: FlagSpec[] = [];
  for (const c of CLUSTER_FLAGS) {
    const defined = verbs.flatMap((v) => v.flags).find((f) => f.long === c.long);
    if (defined) cluster.push({ ...defined, ...(c.short ? { short: c.short } : {}) });
  }
  return { program: program.name(), globalFlags: [...own, ...cluster], verbs };
}

/** The completion script for `shell`. */
export function renderCompletion(spec: CompletionSpec, shell: Shell): string {
  switch (shell) {
    case "bash":
      return renderBash(spec);
    case "zsh":
      return renderZsh(spec);
    case "fish":
      return renderFish(spec);
  }
}

function names(f: FlagSpec): string[] {
  return [f.short, f.long].filter((x): x is string => x !== undefined);
}

function valueFlags(flags: readonly FlagSpec[], kind?: ValueKind["kind"]): string[] {
  return flags.filter((f) => f.value && (kind === undefined || f.value.kind === kind)).flatMap(names);
}

/** A shell function name: `kubemark-cluster` -> `_kubemark_cluster`. */
function funcName(program: string): string {
  return `_${program.replace(/[^A-Za-z0-9]+/g, "_")}`;
}

/** Single-quoted for sh, bash and zsh. */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function bashCase(indent: string, flags: readonly FlagSpec[], words: readonly string[]): string[] {
  const lines: string[] = [];
  const file = valueFlags(flags, "file");
  const dir = valueFlags(flags, "dir");
  const word = valueFlags(flags, "word");
  lines.push(`${indent}case "$prev" in`);
  if (file.length) lines.push(`${indent}  ${file.join("|")}) _kmc_files -f; return ;;`);
  if (dir.length) lines.push(`${indent}  ${dir.join("|")}) _kmc_files -d; return ;;`);
  for (const f of flags) {
    if (f.value?.kind === "choices")
      lines.push(
        `${indent}  ${names(f).join("|")}) _kmc_words ${shQuote(f.value.choices.join(" "))}; return ;;`,
      );
  }
  if (word.length) lines.push(`${indent}  ${word.join("|")}) return ;;`);
  lines.push(`${indent}esac`);
  lines.push(`${indent}flags=${shQuote(flags.flatMap(names).join(" "))}`);
  lines.push(`${indent}words=${shQuote(words.join(" "))}`);
  return lines;
}

function renderBash(spec: CompletionSpec): string {
  const fn = funcName(spec.program);
  const globalValue = valueFlags(spec.globalFlags);
  const lines = [
    `# bash completion for ${spec.program}, generated from its command definitions.`,
    `# Load it now:   source <(${spec.program} completion bash)`,
    `# For good:      ${spec.program} completion bash > ~/.local/share/bash-completion/completions/${spec.program}`,
    `_kmc_words() { COMPREPLY=($(compgen -W "$1" -- "$cur")); }`,
    `_kmc_files() { compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen "$1" -- "$cur")); }`,
    `${fn}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" verb="" flags="" words="" i w`,
    `  ((COMP_CWORD > 0)) && prev="\${COMP_WORDS[COMP_CWORD-1]}"`,
    `  # --flag=value: bash splits it at the '='.`,
    `  if [[ "$cur" == "=" ]]; then cur=""; elif [[ "$prev" == "=" && COMP_CWORD -gt 1 ]]; then prev="\${COMP_WORDS[COMP_CWORD-2]}"; fi`,
    `  for ((i = 1; i < COMP_CWORD; i++)); do`,
    `    w="\${COMP_WORDS[i]}"`,
    `    case "$w" in`,
    `      --) break ;;`,
    ...(globalValue.length
      ? [`      ${globalValue.join("|")}) [[ "\${COMP_WORDS[i+1]}" == "=" ]] && ((i++)); ((i++)) ;;`]
      : []),
    `      -*) ;;`,
    `      *) verb="$w"; break ;;`,
    `    esac`,
    `  done`,
    `  case "$verb" in`,
    `    "")`,
    ...bashCase(
      "      ",
      spec.globalFlags,
      spec.verbs.map((v) => v.name),
    ),
    `      ;;`,
  ];
  for (const v of spec.verbs) {
    lines.push(`    ${v.name})`, ...bashCase("      ", v.flags, v.argChoices ?? []), `      ;;`);
  }
  lines.push(
    `    *) return ;;`,
    `  esac`,
    `  if [[ "$cur" == -* ]]; then _kmc_words "$flags"; else _kmc_words "$words"; fi`,
    `}`,
    `complete -F ${fn} ${spec.program}${spec.program === "kubemark-cluster" ? " kubectl-kubemark" : ""}`,
    ``,
  );
  return lines.join("\n");
}

/** A description inside zsh's `_arguments` brackets, single-quoted. */
function zshDesc(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\[/g, "\\[").replace(/\]/g, "\\]").replace(/:/g, "\\:");
}

function zshAction(v: ValueKind): string {
  switch (v.kind) {
    case "file":
      return "_files";
    case "dir":
      return "_files -/";
    case "choices":
      return `(${v.choices.join(" ")})`;
    case "word":
      return " ";
  }
}

function zshFlagSpecs(flags: readonly FlagSpec[]): string[] {
  const out: string[] = [];
  for (const f of flags) {
    const all = names(f);
    const excl = f.long === "--help" ? "(- *)" : all.length > 1 ? `(${all.join(" ")})` : "";
    for (const n of all) {
      const suffix = f.value ? (n.startsWith("--") ? "=" : "+") : "";
      const arg = f.value ? `:${zshDesc(f.valueName ?? "value")}:${zshAction(f.value)}` : "";
      out.push(shQuote(`${excl}${n}${suffix}[${zshDesc(f.description)}]${arg}`));
    }
  }
  return out;
}

function renderZsh(spec: CompletionSpec): string {
  const fn = funcName(spec.program);
  const lines = [
    `#compdef ${spec.program}`,
    `# zsh completion for ${spec.program}, generated from its command definitions.`,
    `# Load it now (after compinit):  source <(${spec.program} completion zsh)`,
    `# For good: ${spec.program} completion zsh > "\${fpath[1]}/_${spec.program}"`,
    `${fn}() {`,
    `  local curcontext="$curcontext" state line ret=1`,
    `  typeset -A opt_args`,
    `  local -a verbs`,
    `  verbs=(`,
    ...spec.verbs.map((v) => `    ${shQuote(`${v.name}:${v.description}`)}`),
    `  )`,
    `  _arguments -C \\`,
    ...zshFlagSpecs(spec.globalFlags).map((s) => `    ${s} \\`),
    `    '1: :->verb' \\`,
    `    '*:: :->args' && ret=0`,
    `  case $state in`,
    `    verb) _describe -t commands ${shQuote(`${spec.program} command`)} verbs && ret=0 ;;`,
    `    args)`,
    `      curcontext="\${curcontext%:*:*}:${spec.program}-$words[1]:"`,
    `      case $words[1] in`,
  ];
  for (const v of spec.verbs) {
    const arg = v.argName
      ? [shQuote(`::${zshDesc(v.argName)}:${v.argChoices ? `(${v.argChoices.join(" ")})` : " "}`)]
      : [];
    lines.push(
      `        ${v.name})`,
      `          _arguments \\`,
      ...[...zshFlagSpecs(v.flags), ...arg].map((s) => `            ${s} \\`),
      `            && ret=0 ;;`,
    );
  }
  lines.push(
    `      esac ;;`,
    `  esac`,
    `  return ret`,
    `}`,
    `if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then`,
    `  ${fn} "$@"`,
    `else`,
    `  compdef ${fn} ${spec.program}`,
    `fi`,
    ``,
  );
  return lines.join("\n");
}

/** Single-quoted for fish. */
function fishQuote(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function fishFlag(program: string, condition: string, f: FlagSpec): string {
  const parts = [`complete -c ${program} -n ${fishQuote(condition)}`];
  if (f.short) parts.push(`-s ${f.short.slice(1)}`);
  if (f.long) parts.push(`-l ${f.long.slice(2)}`);
  if (f.value?.kind === "file") parts.push("-r -F");
  else if (f.value?.kind === "dir") parts.push("-x -a '(__fish_complete_directories)'");
  else if (f.value?.kind === "choices") parts.push(`-x -a ${fishQuote(f.value.choices.join(" "))}`);
  else if (f.value) parts.push("-x");
  parts.push(`-d ${fishQuote(f.description)}`);
  return parts.join(" ");
}

function renderFish(spec: CompletionSpec): string {
  const fn = funcName(spec.program);
  const globalValue = valueFlags(spec.globalFlags);
  const lines = [
    `# fish completion for ${spec.program}, generated from its command definitions.`,
    `# Load it now:  ${spec.program} completion fish | source`,
    `# For good:     ${spec.program} completion fish > ~/.config/fish/completions/${spec.program}.fish`,
    `function ${fn}_verb --description 'the verb on the command line, if any'`,
    `    set -l words (commandline -opc)`,
    `    set -e words[1]`,
    `    while set -q words[1]`,
    `        switch $words[1]`,
    `            case --`,
    `                return 1`,
    ...(globalValue.length
      ? [`            case ${globalValue.join(" ")}`, `                set -e words[1]`]
      : []),
    `            case '-*'`,
    `            case '*'`,
    `                echo $words[1]`,
    `                return 0`,
    `        end`,
    `        set -e words[1]`,
    `    end`,
    `    return 1`,
    `end`,
    `function ${fn}_using --argument-names verb`,
    `    set -l v (${fn}_verb)`,
    `    and test "$v" = "$verb"`,
    `end`,
    `complete -c ${spec.program} -f`,
  ];
  const none = `not ${fn}_verb`;
  for (const v of spec.verbs) {
    lines.push(
      `complete -c ${spec.program} -n ${fishQuote(none)} -a ${v.name} -d ${fishQuote(v.description)}`,
    );
  }
  for (const f of spec.globalFlags) lines.push(fishFlag(spec.program, none, f));
  for (const v of spec.verbs) {
    const cond = `${fn}_using ${v.name}`;
    for (const f of v.flags) lines.push(fishFlag(spec.program, cond, f));
    if (v.argChoices)
      lines.push(`complete -c ${spec.program} -n ${fishQuote(cond)} -a ${fishQuote(v.argChoices.join(" "))}`);
  }
  lines.push("");
  return lines.join("\n");
}
