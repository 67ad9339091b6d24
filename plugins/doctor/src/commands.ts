// The plugin's commands, for oclif's "explicit" command discovery
// (package.json oclif.commands). oclif reads oclif.manifest.json at start-up
// and imports this file only to run one of them.
import Doctor from "./commands/doctor.ts";

export const COMMANDS = { doctor: Doctor };
