// Whether kernel locks really work in the lock directory: a scratch file opened
// twice, locked through one descriptor, tested through the other, with the same
// primitive and byte ranges (GATE, HELD) the lock protocol uses.
import { GATE, HELD } from "../../../../adapters/file-backend.ts";
import { joinPath } from "../../../../adapters/names.ts";
import { errnoOf, type Platform } from "../../../../adapters/platform.ts";
import { errorText, fail, ok, warn, type Finding } from "../finding.ts";

const CHECK = "kernel locks";

/** Fixes by errno for a scratch file that cannot be created or locked. */
const FIXES: Record<string, string> = {
  EACCES: "give this user write access to the lock directory, or choose another",
  EPERM: "give this user write access to the lock directory, or choose another",
  EROFS: "the filesystem is read-only: choose a writable lock directory",
  ENOSPC: "free space on this filesystem, or choose another lock directory",
  EDQUOT: "free some of this user's disk quota, or choose another lock directory",
  ENOLCK: "the filesystem offers no locks: on NFS start rpc.statd/lockd (v3) or mount without nolock; else choose a local directory",
  EOPNOTSUPP: "this filesystem does not support locks: choose a local directory (tmpfs or a disk)",
  EINVAL: "this filesystem does not support these locks: choose a local directory (tmpfs or a disk)",
};

/** kernelLocks takes and tests locks on a scratch file in dir, then removes it. */
export function kernelLocks(p: Platform, dir: string): Finding {
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
    if (!p.tryLock(a, GATE, false)) {
      return fail(CHECK, "a fresh scratch file could not be locked", "choose a local lock directory (tmpfs or a disk)");
    }
    if (p.tryLock(b, GATE, false) || p.tryLock(b, GATE, true)) {
      return fail(CHECK, "a lock taken through one open file was not seen through another: waitlock could not keep two processes out of one slot here",
        "choose a local lock directory (tmpfs or a disk)");
    }
    p.unlock(a, GATE);
    if (!p.tryLock(b, GATE, false)) {
      return fail(CHECK, "a released lock still looked held from another open file", "choose a local lock directory (tmpfs or a disk)");
    }
    // Probes test HELD while acquirers compete for GATE: the ranges must be independent.
    const independent = p.tryLock(a, HELD, false);
    if (independent) p.unlock(a, HELD);
    p.unlock(b, GATE);
    if (!independent) {
      return warn(CHECK, "locks work, but byte ranges are not independent (whole-file locks): a --check or --list may briefly make an acquirer see busy",
        "prefer a local lock directory on Linux (tmpfs or a disk)");
    }
    return ok(CHECK, `a lock taken through one open file is seen through another (exclusive and shared), released at once, and byte ranges are independent (${p.name}); scratch file removed`);
  } catch (err) {
    const errno = errnoOf(err);
    return fail(CHECK, `cannot ${step} in ${dir}: ${errno ?? errorText(err)}`, FIXES[errno ?? ""] ?? "choose a local lock directory (tmpfs or a disk)");
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
