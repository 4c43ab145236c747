import { Argument, type Command } from "commander";
import { SHELLS, completionSpec, renderCompletion, type Shell } from "../completion.ts";
import type { CliContext } from "../context.ts";

/** `completion bash|zsh|fish`: a completion script made from the command definitions. */
export function registerCompletion(program: Command, ctx: () => CliContext): void {
  program
    .command("completion")
    .description("print a shell completion script (bash, zsh or fish), made from the command definitions")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .addHelpText(
      "after",
      `
Examples:
  source <(kubemark-cluster completion bash)       # this shell (bash)
  kubemark-cluster completion bash > ~/.local/share/bash-completion/completions/kubemark-cluster
  source <(kubemark-cluster completion zsh)        # zsh, after compinit
  kubemark-cluster completion fish | source        # fish`,
    )
    .action((shell: Shell) => {
      ctx().stdout(renderCompletion(completionSpec(program), shell));
    });
}
