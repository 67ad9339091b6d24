// The main command: waitlock [options] DESCRIPTOR [--exec CMD...], --check,
// --done, --list. run() maps flags to the library and exit codes, nothing more.
import { Command, Help, type Config } from "@oclif/core";
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { waitlock as wl } from "../../adapters/node/index.ts";
import { WaitlockError, EXIT_CODES } from "../../adapters/errors.ts";
import { buildInvocation, isDebugEnv, type Invocation, type RawFlags } from "../invocation.ts";
import { mainFlags } from "../options.ts";
import { render, toRows } from "../listing.ts";
import { runHolding } from "../exec.ts";
import { handOver } from "../foreground.ts";
import { showWaiting } from "../status-line.ts";
import { userName } from "../users.ts";

export const MAIN_ID = "waitlock:main";

/** splitExec separates waitlock's own arguments from the command after -e/--exec. */
export function splitExec(argv: string[]): { own: string[]; command?: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") return { own: argv };
    if (a === "-e" || a === "--exec") return { own: argv.slice(0, i), command: argv.slice(i + 1) };
    if (a.startsWith("--exec=")) return { own: argv.slice(0, i), command: [a.slice(7), ...argv.slice(i + 1)] };
  }
  return { own: argv };
}

function readStdinDescriptor(): string | undefined {
  if (process.stdin.isTTY) return undefined;
  try {
    const text = readFileSync(0, "utf8");
    const line = text.split("\n", 1)[0].trim();
    return line === "" ? undefined : line;
  } catch {
    return undefined;
  }
}

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
  static override description = `Without --exec, waitlock acquires the lock, hands it to a small background holder bound to the calling process (or --owner PID), and exits 0: the script goes on holding the lock until it exits. Without --timeout a busy lock fails at once with exit 1.

Exit codes: 0 ok, 1 busy, 2 timeout, 3 usage, 4 system error, 5 permission denied, 6 lock directory unusable, 75 temporary failure; with --exec the command's status (128+N if killed by signal N, 126 not executable, 127 not found).

A descriptor that is also a command name (e.g. doctor) is locked with: waitlock -- doctor`;
  static override examples = [
    "waitlock backup || exit 1",
    "waitlock -m 4 gpu_pool --exec train.sh",
    'slot=$(waitlock -p -m 4 pool) || exit 1',
    "waitlock -t 30 db-migrate --exec ./migrate.sh",
    "waitlock --list --format csv",
  ];
  static override flags = mainFlags;

  async run(): Promise<void> {
    process.exitCode = await this.main(this.argv);
  }

  #verbose = isDebugEnv((n) => process.env[n]);
  #quiet = false;

  #trace(message: string): void {
    if (this.#verbose) process.stderr.write(`waitlock: ${message}\n`);
  }

  #fail(err: unknown): number {
    const e = err instanceof WaitlockError ? err : new WaitlockError("ESYSTEM", `internal error: ${(err as Error)?.message ?? err}`);
    if (!this.#quiet) process.stderr.write(`waitlock: ${e.message}\n`);
    if (this.#verbose && !(err instanceof WaitlockError)) process.stderr.write(`${(err as Error)?.stack}\n`);
    return EXIT_CODES[e.code];
  }

  async main(argv: string[]): Promise<number> {
    const { own, command } = splitExec(argv);
    if (own.includes("-h") || own.includes("--help")) {
      process.stdout.write(helpText(this.config) + "\n");
      return 0;
    }
    if (own.includes("-V") || own.includes("--version")) {
      process.stdout.write(`waitlock ${this.config.version}\n`);
      return 0;
    }
    let inv: Invocation;
    try {
      const { flags, argv: rest } = await this.parse(Main, own);
      this.#quiet = !!flags.quiet;
      this.#verbose ||= !!flags.verbose;
      if (rest.length > 1) throw new WaitlockError("EUSAGE", `unexpected argument ${JSON.stringify(rest[1])} (one DESCRIPTOR; put the command after --exec)`);
      const positional = rest[0] as string | undefined;
      const descriptor = positional ?? (flags.list ? undefined : readStdinDescriptor());
      inv = buildInvocation(wl, flags as RawFlags, descriptor, command);
    } catch (err) {
      const e = err instanceof WaitlockError ? err : new WaitlockError("EUSAGE", `${String((err as Error).message ?? err).split("\n")[0]} (see waitlock --help)`);
      return this.#fail(e);
    }
    try {
      switch (inv.mode) {
        case "list":
          return await this.#list(inv);
        case "check":
          return await this.#check(inv);
        case "done":
          return await this.#done(inv);
        default:
          return await this.#acquire(inv);
      }
    } catch (err) {
      return this.#fail(err);
    }
  }

  async #list(inv: Invocation): Promise<number> {
    const entries = await wl.list({ lockDir: inv.lockDir, all: inv.all, staleOnly: inv.staleOnly });
    process.stdout.write(render(toRows(entries, Date.now(), userName), inv.format, inv.all || inv.staleOnly));
    return 0;
  }

  async #check(inv: Invocation): Promise<number> {
    const free = await wl.check(inv.descriptor, { lockDir: inv.lockDir, maxHolders: inv.maxHolders, shared: inv.shared });
    this.#trace(`${inv.descriptor} is ${free ? "free" : "busy"}`);
    return free ? 0 : 1;
  }

  async #done(inv: Invocation): Promise<number> {
    const pids = await wl.signalHolders(inv.descriptor, "SIGTERM", { lockDir: inv.lockDir });
    if (pids.length === 0) {
      if (!this.#quiet) process.stderr.write(`waitlock: nothing holds ${inv.descriptor}\n`);
      return 1;
    }
    this.#trace(`sent SIGTERM to ${pids.join(", ")}`);
    return 0;
  }

  async #acquire(inv: Invocation): Promise<number> {
    const foreground = inv.mode === "acquire";
    const owner = foreground ? inv.owner ?? wl.platform.ppid : wl.platform.pid;
    const ownerStart = wl.platform.processStartTime(owner);
    if (ownerStart === undefined) throw new WaitlockError("EUSAGE", `owner PID ${owner} is not running`);

    // Ctrl-C or SIGTERM while waiting: stop waiting, hold nothing, exit 128+N.
    const abort = new AbortController();
    let caught: NodeJS.Signals | undefined;
    const onSignal = (s: NodeJS.Signals) => {
      caught = s;
      abort.abort();
    };
    const waitSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
    for (const s of waitSignals) process.on(s, onSignal);
    const stopStatus = inv.timeoutMs > 0 && !inv.quiet && process.stderr.isTTY
      ? showWaiting(wl, inv.descriptor, inv.lockDir, process.stderr) : () => undefined;
    this.#trace(`acquiring ${inv.descriptor} (${inv.maxHolders > 1 ? `${inv.maxHolders} slots` : inv.shared ? "shared" : "mutex"}, timeout ${inv.timeoutMs / 1000} s)`);
    let lock;
    try {
      lock = await wl.acquire(inv.descriptor, {
        lockDir: inv.lockDir, maxHolders: inv.maxHolders, preferredSlot: inv.preferredSlot, shared: inv.shared,
        timeout: inv.timeoutMs, signal: abort.signal, owner: foreground ? owner : undefined,
        command: foreground ? commandOf(owner) : inv.command.join(" "),
      });
    } catch (err) {
      if (caught) return 128 + constants.signals[caught];
      if (err instanceof WaitlockError && err.code === "EBUSY") throw new WaitlockError("EBUSY", await this.#busyMessage(inv));
      throw err;
    } finally {
      stopStatus();
      for (const s of waitSignals) process.off(s, onSignal);
    }
    this.#trace(`acquired ${inv.descriptor} slot ${lock.slot} in ${lock.location}`);
    if (inv.printSlot) process.stdout.write(`${lock.slot}\n`);

    if (foreground) {
      const pid = await handOver(lock, { pid: owner, start: ownerStart });
      this.#trace(`holder PID ${pid} keeps ${inv.descriptor} until PID ${owner} exits`);
      return 0; // exit without releasing: the holder has the lock now
    }
    try {
      const result = await runHolding(lock, inv.command, (pid) => this.#trace(`running ${inv.command.join(" ")} as PID ${pid}`));
      if (result.error && !this.#quiet) process.stderr.write(`waitlock: ${result.error}\n`);
      this.#trace(`command exited with status ${result.status}`);
      return result.status;
    } finally {
      await lock.release();
      this.#trace(`released ${inv.descriptor}`);
    }
  }

  async #busyMessage(inv: Invocation): Promise<string> {
    const what = inv.maxHolders > 1 ? `all ${inv.maxHolders} slots of ${inv.descriptor} are held` : `${inv.descriptor} is held`;
    try {
      const h = (await wl.list({ descriptor: inv.descriptor, lockDir: inv.lockDir })).find((e) => e.record)?.record;
      if (h) return `${what} by PID ${h.holderPid} (${h.command.slice(0, 60)}); another instance is already running`;
    } catch {
      // fall through to the plain message
    }
    return `${what}; another instance is already running`;
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

/** commandOf names the owner in listings: its command line from /proc, else its PID. */
function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ") || `pid ${pid}`;
  } catch {
    return `pid ${pid}`;
  }
}
