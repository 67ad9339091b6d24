// The lock directory: which one, why, and whether it is fit to hold locks
// (exists, owner, mode, who can rename it, space, inodes). The verdict on usability is the
// library's own (resolveLockDir), so doctor and waitlock never disagree.
import { statfsSync } from "node:fs";
import { autoCandidates, resolveLockDir, SHARED_DIR_MODE, type LockDir } from "../../../../adapters/lock-dir.ts";
import { errnoOf, type FileStat, type Platform } from "../../../../adapters/platform.ts";
import { bytes, errorText, fail, ok, warn, type Finding } from "../finding.ts";
import { parents } from "./parents.ts";
import { who } from "./who.ts";

/** Below this much free space or this many free inodes, a directory gets a warning. */
const LOW_SPACE = 1024 * 1024;
const LOW_INODES = 1000;

const octal = (mode: number) => mode.toString(8).padStart(4, "0");

/** statOf is the directory itself, following a symlink the user named on purpose. */
function statOf(p: Platform, path: string): FileStat | undefined {
  const st = p.lstat(path);
  return st?.kind === "symlink" ? p.lstat(`${path.replace(/\/+$/, "")}/.`) : st;
}

export interface LockDirResult {
  findings: Finding[];
  /** The directory in use, when one is usable. */
  dir?: LockDir;
}

/** lockDirectory reports which directory is in use and why, and whether it exists and may be used. */
export function lockDirectory(p: Platform, flag: string | undefined): LockDirResult {
  const fromEnv = p.env("WAITLOCK_DIR");
  const explicit = flag ? { path: flag, why: "from --lock-dir" } : fromEnv ? { path: fromEnv, why: "from WAITLOCK_DIR" } : undefined;
  const candidates = autoCandidates(p);
  // A candidate this user may not even look at (another user's home) is simply not there for it.
  const lstatOrNothing = (path: string) => {
    try {
      return p.lstat(path);
    } catch {
      return undefined;
    }
  };
  const before = new Map(candidates.map((c) => [c.path, lstatOrNothing(c.path)]));

  let dir: LockDir;
  try {
    dir = resolveLockDir(p, flag || undefined, candidates);
  } catch (err) {
    const text = errorText(err).replace(/^lock directory /, "");
    const code = (err as { code?: string }).code;
    if (explicit) {
      const option = flag ? "--lock-dir" : "WAITLOCK_DIR";
      const fix = code === "EPERM"
        ? `give this user write access (chmod 1777 ${explicit.path} for a directory every user shares), or choose another directory`
        : p.lstat(explicit.path)
          ? `point ${option} at a directory, or move this ${p.lstat(explicit.path)?.kind ?? "entry"} away and mkdir -m 1777 ${explicit.path}`
          : `create it (mkdir -m 1777 ${explicit.path} for a directory every user shares), or point ${option} at an existing directory`;
      return { findings: [ok("lock directory", `${explicit.path} (${explicit.why})`), fail("exists", text, fix)] };
    }
    return {
      findings: [fail("lock directory", text.replace(/; set WAITLOCK_DIR.*$/, ""),
        "set WAITLOCK_DIR or pass --lock-dir to a writable directory, or create /tmp/waitlock with mode 1777")],
    };
  }

  const findings: Finding[] = [];
  if (explicit) {
    findings.push(ok("lock directory", `${dir.path} (${explicit.why})`));
  } else {
    const order = candidates.map((c) => c.path).join(", ");
    const created = before.get(dir.path) === undefined ? "; created now" : "";
    findings.push(ok("lock directory", `${dir.path} (automatic: the first usable of ${order}${created})`));
    findings.push(...skippedCandidates(p, candidates, dir.path, before));
  }

  const st = statOf(p, dir.path);
  if (!st) return { findings: [...findings, fail("exists", `${dir.path} vanished while being examined`, "run doctor again")] };
  findings.push(ok("exists", `a directory, writable by ${who(p.uid())}`));
  findings.push(owner(p, st));
  findings.push(mode(dir, st, candidates));
  findings.push(parents(p, dir.path));
  findings.push(...space(dir.path));
  return { findings, dir };
}

/**
 * skippedCandidates warns about automatic candidates before the one in use that
 * exist but this user cannot use: processes of other users may lock there, and
 * their locks do not exclude the ones taken here.
 */
