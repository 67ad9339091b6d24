// The CLI's own commands, for oclif's "explicit" command discovery; also what
// scripts/manpage.mjs renders waitlock.1 from.
import Help from "./commands/help.ts";
import Main, { MAIN_ID, ownCommands } from "./commands/main.ts";
import PluginsRun, { PLUGINS_RUN_ID } from "./commands/plugins-run.ts";
import Version from "./commands/version.ts";

export const COMMANDS = { [MAIN_ID]: Main, help: Help, version: Version, [PLUGINS_RUN_ID]: PluginsRun };
export { MAIN_ID, ownCommands };
export { ENVIRONMENT, EXIT_STATUS, FILES } from "./options.ts";
