// The CLI's own commands, for oclif's "explicit" command discovery; also what
// scripts/manpage.mjs renders waitlock.1 from.
import { commands as pluginsCommands } from "@oclif/plugin-plugins";
import Autocomplete from "./commands/autocomplete.ts";
import Complete, { COMPLETE_ID } from "./commands/complete.ts";
import Help from "./commands/help.ts";
import Main, { MAIN_ID, ownCommands } from "./commands/main.ts";
import PluginsRun, { PLUGINS_RUN_ID } from "./commands/plugins-run.ts";
import Version from "./commands/version.ts";

// `waitlock plugins …` (link, install, inspect, uninstall) are @oclif/plugin-plugins' commands, bundled
// into dist/ at build time rather than installed: the package depends on npm and yarn (24 MB), which
// it only runs to install a plugin, and then falls back to the npm on PATH. Users' plugins are loaded
// by @oclif/core itself, from the list these commands keep.
export const COMMANDS = {
  ...pluginsCommands, [MAIN_ID]: Main, help: Help, version: Version, [PLUGINS_RUN_ID]: PluginsRun,
  autocomplete: Autocomplete, [COMPLETE_ID]: Complete,
};
export { MAIN_ID, ownCommands };
export { ENVIRONMENT, EXIT_STATUS, FILES } from "./options.ts";
