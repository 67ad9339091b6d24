// Whether kernel locks really work in the lock directory, in words and fixes.
// The test itself is the file backend's (it knows its byte ranges).
import { probeKernelLocks } from "../../../../adapters/file-selftest.ts";
import type { Platform } from "../../../../adapters/platform.ts";
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

/** kernelLocks reports the lock directory's self-test (adapters/file-selftest.ts). */
export function kernelLocks(p: Platform, dir: string): Finding {
  const v = probeKernelLocks(p, dir);
  const local = "choose a local lock directory (tmpfs or a disk)";
  switch (v.result) {
    case "ok":
      return ok(CHECK, `a lock taken through one open file is seen through another (exclusive and shared), released at once, and byte ranges are independent (${p.name}); scratch file removed`);
    case "whole-file":
      return warn(CHECK, "locks work, but byte ranges are not independent (whole-file locks): a --check or --list may briefly make an acquirer see busy",
        "prefer a local lock directory on Linux (tmpfs or a disk)");
    case "broken":
      return fail(CHECK, {
        "cannot-lock": "a fresh scratch file could not be locked",
        "not-seen": "a lock taken through one open file was not seen through another: waitlock could not keep two processes out of one slot here",
        "not-released": "a released lock still looked held from another open file",
      }[v.why], local);
    case "error":
      return fail(CHECK, `cannot ${v.step} in ${dir}: ${v.errno ?? errorText(v.error)}`, FIXES[v.errno ?? ""] ?? local);
  }
}
