// The main command: waitlock [options] DESCRIPTOR [--exec CMD...], --check,
// --done, --list. This reads the command line into an Invocation and runs its
// mode (acquire-mode.ts: foreground and --exec; query-modes.ts: the rest),
// mapping errors to exit codes. It parses with oclif's parser alone, so the
// common paths start without loading oclif's plugin machinery; help and plugin
// commands go through the full oclif CLI (cli/run.ts).
import { parse } from "@oclif/core/parser";
import { waitlock as wl } from "../adapters/node/index.ts";
import { WaitlockError, EXIT_CODES } from "../adapters/errors.ts";
import { acquireMode } from "./acquire-mode.ts";
import { isUsageError } from "./command-errors.ts";
import { flagProblem } from "./flag-errors.ts";
import { buildInvocation, isDebugEnv, type Invocation } from "./invocation.ts";
import type { ModeContext } from "./mode-context.ts";
import { MODE_FLAGS, mainFlags, type MainFlags } from "./options.ts";
import { checkMode, doneMode, listMode } from "./query-modes.ts";
import { readFirstLine } from "./stdin-line.ts";

/**
 * splitExec separates waitlock's own arguments from the command after -e/--exec.
 * "--" makes the next word the descriptor even if it looks like an option or a
 * command name (`waitlock -- doctor --exec ./check.sh`).
 */
export function splitExec(argv: string[]): { own: string[]; command?: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      i++; // the descriptor
      continue;
    }
    if (a === "-e" || a === "--exec") return { own: argv.slice(0, i), command: argv.slice(i + 1) };
    if (a.startsWith("--exec=")) return { own: argv.slice(0, i), command: [a.slice(7), ...argv.slice(i + 1)] };
  }
  return { own: argv };
}

/** MainRun runs one invocation of the main command and returns its exit code. */
export class MainRun {
  readonly #version: () => string;
  #verbose = isDebugEnv((n) => process.env[n]);
  #quiet = false;

  /** version is asked for only by -V, so the common paths read nothing for it. */
  constructor(version: () => string) {
    this.#version = version;
  }

  async main(argv: string[]): Promise<number> {
    const { own, command } = splitExec(argv);
    if (own.includes("-V") || own.includes("--version")) {
      process.stdout.write(`waitlock ${this.#version()}\n`);
      return 0;
    }
    let inv: Invocation;
    try {
      // The command is split off first (it may hold anything); --exec goes back
      // in front, where no "--" can hide it, for the table's relations to see it.
      const mine = command === undefined ? own : ["--exec", ...own];
      const { flags, argv: rest } = await parse<MainFlags, object, object>(mine, { flags: mainFlags, strict: false, "--": true });
      this.#quiet = !!flags.quiet;
      this.#verbose ||= !!flags.verbose;
      if (rest.length > 1) throw new WaitlockError("EUSAGE", `unexpected argument ${JSON.stringify(rest[1])} (one DESCRIPTOR; put the command after --exec)`);
      const positional = rest[0] as string | undefined;
      const descriptor = positional ?? (flags.list ? undefined : readFirstLine(0));
      inv = buildInvocation(wl, flags, descriptor, command);
    } catch (err) {
      return this.#fail(parseFailure(err));
    }
    const ctx: ModeContext = { trace: (m) => this.#trace(m), quiet: this.#quiet };
    try {
      switch (inv.mode) {
        case "list":
          return await listMode(inv);
        case "check":
          return await checkMode(inv, ctx);
        case "done":
          return await doneMode(inv, ctx);
        default:
          return await acquireMode(inv, ctx);
      }
    } catch (err) {
      return this.#fail(err);
    } finally {
      await ctx.events?.flush();
      ctx.starter?.cancel(); // not granted (busy, timed out, interrupted): it runs nothing
      wl.close(); // idle keep-alive connections to a server would hold the process
    }
  }

  #trace(message: string): void {
    if (this.#verbose) process.stderr.write(`waitlock: ${message}\n`);
  }

  #fail(err: unknown): number {
    const e = err instanceof WaitlockError ? err : new WaitlockError("ESYSTEM", `internal error: ${(err as Error)?.message ?? err}`);
    if (!this.#quiet) process.stderr.write(`waitlock: ${e.message}\n`);
    if (this.#verbose && !(err instanceof WaitlockError)) process.stderr.write(`${(err as Error)?.stack}\n`);
    return EXIT_CODES[e.code];
  }
}

/**
 * parseFailure says what a failure while reading the command line means: the
 * caller's mistake (oclif's parse errors, waitlock's own checks: exit 3), or a
 * bug, which must not pass for one (exit 4, saying so).
 */
export function parseFailure(err: unknown): WaitlockError {
  if (err instanceof WaitlockError) return err;
  const problem = flagProblem(err, mainFlags, MODE_FLAGS);
  if (problem !== undefined) return new WaitlockError("EUSAGE", problem);
  const text = String((err as Error)?.message ?? err).split("\n")[0];
  if (err !== null && typeof err === "object" && isUsageError(err)) return new WaitlockError("EUSAGE", `${text} (see waitlock --help)`);
  return new WaitlockError("ESYSTEM", `internal error while reading the command line (a bug; please report it): ${text}`);
}
