// `waitlock __complete -- WORDS… CURRENT`: what the completion scripts run on
// TAB (cli/completion.ts). Hidden: for the scripts, not for users.
import { Command } from "@oclif/core";
import { complete } from "../completion.ts";

export const COMPLETE_ID = "__complete";

export default class CompleteCommand extends Command {
  static override hidden = true;
  static override strict = false;
  static override summary = "Print completion candidates (used by the scripts of waitlock autocomplete).";

  async run(): Promise<void> {
    const argv = this.argv[0] === "--" ? this.argv.slice(1) : this.argv;
    const current = argv.length ? argv[argv.length - 1] : "";
    const { directive, words } = await complete(this.config, argv.slice(0, -1), current);
    process.stdout.write([directive, ...words].join("\n") + "\n");
  }
}
