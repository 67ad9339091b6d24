// Kinds of flag value the main command's table declares, beyond oclif's own:
// each parses its value and refuses a bad one in waitlock's words.
import * as Flags from "@oclif/core/flags";

/**
 * FlagValueError is a value a flag's own parse function refused. oclif rewrites
 * the message of whatever a parse function throws ("Parsing --x …"); reason
 * keeps waitlock's sentence, which cli/flag-errors.ts reports as it is.
 */
export class FlagValueError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * wholeNumber is a count, a PID or a number of seconds: digits only (no sign,
 * no fraction; blanks around them are allowed), from min to max. oclif's
 * Flags.integer would take "-1" and word its refusals its own way.
 */
export const wholeNumber = Flags.custom<number, { min: number; max: number }>({
  async parse(input, _context, flag) {
    const what = `--${flag.name}`;
    if (!/^\d+$/.test(input.trim())) throw new FlagValueError(`${what} must be a whole number, not ${JSON.stringify(input)}`);
    const n = Number(input);
    if (n < flag.min || n > flag.max) throw new FlagValueError(`${what} must be from ${flag.min} to ${flag.max}, not ${n}`);
    return n;
  },
});
