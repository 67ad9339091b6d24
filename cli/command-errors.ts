// How a failed command (waitlock's own, a framework one such as plugins or
// autocomplete, or a plugin's) is reported: as the main command reports its
// failures, one line `waitlock: …` on stderr and an exit code from waitlock's
// table, never oclif's "› Error:" block and never its exit 2 (which is
// waitlock's "timed out").
//
// Plugins raise errors through their own copy of @oclif/core (this CLI bundles
// another), so errors are recognised by shape, not by class.
import { WaitlockError, EXIT_CODES } from "../adapters/errors.ts";

interface OclifError {
  message?: string;
  code?: string;
  oclif?: { exit?: number };
  /** Set on the parser's errors (unknown flag, bad value, missing or extra argument). */
  parse?: unknown;
}

/** isUsageError: the command line was wrong, as opposed to the command failing. */
export function isUsageError(e: OclifError): boolean {
  if (e.parse !== undefined) return true; // CLIParseError and its kinds
  const m = e.message ?? "";
  // A flag's own parse function refused the value; oclif names no class for it.
  if (/^Parsing --\S+ /.test(m)) return true;
  // A flag given last, without its value: a plain CLIError too.
  if (/^Flag --\S+ expects (a value|one of these values)/.test(m)) return true;
  // oclif's run() and Help, for words that name no command.
  return /^command \S+ not found/i.test(m);
}

/** oneLine is the first line of what oclif says, without its "See more help" tail. */
function oneLine(message: string): string {
  const lines = message.split("\n").map((l) => l.trim()).filter((l) => l && !/^See more help with --help$/.test(l));
  if (lines[0]?.startsWith("Parsing --") && lines[1]) return `${lines[0]}: ${lines[1]}`; // "Parsing --x" then the reason
  if (lines[0]?.endsWith(":") && lines[1]) return `${lines[0]} ${lines[1]}`; // "Missing 1 required arg:" then which
  return (lines[0] ?? "failed").replace(/^command (\S+) not found\.?/i, (_m, id: string) => `no command ${JSON.stringify(id.replaceAll(":", " "))}`);
}

/**
 * reportCommandError prints err as one line and returns the exit code. command
 * is the command's words ("plugins link"), or "help NAME" for a plugin's
 * command, for the pointer to its help.
 */
export function reportCommandError(err: unknown, command: string | undefined, verbose: boolean): number {
  if (err instanceof WaitlockError) {
    process.stderr.write(`waitlock: ${err.message}\n`);
    return err.exitCode;
  }
  const e = (err ?? {}) as OclifError;
  // this.exit(N) in a command: an exit, not a failure.
  if (e.code === "EEXIT" && typeof e.oclif?.exit === "number") return e.oclif.exit;
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  if (isUsageError(e)) {
    const help = command?.startsWith("help ") ? command : `${command ? `${command} ` : ""}--help`;
    process.stderr.write(`waitlock: ${oneLine(e.message ?? "")} (see waitlock ${help})\n`);
    return EXIT_CODES.EUSAGE;
  }
  const text = oneLine(String(e.message ?? err));
  if (e.oclif) {
    // this.error(…) in a command. oclif's default exit, 2, is waitlock's "timed
    // out": a command that gave no exit code of its own failed, which is 4.
    const exit = e.oclif.exit;
    process.stderr.write(`waitlock: ${text}\n`);
    return exit === undefined || exit === 2 ? EXIT_CODES.ESYSTEM : exit;
  }
  // A command's bug (a TypeError, …): as the main command reports one.
  process.stderr.write(`waitlock: internal error: ${text}\n`);
  return EXIT_CODES.ESYSTEM;
}
