// The foreground holder: a tiny detached process that keeps a lock for its
// owner after `waitlock DESCRIPTOR` has returned. It tells waitlock it is ready
// on fd 3 and inherits the locked files from fd 4 on (the kernel locks come
// with them; the last one carries the record), and lets go when the owner exits, when it gets SIGTERM/SIGINT/SIGHUP
// (`waitlock --done`), or when it dies. It loads nothing but node:fs, to stay small.
//
// usage: holder.js OWNER_PID OWNER_START RECORD_PATH LOCK_FD_COUNT
import * as fs from "node:fs";

const READY_FD = 3;
const OWNER_CHECK_MS = 100;
const [ownerPid, ownerStart, recordPath, fdCount] = process.argv.slice(2);
const RECORD_FD = READY_FD + Number(fdCount);

function startTime(pid: string): string | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
    return text.slice(text.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/**
 * release removes the record file while still holding it, then exits: closing
 * the inherited files drops the kernel locks (waitlock itself has exited).
 */
function release(): never {
  try {
    const mine = fs.fstatSync(RECORD_FD);
    const there = fs.lstatSync(recordPath, { throwIfNoEntry: false });
    if (there && there.ino === mine.ino && there.dev === mine.dev) {
      try {
        fs.unlinkSync(recordPath);
      } catch {
        fs.ftruncateSync(RECORD_FD, 0); // a sticky directory may refuse the unlink
      }
    }
  } catch {
    // whatever happens, exiting releases the lock
  }
  process.exit(0);
}

for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(s, release);
if (startTime(ownerPid) !== ownerStart) release(); // the owner is already gone
setInterval(() => {
  if (startTime(ownerPid) !== ownerStart) release();
}, OWNER_CHECK_MS);
fs.writeSync(READY_FD, "ready\n");
fs.closeSync(READY_FD);
