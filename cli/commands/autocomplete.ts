// `waitlock autocomplete [SHELL]`: prints the completion script for bash, zsh or
// fish (cli/completion.ts), to be sourced by the shell.
import { Args, Command } from "@oclif/core";
import { SHELLS, completionScript, type Shell } from "../completion.ts";

export default class AutocompleteCommand extends Command {
  static override summary = "Print the shell completion script for bash, zsh or fish.";
  static override description = `Completes commands, the main command's options and their values (--format, --syslog-facility, --lost-signal, -d DIR), and the descriptors in the lock directory. Set up once:
  bash: echo 'source <(waitlock autocomplete bash)' >> ~/.bashrc
  zsh:  echo 'source <(waitlock autocomplete zsh)' >> ~/.zshrc   (after compinit)
  fish: waitlock autocomplete fish > ~/.config/fish/completions/waitlock.fish`;
  static override args = {
    shell: Args.string({ options: [...SHELLS], description: "the shell (default: the basename of $SHELL)" }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(AutocompleteCommand);
    const shell = args.shell ?? (process.env.SHELL ?? "").split("/").pop();
    if (!SHELLS.includes(shell as Shell)) this.error(`which shell? waitlock autocomplete ${SHELLS.join("|")}`, { exit: 3 });
    process.stdout.write(completionScript(shell as Shell, this.config.bin));
  }
}
