// What a slot file means. The kernel lock alone decides whether a slot is held;
// the record only adds detail. Owner liveness is deliberately not an input: no
// PID guess may turn a held slot into a free one (README, "How it works").
import { Staleness } from "./codes";

/**
 * classify maps what a prober saw to a Staleness. A held slot whose record is
 * unreadable (being written, or garbage written by its holder) is Active.
 * A held slot whose valid record names another host is Foreign: it is held,
 * but its PIDs mean nothing here. A free, empty file is what a release leaves
 * where unlinking was refused: Stale, not Corrupt.
 */
export function classify(recordValid: bool, recordEmpty: bool, lockHeld: bool, sameHost: bool): Staleness {
  if (lockHeld) return recordValid && !sameHost ? Staleness.Foreign : Staleness.Active;
  return recordValid || recordEmpty ? Staleness.Stale : Staleness.Corrupt;
}
