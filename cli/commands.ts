// The CLI's own commands, for oclif's "explicit" command discovery.
import Main, { MAIN_ID } from "./commands/main.ts";

export const COMMANDS = { [MAIN_ID]: Main };
