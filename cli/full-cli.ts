// The whole oclif CLI: plugins, help, topics, and commands other than the main
// one. Loaded only when bin/waitlock needs it (see run.ts).
import { Config, flush, handle, run } from "@oclif/core";
import { MAIN_ID } from "./commands/main.ts";

/** namesCommand tells whether argv starts with a command or topic (doctor, plugins link, autocomplete script). */
function namesCommand(config: Config, argv: string[]): boolean {
  const first = argv[0];
  if (first === undefined || first.startsWith("-") || first === MAIN_ID) return false;
  return config.findCommand(first) !== undefined || config.findTopic(first) !== undefined;
}

export async function runFullCli(root: string, argv: string[]): Promise<void> {
  try {
    const config = await Config.load(root);
    // oclif's own run() turns `plugins link DIR` into plugins:link, and handles --help and topics.
    if (namesCommand(config, argv)) await run(argv, config);
    else await config.runCommand(MAIN_ID, argv);
    await flush();
  } catch (err) {
    await handle(err as Error); // plugin commands' errors; the main command prints its own
  }
}
