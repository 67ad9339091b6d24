// oclif's parser refuses a command line that breaks the flag table (an option
// not in a flag's list, a value its parse function refused, a broken exclusive
// or dependsOn relation), but in its own words ("--all=true cannot also be
// provided when using --stale-only", over several lines). This says the same
// in waitlock's words, from the table itself: a relation is declared only there.
import { FlagValueError } from "./flag-kinds.ts";

/** The parts of a flag's declaration that wording its refusal needs. */
export interface DeclaredFlag {
  options?: readonly string[];
  exclusive?: readonly string[];
  dependsOn?: readonly string[];
}

/** Why two flags exclude each other, where their names do not say it. */
const WHY_EXCLUSIVE: Record<string, string> = {
  backend: "file:///DIR is a lock directory",
};

interface ParseFailure {
  message?: unknown;
  /** oclif's parse errors carry what was parsed: flags are there when relations are checked. */
  parse?: { output?: { flags?: Record<string, unknown> } };
}

/**
 * flagProblem says in waitlock's words why oclif refused the command line, or
 * undefined if the failure is not about the table (an unknown flag, a missing
 * value: oclif's own sentence then stands). modes are the mode flags.
 */
export function flagProblem(err: unknown, table: Record<string, DeclaredFlag>, modes: readonly string[]): string | undefined {
  if (err instanceof FlagValueError) return err.reason;
  const e = (err ?? {}) as ParseFailure;
  const message = String(e.message ?? "");
  if (/^The following errors? occurred/.test(message) && e.parse?.output?.flags) {
    return brokenRelation(table, e.parse.output.flags, modes);
  }
  return missingValue(message, table) ?? notAnOption(message, table);
}

/** missingValue words oclif's "Flag --NAME expects a value" (and "… one of these values"): the flag came last, without one. */
function missingValue(message: string, table: Record<string, DeclaredFlag>): string | undefined {
  const name = /^Flag --([\w-]+) expects (a value|one of these values)/.exec(message)?.[1];
  if (name === undefined) return undefined;
  const options = table[name]?.options;
  return `--${name} needs a value${options ? ` (one of ${options.join(", ")})` : ""}`;
}

/**
 * brokenRelation finds the first relation the given flags break and words it.
 * The mode flags are looked at first, so that several modes given are named
 * together; then the rest in the table's order, each flag's dependsOn before
 * its exclusive.
 */
export function brokenRelation(table: Record<string, DeclaredFlag>, flags: Record<string, unknown>, modes: readonly string[]): string | undefined {
  const given = (name: string) => flags[name] !== undefined && flags[name] !== false;
  const order = [...modes, ...Object.keys(table).filter((name) => !modes.includes(name))];
  for (const name of order.filter(given)) {
    const missing = (table[name].dependsOn ?? []).find((other) => !given(other));
    if (missing !== undefined) return modes.includes(missing) ? `--${name} only applies to --${missing}` : `--${name} needs --${missing}`;
    const excluded = table[name].exclusive ?? [];
    const clashing = excluded.filter(given);
    if (clashing.length === 0) continue;
    if (!modes.includes(name) && excluded.every((other) => modes.includes(other))) return `--${name} only applies ${whenAllowed(excluded, modes)}`;
    const why = WHY_EXCLUSIVE[name] ? ` (${WHY_EXCLUSIVE[name]})` : "";
    return `${[name, ...clashing].map((n) => `--${n}`).join(" and ")} cannot be combined${why}`;
  }
  return undefined;
}

/**
 * whenAllowed names the modes a flag excluded from the others applies in.
 * Without a mode flag waitlock acquires in the foreground; --exec acquires too.
 */
function whenAllowed(excluded: readonly string[], modes: readonly string[]): string {
  const left = modes.filter((m) => !excluded.includes(m));
  if (left.length === 0) {
    const names = modes.map((m) => `--${m}`);
    return `to foreground mode (no ${names.slice(0, -1).join(", ")} or ${names.at(-1)})`;
  }
  if (left.length === 1 && left[0] === "exec") return "when acquiring";
  return `without ${excluded.map((m) => `--${m}`).join(" or ")}`;
}

/** notAnOption words oclif's "Expected --NAME=VALUE to be one of: …" for a flag with an options list. */
function notAnOption(message: string, table: Record<string, DeclaredFlag>): string | undefined {
  const name = /^Expected --([\w-]+)=/.exec(message)?.[1];
  const options = name === undefined ? undefined : table[name]?.options;
  if (!options) return undefined;
  const tail = ` to be one of: ${options.join(", ")}`;
  const value = message.slice(`Expected --${name}=`.length, message.lastIndexOf(tail));
  return `unknown ${name} ${JSON.stringify(value)}; use one of ${options.join(", ")}`;
}
