// Entry point of bin/waitlock. A first argument that names a command (built
// in or from a plugin, e.g. `doctor`) runs that command; anything else is the
// main command, so `waitlock backup` locks "backup". `waitlock -- doctor` locks
// a descriptor that happens to be a command's name.
import { Config, flush, handle } from "@oclif/core";
import { fileURLToPath } from "node:url";
import { MAIN_ID } from "./commands/main.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

async function main(argv: string[]): Promise<void> {
  const config = await Config.load(root);
  const first = argv[0];
  if (first !== undefined && !first.startsWith("-") && first !== MAIN_ID && config.findCommand(first)) {
    await config.runCommand(first, argv.slice(1));
  } else {
    await config.runCommand(MAIN_ID, argv);
  }
}

main(process.argv.slice(2)).then(() => flush(), async (err) => {
  // Commands print their own one-line errors; this only catches plugin failures.
  await handle(err);
});
