// The main command as oclif sees it: its flags, usage and help, for `--help`,
// the man page and oclif's command table. Running it delegates to cli/main.ts,
// which the entry point also calls directly on the fast path.
import { Command, Help, type Config } from "@oclif/core";
import { MainRun } from "../main.ts";
import { mainFlags } from "../options.ts";

export const MAIN_ID = "waitlock:main";

export default class Main extends Command {
  static override id = MAIN_ID;
  static override hidden = true;
  static override strict = false;
  static override summary = "Named mutexes and counting semaphores for shell scripts.";
  static override usage = [
    "[options] DESCRIPTOR",
    "[options] DESCRIPTOR --exec CMD [ARG...]",
    "--check DESCRIPTOR",
    "--done DESCRIPTOR",
    "--list [--format human|csv|null|json] [--all|--stale-only]",
  ];
  static override description = `Without --exec, waitlock acquires the lock, hands it to a small background holder bound to the calling process (or --owner PID), and exits 0: the script goes on holding the lock until it exits. Wrappers that exit with waitlock (timeout, sudo, doas, time, flock, setsid -w, npx and npm exec) are walked past to the script that ran them; if a wrapper's caller cannot be found, waitlock takes nothing and exits 3. For any other wrapper use --owner $$ or --exec. Without --timeout a busy lock fails at once with exit 1.

Exit codes: 0 ok, 1 busy, 2 timeout, 3 usage, 4 system error, 5 permission denied, 6 lock directory unusable, 75 temporary failure; with --exec the command's status (128+N if killed by signal N, 126 not executable, 127 not found).

The first word is one of waitlock's own commands (doctor, autocomplete, plugins, help, version), else the DESCRIPTOR; a descriptor named like a command is locked with: waitlock -- help. Commands that plugins you install add never take a word from descriptors, so a script's waitlock NAME means the same whatever is installed later: run them with waitlock plugins run NAME.`;
  static override examples = [
    "waitlock backup || exit 1",
    "waitlock -m 4 gpu_pool --exec train.sh",
    'slot=$(waitlock -p -m 4 pool) || exit 1',
    "waitlock -t 30 db-migrate --exec ./migrate.sh",
    "waitlock --list --format csv",
  ];
  static override flags = mainFlags;

  async run(): Promise<void> {
    if (this.argv.includes("-h") || this.argv.includes("--help")) {
      process.stdout.write(helpText(this.config) + "\n");
      return;
    }
    process.exitCode = await new MainRun(() => this.config.version).main(this.argv);
  }
}

/**
 * helpText is oclif's help for the main command. oclif prints every usage line
 * as "$ bin <command id> …"; the main command is invoked without an id, so the
 * hidden id is taken out again.
 */
class MainHelp extends Help {
  textOf(cmd: Command.Loadable): string {
    return this.formatCommand(cmd);
  }
}

export function helpText(config: Config): string {
  const text = new MainHelp(config, { stripAnsi: true }).textOf(config.findCommand(MAIN_ID)!);
  return text.replaceAll(`${config.bin} ${MAIN_ID.replace(":", " ")} `, `${config.bin} `).replaceAll(`${config.bin} ${MAIN_ID} `, `${config.bin} `);
}
