// `waitlock help [COMMAND...]`: what `waitlock --help` and `waitlock COMMAND --help`
// show, for users who type the word (as they would for git or npm).
import { Command, Help } from "@oclif/core";
import { helpText } from "./main.ts";

export default class HelpCommand extends Command {
  static override summary = "Show help for waitlock, or for one of its commands.";
  static override usage = ["help [COMMAND...]"];
  static override examples = ["<%= config.bin %> help", "<%= config.bin %> help doctor", "<%= config.bin %> help plugins link"];
  static override strict = false;

  async run(): Promise<void> {
    const words = this.argv.filter((a) => a !== "--help" && a !== "-h");
    if (words.length === 0) {
      process.stdout.write(helpText(this.config) + "\n");
      return;
    }
    await new Help(this.config, { stripAnsi: true }).showHelp(words);
  }
}
