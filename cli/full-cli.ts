// The whole oclif CLI: plugins, help, topics, and commands other than the main
// one. Loaded only when bin/waitlock needs it (see run.ts).
import { Config, flush, run } from "@oclif/core";
import { reportCommandError } from "./command-errors.ts";
import { MAIN_ID } from "./commands/main.ts";
import { PLUGINS_RUN_ID, isOwnCommand } from "./commands/plugins-run.ts";
import { isDebugEnv } from "./invocation.ts";

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

/** commandWords names the command argv runs, as typed ("plugins link"), for an error's pointer to its help. */
function commandWords(config: Config, argv: string[]): string | undefined {
  const flag = argv.findIndex((a) => a.startsWith("-"));
  const words = flag === -1 ? argv : argv.slice(0, flag);
  for (let n = words.length; n > 0; n--) {
    const id = words.slice(0, n).join(":");
    if (!config.findCommand(id) && !config.findTopic(id)) continue;
    if (id === PLUGINS_RUN_ID && words.length > n) {
      // `plugins run hello --bogus` is hello's mistake: its help is `waitlock help hello`.
      const inner = commandWords(config, words.slice(n));
      if (inner) return `help ${inner}`;
    }
    return words.slice(0, n).join(" ");
  }
  return undefined;
}

export async function runFullCli(root: string, argv: string[]): Promise<void> {
  let config: Config | undefined;
  try {
    config = await Config.load(root);
    // oclif's own run() turns `plugins link DIR` into plugins:link, and handles --help and topics.
    if (namesCommand(config, argv)) await run(argv, config);
    else {
      shadowNote(config, argv);
      await config.runCommand(MAIN_ID, argv); // the main command reports its own failures
    }
    await flush();
  } catch (err) {
    process.exitCode = reportCommandError(err, config && commandWords(config, argv), isDebugEnv((n) => process.env[n]));
  }
}
