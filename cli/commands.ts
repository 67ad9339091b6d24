// The CLI's own commands, for oclif's "explicit" command discovery.
import Help from "./commands/help.ts";
import Main, { MAIN_ID } from "./commands/main.ts";
import PluginsRun, { PLUGINS_RUN_ID } from "./commands/plugins-run.ts";
import Version from "./commands/version.ts";

export const COMMANDS = { [MAIN_ID]: Main, help: Help, version: Version, [PLUGINS_RUN_ID]: PluginsRun };
