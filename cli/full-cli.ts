// The whole oclif CLI: plugins, help, and commands other than the main one.
// Loaded only when bin/waitlock needs it (see run.ts).
import { Config, flush, handle } from "@oclif/core";
import { MAIN_ID } from "./commands/main.ts";

export async function runFullCli(root: string, argv: string[]): Promise<void> {
  try {
    const config = await Config.load(root);
    const first = argv[0];
    if (first !== undefined && !first.startsWith("-") && first !== MAIN_ID && config.findCommand(first)) {
      await config.runCommand(first, argv.slice(1));
    } else {
      await config.runCommand(MAIN_ID, argv);
    }
    await flush();
  } catch (err) {
    await handle(err as Error); // plugin commands' errors; the main command prints its own
  }
}