function skippedCandidates(
  p: Platform, candidates: { path: string; mode: number }[], chosen: string, before: Map<string, FileStat | undefined>,
): Finding[] {
  const out: Finding[] = [];
  for (const c of candidates) {
    if (c.path === chosen) break;
    const st = before.get(c.path);
    if (!st) continue; // missing and not creatable by this user: nobody can be using it yet
    const what = st.kind === "directory" ? `exists (owner ${who(st.uid)}, mode ${octal(st.mode)}) but this user cannot use it`
      : st.kind === "symlink" ? "is a symbolic link (never followed)" : `is not a directory (${st.kind})`;
    out.push(warn("earlier candidate", `${c.path} ${what}: other users may lock there, and their locks do not exclude the ones taken in ${chosen}`,
      st.kind === "directory" ? `as its owner: chmod 1777 ${c.path}; or give every user the same WAITLOCK_DIR` : `remove ${c.path} (as root), or give every user the same WAITLOCK_DIR`));
  }
  return out;
}

function owner(p: Platform, st: FileStat): Finding {
  const sticky = (st.mode & 0o1000) !== 0;
  if (st.uid === p.uid()) return ok("owner", `${who(st.uid)}, this user`);
  if (st.uid === 0) return ok("owner", who(0));
  if (sticky) return ok("owner", `${who(st.uid)} (another user; the sticky bit keeps your lock files yours)`);
  return warn("owner", `${who(st.uid)}, another user, who can delete or replace every lock file in it`,
    "use a directory owned by you or root, or a shared sticky one (chmod 1777)");
}

function mode(dir: LockDir, st: FileStat, candidates: { path: string; mode: number }[]): Finding {
  const m = st.mode & 0o7777;
  const shown = octal(m);
  const sharedAuto = dir.source === "auto" && candidates.some((c) => c.path === dir.path && c.mode === SHARED_DIR_MODE);
  if (sharedAuto && m !== SHARED_DIR_MODE) {
    return warn("mode", `${shown}, but ${dir.path} is shared by every user and must be 1777 (sticky): other users cannot lock here and fall back to another directory, so their locks and yours do not exclude each other`,
      `chmod 1777 ${dir.path}`);
  }
  const othersWrite = (m & 0o022) !== 0;
  const sticky = (m & 0o1000) !== 0;
  if (othersWrite && !sticky) {
    return warn("mode", `${shown}: writable by ${m & 0o002 ? "every user" : "its group"} but not sticky, so anyone who can write it can delete or replace another's lock files`,
      `chmod ${octal(m | 0o1000)} ${dir.path} (1777 for a directory every user shares)`);
  }
  if (m === SHARED_DIR_MODE) return ok("mode", `${shown} (shared by every user, sticky)`);
  if (othersWrite) return ok("mode", `${shown} (shared, sticky)`);
  return ok("mode", `${shown} (only ${st.uid === 0 ? "root" : "its owner"} can lock here)`);
}

function space(path: string): Finding[] {
  let s;
  try {
    s = statfsSync(path);
  } catch (err) {
    return [warn("free space", `statfs failed: ${errnoOf(err) ?? errorText(err)}`)];
  }
  const out: Finding[] = [];
  const avail = s.bavail * s.bsize;
  const total = s.blocks * s.bsize;
  const used = total > 0 ? ` (${Math.round(((s.blocks - s.bfree) / s.blocks) * 100)}% used)` : "";
  if (s.bavail === 0) {
    out.push(fail("free space", `none left${used}: lock records cannot be written (waitlock exits 75, try again)`, "free space on this filesystem, or choose another lock directory"));
  } else if (avail < LOW_SPACE) {
    out.push(warn("free space", `${bytes(avail)} available${used}`, "free space on this filesystem, or choose another lock directory"));
  } else {
    out.push(ok("free space", `${bytes(avail)} available${used}`));
  }
  if (s.files === 0) {
    out.push(ok("free inodes", "not limited (this filesystem reports no inode count)"));
  } else if (s.ffree === 0) {
    out.push(fail("free inodes", `none of ${s.files} left: no new lock file can be created`, "remove files on this filesystem, or choose another lock directory"));
  } else if (s.ffree < LOW_INODES) {
    out.push(warn("free inodes", `${s.ffree} of ${s.files} left`, "remove files on this filesystem, or choose another lock directory"));
  } else {
    out.push(ok("free inodes", `${s.ffree} of ${s.files} free`));
  }
  return out;
}
