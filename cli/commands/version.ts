// `waitlock version`: what `waitlock --version` (-V) prints.
import { Command } from "@oclif/core";

export default class VersionCommand extends Command {
  static override summary = "Print the version (as waitlock --version does).";

  async run(): Promise<void> {
    await this.parse(VersionCommand); // anything after it is a usage error
    process.stdout.write(`${this.config.bin} ${this.config.version}\n`);
  }
}
