// The whole oclif CLI: plugins, help, topics, and commands other than the main
// one. Loaded only when bin/waitlock needs it (see run.ts).
import { Config, flush, handle, run } from "@oclif/core";
import { WaitlockError } from "../adapters/errors.ts";
import { MAIN_ID } from "./commands/main.ts";
import { isOwnCommand } from "./commands/plugins-run.ts";

/**
 * namesCommand tells whether argv starts with one of waitlock's own commands or
 * topics (doctor, plugins link, help, version). A command a user's plugin adds
 * does not count: its word stays a descriptor (see commands/plugins-run.ts).
 */
function namesCommand(config: Config, argv: string[]): boolean {
  const first = argv[0];
  if (first === undefined || first.startsWith("-") || first === MAIN_ID) return false;
  const command = config.findCommand(first);
  if (command) return isOwnCommand(command);
  return config.commands.some((c) => isOwnCommand(c) && c.id.startsWith(`${first}:`));
}

/** shadowNote: on a terminal, say that a word the user typed is a plugin's command too, and how to run that. */
function shadowNote(config: Config, argv: string[]): void {
  const first = argv[0];
  if (!first || first.startsWith("-") || !process.stderr.isTTY) return;
  const command = config.findCommand(first) ?? config.commands.find((c) => c.id.startsWith(`${first}:`));
  if (!command || isOwnCommand(command)) return;
  process.stderr.write(`waitlock: note: ${first} is taken as a DESCRIPTOR; to run the command of plugin ${command.pluginName}: waitlock plugins run ${first}\n`);
}

export async function runFullCli(root: string, argv: string[]): Promise<void> {
  try {
    const config = await Config.load(root);
    // oclif's own run() turns `plugins link DIR` into plugins:link, and handles --help and topics.
    if (namesCommand(config, argv)) await run(argv, config);
    else {
      shadowNote(config, argv);
      await config.runCommand(MAIN_ID, argv);
    }
    await flush();
  } catch (err) {
    if (err instanceof WaitlockError) {
      // waitlock's own commands (help, version, plugins run) fail as the main command does
      process.stderr.write(`waitlock: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    await handle(err as Error); // plugin commands' errors; the main command prints its own
  }
}
