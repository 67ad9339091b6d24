// The plugin's commands, for oclif's "explicit" command discovery
// (package.json oclif.commands). oclif reads oclif.manifest.json at start-up
// and imports this file only to run one of them.
import Exporter from "./commands/exporter.ts";

export const COMMANDS = { exporter: Exporter };
