// Who can rename the lock directory, or a directory above it, out of the way.
// A held lock lives on its file: a lock directory renamed or replaced under its
// holders leaves them holding files nobody else looks at, and the next waitlock
// takes the "same" lock in a fresh directory (flock(1) has the same limit). So
// every directory on the path must be safe from other users, not only the last.
import { realpathSync } from "node:fs";
import { dirname } from "node:path";
import type { FileStat, Platform } from "../../../../adapters/platform.ts";
import { errorText, ok, warn, type Finding } from "../finding.ts";
import { who } from "./who.ts";

const STICKY = 0o1000;
const OTHERS_WRITE = 0o022;

/**
 * renamers says who, besides root and this user, may rename child out of parent
 * (or put another entry in its place), or undefined if nobody may.
 */
function renamers(me: number, parent: FileStat, child: FileStat, parentPath: string, childPath: string): { who: string; fix: string } | undefined {
  const another = (uid: number) => uid !== me && uid !== 0;
  if (another(parent.uid)) {
    return { who: `${who(parent.uid)}, who owns ${parentPath}`, fix: "use a lock directory whose parents are owned by root or by you" };
  }
  if ((parent.mode & OTHERS_WRITE) !== 0 && (parent.mode & STICKY) === 0) {
    return { who: `${parent.mode & 0o002 ? "every user" : "its group"} (${parentPath} is writable by ${parent.mode & 0o002 ? "all" : "the group"} and not sticky)`, fix: `chmod +t ${parentPath}` };
  }
  if ((parent.mode & OTHERS_WRITE) !== 0 && another(child.uid)) {
    return { who: `${who(child.uid)}, who owns it (the sticky bit of ${parentPath} stops only everyone else)`, fix: `as root: chown root ${childPath}; or use a lock directory you own` };
  }
  return undefined;
}

/** parents warns when another user could rename the lock directory or any directory above it. */
export function parents(p: Platform, dir: string): Finding {
  let child: string;
  try {
    child = realpathSync(dir);
  } catch (err) {
    return warn("parents", `cannot resolve ${dir}: ${errorText(err)}`);
  }
  const real = child;
  const me = p.uid();
  while (child !== "/") {
    const parent = dirname(child);
    const ps = p.lstat(parent);
    const cs = p.lstat(child);
    const r = ps && cs ? renamers(me, ps, cs, parent, child) : undefined;
    if (r) {
      return warn("parents", `${child} can be renamed or replaced by ${r.who}: a lock directory moved away under held locks lets the next waitlock in`, r.fix);
    }
    child = parent;
  }
  return ok("parents", `only root${me === 0 ? "" : " and this user"} can rename ${real} or a directory above it`);
}
