// The fast path of bin/waitlock, bundled as CommonJS (dist/cli/run.cjs) and run
// from V8's code cache by bin/waitlock. A first argument that names one of
// waitlock's own commands (doctor, exporter, plugins, autocomplete, help, version) runs
// that command through oclif; anything else is the main command, so `waitlock
// backup` locks "backup", and `waitlock -- doctor` locks a descriptor that
// happens to be a command's name. Commands that plugins a user installs add
// never take a word away from descriptors (`waitlock plugins run NAME` runs
// them): a script's `waitlock NAME` means the same whatever is installed later.
//
// The main command's common paths (acquire, exec, check, done, list) skip
// loading oclif's plugin machinery: only when the first word is one of the
// command IDs recorded at build time, or help is asked for, is the full CLI
// loaded (and on a terminal, when the user has plugins of their own, to tell
// them that a word they typed is also a plugin's command).
// The full CLI is ESM (dist/cli/full-cli.js); bin/waitlock imports it for us,
// since code run from a cache by node:vm cannot import().
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isatty } from "node:tty";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const version = (): string => JSON.parse(readFileSync(`${root}package.json`, "utf8")).version;

/** userPluginsInstalled: oclif keeps plugins a user adds in its data directory. */
function userPluginsInstalled(): boolean {
  const data = process.env.WAITLOCK_DATA_DIR || `${process.env.XDG_DATA_HOME || `${homedir()}/.local/share`}/waitlock`;
  return existsSync(`${data}/package.json`);
}

/** builtInCommandIds: recorded at build time; undefined if missing, and then the full CLI decides. */
function builtInCommandIds(): string[] | undefined {
  try {
    return JSON.parse(readFileSync(`${root}dist/cli/command-ids.json`, "utf8"));
  } catch {
    return undefined;
  }
}

/** needsFullCli tells whether argv may be anything but the main command's fast path. */
function needsFullCli(argv: string[]): boolean {
  for (const a of argv) {
    if (a === "--" || a === "-e" || a === "--exec" || a.startsWith("--exec=")) break;
    if (a === "-h" || a === "--help") return true;
  }
  const first = argv[0];
  if (first === undefined || first.startsWith("-")) return false;
  return (builtInCommandIds()?.includes(first) ?? true) || !/^[A-Za-z0-9._-]+$/.test(first) || (isatty(2) && userPluginsInstalled());
}

/** run runs one invocation; loadFullCli imports dist/cli/full-cli.js. */
export async function run(argv: string[], loadFullCli: () => Promise<typeof import("./full-cli.ts")>): Promise<void> {
  if (needsFullCli(argv)) {
    const { runFullCli } = await loadFullCli();
    await runFullCli(root, argv);
  } else {
    const { MainRun } = await import("./main.ts");
    const code = await new MainRun(version).main(argv);
    // Everything the main command does is awaited by now (stdout and stderr
    // writes are synchronous on Linux). Exiting here, rather than when the event
    // loop runs dry, skips waiting for V8's background work, such as optimising
    // the WASM core, which nobody will use (docs/STARTUP.md).
    process.exit(code);
  }
}
