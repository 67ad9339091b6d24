// The process a foreground lock without --owner is bound to: waitlock's
// caller, past wrappers that exit when waitlock does (chooseOwner). --done asks
// the same question to tell the caller's own lock from another's.
import { WaitlockError } from "../adapters/errors.ts";
import { waitlock as wl } from "../adapters/node/index.ts";
import { readAncestry } from "../adapters/node/ancestry.ts";
import { chooseOwner } from "../adapters/proc.ts";

/** callerOwner returns the caller's PID, or throws why no caller can own descriptor's lock. */
export function callerOwner(descriptor: string, trace: (message: string) => void): number {
  const parent = wl.platform.ppid;
  const ancestry = readAncestry(parent);
  const choice = ancestry && chooseOwner(ancestry.self, ancestry.ancestors);
  if (!choice) return parent; // no /proc: nothing to tell by
  if ("refused" in choice) {
    // Binding the lock to an adopter (init, a subreaper) would hold it for that
    // process's life: until reboot, for init. Binding it to a wrapper that exits
    // with waitlock would hold nothing.
    // The caller gone before waitlock started is a race, not a mistake; a wrapper whose
    // caller cannot be found is how waitlock was invoked (README: exit 3).
    throw choice.refused === "adopted"
      ? new WaitlockError("ESYSTEM", `the calling process exited before waitlock started (PID ${choice.pid} adopted it); not taking ${descriptor} for nobody (use --owner PID)`)
      : new WaitlockError("EUSAGE", `waitlock runs under ${choice.name} (PID ${choice.pid}), which exits when waitlock does, and the script that started it cannot be found; not taking ${descriptor} (use --owner PID, or --exec)`);
  }
  for (const p of choice.walkedPast) trace(`PID ${p.pid} (${p.argv.join(" ").trim().slice(0, 60)}) exits with waitlock: binding the lock to its caller`);
  return choice.pid;
}
