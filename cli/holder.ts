// The foreground holder: a tiny detached process that keeps a lock for its
// owner after `waitlock DESCRIPTOR` has returned. It tells waitlock it is ready
// on fd 3 and inherits the locked files from fd 4 on (the kernel locks come
// with them; the last one carries the record), and lets go when the owner exits, when it gets SIGTERM/SIGINT/SIGHUP
// (`waitlock --done`), or when it dies. It loads nothing but node builtins, to stay small.
//
// usage: holder.cjs OWNER_PID OWNER_START RECORD_PATH LOCK_FD_COUNT [RELEASE_EVENT_JSON]
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { startTimeFrom } from "../adapters/proc.ts";
import { discardRecordFile, type RecordFileOps } from "../adapters/record-file.ts";

const READY_FD = 3;
const OWNER_CHECK_MS = 100;
const [ownerPid, ownerStart, recordPath, fdCount, releaseEvent] = process.argv.slice(2);
const RECORD_FD = READY_FD + Number(fdCount);

const RECORD_FILE_OPS: RecordFileOps = {
  fstat: (fd) => fs.fstatSync(fd, { bigint: true }) as unknown as { dev: bigint; ino: bigint; nlink: number },
  lstat: (path) => fs.lstatSync(path, { bigint: true, throwIfNoEntry: false }),
  unlink: (path) => fs.unlinkSync(path),
  truncate: (fd, length) => fs.ftruncateSync(fd, length),
};

/** startTime is the owner's start time now, or undefined once it is gone. */
function startTime(pid: string): number | undefined {
  try {
    return startTimeFrom(fs.readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return undefined;
  }
}

/**
 * logRelease hands the "released" syslog line to a separate process
 * (syslog-event.cjs), so the holder itself loads no syslog code and exits at once.
 */
function logRelease(): void {
  if (!releaseEvent) return;
  try {
    const e = JSON.parse(releaseEvent);
    const text = `released ${e.what} (held for ${((Date.now() - e.acquiredAt) / 1000).toFixed(3)} s)`;
    const script = new URL("./syslog-event.cjs", import.meta.url).pathname;
    spawn(process.execPath, [script, JSON.stringify({ facility: e.facility, target: e.target, pid: process.pid, severity: "info", text })], {
      detached: true,
      stdio: "ignore",
    }).unref();
  } catch {
    // logging must never keep a lock
  }
}

/**
 * release removes the record file while still holding it, then exits: closing
 * the inherited files drops the kernel locks (waitlock itself has exited).
 */
function release(): never {
  discardRecordFile(RECORD_FILE_OPS, recordPath, RECORD_FD);
  logRelease();
  process.exit(0);
}

for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(s, release);
const ownerAlive = () => startTime(ownerPid) === Number(ownerStart);
if (!ownerAlive()) {
  // The owner is already gone (it exited while waitlock waited): say so instead of
  // "ready", so waitlock reports that rather than a holder that failed to start.
  try {
    fs.writeSync(READY_FD, "owner-gone\n");
  } catch {
    // waitlock is gone too
  }
  release();
}
setInterval(() => {
  if (!ownerAlive()) release();
}, OWNER_CHECK_MS);
fs.writeSync(READY_FD, "ready\n");
fs.closeSync(READY_FD);
