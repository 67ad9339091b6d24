// The main command as oclif sees it: its flags, usage and help, for `--help`,
// the man page and oclif's command table. Running it delegates to cli/main.ts,
// which the entry point also calls directly on the fast path.
import { Command, Help, type Config } from "@oclif/core";
import { MainRun } from "../main.ts";
import { exitStatusText, mainFlags } from "../options.ts";
import { isOwnCommand } from "./plugins-run.ts";

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

${exitStatusText()}

The first word is one of waitlock's own COMMANDS (below), else the DESCRIPTOR; a descriptor named like a command is locked with: waitlock -- help. Commands that plugins you install add never take a word from descriptors, so a script's waitlock NAME means the same whatever is installed later: run them with waitlock plugins run NAME.`;
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

/** A command waitlock ships, as help and the man page list it. */
export interface CommandEntry {
  /** As typed: "doctor", "plugins". */
  name: string;
  summary: string;
  /** Its visible subcommands, as typed after the name: ["link", "run", …]. */
  subcommands: string[];
}

/** ownCommands lists waitlock's own top-level commands (not the main one, not a user's plugins'). */
export function ownCommands(config: Config): CommandEntry[] {
  const own = config.commands.filter((c) => isOwnCommand(c) && !c.hidden && c.id !== MAIN_ID);
  return own.filter((c) => !c.id.includes(":")).map((c) => ({
    name: c.id,
    summary: (c.summary ?? c.description ?? "").split("\n")[0],
    subcommands: own.filter((s) => s.id.startsWith(`${c.id}:`) && !s.id.slice(c.id.length + 1).includes(":")).map((s) => s.id.slice(c.id.length + 1)).sort(),
  })).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * helpText is oclif's help for the main command, with waitlock's commands
 * listed after it. oclif prints every usage line as "$ bin <command id> …";
 * the main command is invoked without an id, so the hidden id is taken out again.
 */
class MainHelp extends Help {
  textOf(cmd: Command.Loadable): string {
    return this.formatCommand(cmd);
  }
}

export function helpText(config: Config): string {
  const text = new MainHelp(config, { stripAnsi: true }).textOf(config.findCommand(MAIN_ID)!);
  const commands = ownCommands(config);
  const width = Math.max(...commands.map((c) => c.name.length));
  const indent = " ".repeat(width + 4);
  const list = commands.map((c) => {
    const text = c.subcommands.length ? `${c.summary} Also: ${c.subcommands.map((s) => `${c.name} ${s}`).join(", ")}.` : c.summary;
    return `  ${c.name.padEnd(width)}  ${wrap(text, 80 - indent.length).join(`\n${indent}`)}`;
  });
  const withCommands = `${text}\n\nCOMMANDS\n${list.join("\n")}\n\n  waitlock COMMAND --help (or waitlock help COMMAND) for each;\n  waitlock -- WORD locks a descriptor named like one.`;
  return withCommands.replaceAll(`${config.bin} ${MAIN_ID.replace(":", " ")} `, `${config.bin} `).replaceAll(`${config.bin} ${MAIN_ID} `, `${config.bin} `);
}

/** wrap breaks text at spaces into lines of at most width characters (longer words stay whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}
