// Where lock files live: --lock-dir > WAITLOCK_DIR > the first usable of
// /var/lock/waitlock, /tmp/waitlock, $HOME/.waitlock.
import { WaitlockError } from "./errors.ts";
import { errnoOf, type Platform } from "./platform.ts";

export const SHARED_DIR_MODE = 0o1777; // every user lands in the same directory; sticky, so none can delete another's files
export const PRIVATE_DIR_MODE = 0o700;

export interface LockDir {
  path: string;
  /** Why this directory: the option, the environment, or the automatic list. */
  source: "option" | "env" | "auto";
}

/** The automatic candidates, in order, with the mode to create each with. */
export function autoCandidates(p: Platform): { path: string; mode: number }[] {
  const list = [
    { path: "/var/lock/waitlock", mode: SHARED_DIR_MODE },
    { path: "/tmp/waitlock", mode: SHARED_DIR_MODE },
  ];
  const home = p.homeDir();
  if (home) list.push({ path: `${home.replace(/\/+$/, "")}/.waitlock`, mode: PRIVATE_DIR_MODE });
  return list;
}

/**
 * checkExplicitDir verifies a directory the user named. It is not created: a
 * typo should fail loudly, not scatter lock directories around the disk.
 */
/** how: where the path came from, when not from the caller itself (an environment variable). */
function checkExplicitDir(p: Platform, path: string, how?: string): void {
  const named = how ? `lock directory ${path} (${how})` : `lock directory ${path}`;
  let st;
  try {
    st = p.lstat(path);
  } catch (err) {
    throw new WaitlockError("ENODIR", `${named} cannot be examined: ${errnoOf(err) ?? err}`, { cause: err });
  }
  // A symlink the user names on purpose is fine; follow it once and check the target.
  if (st?.kind === "symlink") st = statFollow(p, path);
  if (!st) throw new WaitlockError("ENODIR", `${named} does not exist; create it or choose another`);
  if (st.kind !== "directory") throw new WaitlockError("ENODIR", `${named} is not a directory`);
  if (!p.canWrite(path)) throw new WaitlockError("EPERM", `${named} is not writable by this user; fix its permissions or choose another`);
}

function statFollow(p: Platform, path: string) {
  // lstat of "<path>/." resolves the symlink to the directory it names.
  return p.lstat(`${path.replace(/\/+$/, "")}/.`);
}

/**
 * autoDirUsable tells whether an automatic candidate can be trusted and used,
 * creating it if its parent allows. A candidate planted by another user (a
 * symlink, or a directory others could tamper with) is skipped, never followed.
 */
function autoDirUsable(p: Platform, path: string, mode: number): boolean {
  let st = p.lstat(path);
  if (!st) {
    try {
      p.mkdir(path, mode);
    } catch (err) {
      if (errnoOf(err) !== "EEXIST") return false;
    }
    st = p.lstat(path);
    if (!st) return false;
  }
  if (st.kind !== "directory") return false;
  const mine = st.uid === p.uid() || st.uid === 0;
  const sharedSticky = (st.mode & 0o1777) === SHARED_DIR_MODE;
  if (!mine && !sharedSticky) return false;
  return p.canWrite(path);
}

/**
 * resolveLockDir picks the lock directory for an operation. candidates is the
 * automatic list (a parameter so tests can point it somewhere harmless).
 */
export function resolveLockDir(p: Platform, explicit?: string, candidates = autoCandidates(p)): LockDir {
  if (explicit !== undefined && explicit !== "") {
    checkExplicitDir(p, explicit); // the library's lockDir or the CLI's --lock-dir: the message names neither
    return { path: explicit, source: "option" };
  }
  const fromEnv = p.env("WAITLOCK_DIR");
  if (fromEnv) {
    checkExplicitDir(p, fromEnv, "WAITLOCK_DIR");
    return { path: fromEnv, source: "env" };
  }
  for (const c of candidates) {
    try {
      if (autoDirUsable(p, c.path, c.mode)) return { path: c.path, source: "auto" };
    } catch {
      // An unreadable candidate is just not usable; try the next one.
    }
  }
  const tried = candidates.map((c) => c.path).join(", ");
  throw new WaitlockError("ENODIR", `no usable lock directory (tried ${tried}); set WAITLOCK_DIR, or choose one (--lock-dir, or the library's lockDir)`);
}
