// The lock directory's self-test: do kernel locks work here the way the file
// protocol needs them? A scratch file opened twice, locked through one open
// file and tested through the other, with the protocol's own byte ranges.
// `waitlock doctor` reports the result; the ranges stay the protocol's business.
import { GATE, HELD } from "./file-backend.ts";
import { joinPath } from "./names.ts";
import { errnoOf, type Platform } from "./platform.ts";

export type KernelLockVerdict =
  | { result: "ok" }
  /** Locks work, but byte ranges are not independent: a probe may briefly make an acquirer see busy. */
  | { result: "whole-file" }
  | { result: "broken"; why: "cannot-lock" | "not-seen" | "not-released" }
  | { result: "error"; step: string; errno?: string; error: unknown };

/** probeKernelLocks takes and tests locks on a scratch file in dir, then removes it. */
export function probeKernelLocks(p: Platform, dir: string): KernelLockVerdict {
  // A dot file whose name cannot be mistaken for a lock file: listings skip it.
  const scratch = joinPath(dir, `.waitlock-doctor-${p.pid}-${Date.now().toString(36)}.scratch`);
  const fds: number[] = [];
  let step = "create a scratch file";
  try {
    fds.push(p.openSlot(scratch));
    step = "open the scratch file again";
    fds.push(p.openSlot(scratch));
    const [a, b] = fds;
    step = "lock the scratch file";
    if (!p.tryLock(a, GATE, false)) return { result: "broken", why: "cannot-lock" };
    if (p.tryLock(b, GATE, false) || p.tryLock(b, GATE, true)) return { result: "broken", why: "not-seen" };
    p.unlock(a, GATE);
    if (!p.tryLock(b, GATE, false)) return { result: "broken", why: "not-released" };
    // Probes test HELD while acquirers compete for GATE: the ranges must be independent.
    const independent = p.tryLock(a, HELD, false);
    if (independent) p.unlock(a, HELD);
    p.unlock(b, GATE);
    return independent ? { result: "ok" } : { result: "whole-file" };
  } catch (err) {
    return { result: "error", step, errno: errnoOf(err), error: err };
  } finally {
    for (const fd of fds) {
      try {
        p.close(fd);
      } catch {
        // already closed
      }
    }
    try {
      p.unlink(scratch);
    } catch {
      // never created, or already gone
    }
  }
}
