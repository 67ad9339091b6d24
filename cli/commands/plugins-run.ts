// `waitlock plugins run COMMAND [ARGS...]`: runs a command that a plugin the
// user installed or linked adds. Such a command never takes a first word away
// from descriptors (`waitlock hello` keeps locking "hello" after a plugin adds a
// `hello` command), so a script that locks a word cannot be changed by a plugin
// installed later; this is how the plugin's command is reached instead.
import { Command } from "@oclif/core";
import { WaitlockError } from "../../adapters/errors.ts";

export const PLUGINS_RUN_ID = "plugins:run";

export default class PluginsRun extends Command {
  static override id = PLUGINS_RUN_ID;
  static override summary = "Run a command that an installed or linked plugin adds.";
  static override description = "A plugin's command never takes a word away from descriptors: after a plugin adds `hello`, `waitlock hello` still locks \"hello\", and `waitlock plugins run hello` runs the command.";
  static override usage = ["plugins run COMMAND [ARGS...]"];
  static override examples = ["<%= config.bin %> plugins run hello you --shout", "<%= config.bin %> plugins run db backup"];
  static override strict = false;

  async run(): Promise<void> {
    const words = this.argv;
    if (words.length === 0 || words[0].startsWith("-")) {
      throw new WaitlockError("EUSAGE", `plugins run needs a plugin's command (installed: ${pluginCommandIds(this.config).join(", ") || "none"})`);
    }
    // Topics are separated by spaces (`plugins run db backup`): the longest run of words that names a command.
    for (let n = words.length; n > 0; n--) {
      const id = words.slice(0, n).join(":");
      if (this.config.findCommand(id)) {
        await this.config.runCommand(id, words.slice(n));
        return;
      }
    }
    throw new WaitlockError("EUSAGE", `no plugin adds a command ${JSON.stringify(words[0])} (installed: ${pluginCommandIds(this.config).join(", ") || "none"})`);
  }
}

/** pluginCommandIds lists the commands that plugins the user installed or linked add, as typed (spaces). */
export function pluginCommandIds(config: Command["config"]): string[] {
  return config.commands.filter((c) => !isOwnCommand(c) && !c.hidden).map((c) => c.id.replaceAll(":", " ")).sort();
}

/** isOwnCommand: a command waitlock ships (its own, or a plugin in its package.json), not one a user added. */
export function isOwnCommand(c: { pluginType?: string }): boolean {
  return c.pluginType === "core";
}
