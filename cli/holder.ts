// The foreground holder: a tiny detached process that keeps a lock for its
// owner after `waitlock DESCRIPTOR` has returned. It tells waitlock it is ready
// on fd 3 and inherits the locked files from fd 4 on (the kernel locks come
// with them; the last one carries the record), and lets go when the owner
// exits, when it is told to, or when it dies. It loads nothing but node
// builtins, to stay small.
//
// Told to by SIGTERM, SIGINT or SIGHUP (`waitlock --done` from another process,
// a kill), the lock is taken from an owner that still runs, unaware: as when a
// server's lease is lost (cli/lease-holder.ts), the owner is sent LOST_SIGNAL
// (SIGTERM unless --lost-signal says otherwise; "none" sends nothing) before the
// lock is let go, so it stops before anyone else can get in. Told to by SIGUSR2
// (the owner's own `waitlock --done`, cli/main.ts), it lets go quietly.
//
// usage: holder.cjs OWNER_PID OWNER_START RECORD_PATH LOCK_FD_COUNT LOST_SIGNAL [RELEASE_EVENT_JSON|""] [EVENTS_JSON]
// EVENTS_JSON ({file, descriptor, acquiredAt}) names the events file where the
// release is recorded for metrics (adapters/events.ts), one O_APPEND write.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { startTimeFrom } from "../adapters/proc.ts";
import { discardRecordFile, type RecordFileOps } from "../adapters/record-file.ts";
import { recordHeldEvent, type HeldEvents } from "./record-event.ts";

const READY_FD = 3;
const OWNER_CHECK_MS = 100;
const [ownerPid, ownerStart, recordPath, fdCount, lostSignal, releaseEvent, eventsJson] = process.argv.slice(2);
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
function logRelease(how = ""): void {
  if (!releaseEvent) return;
  try {
    const e = JSON.parse(releaseEvent);
    const text = `released ${e.what} (held for ${((Date.now() - e.acquiredAt) / 1000).toFixed(3)} s${how})`;
    const script = new URL("./syslog-event.cjs", import.meta.url).pathname;
    spawn(process.execPath, [script, JSON.stringify({ facility: e.facility, target: e.target, pid: process.pid, severity: "info", text })], {
      detached: true,
      stdio: "ignore",
    }).unref();
  } catch {
    // logging must never keep a lock
  }
}

/** Set once the lock is this holder's: only then is its release this holder's to record. */
let ready = false;

/** recordRelease appends the "released" event, once the lock is this holder's; a failure is ignored. */
function recordRelease(): void {
  if (!eventsJson || !ready) return;
  try {
    recordHeldEvent(JSON.parse(eventsJson) as HeldEvents, "released");
  } catch {
    // metrics must never keep a lock
  }
}

/**
 * release removes the record file while still holding it, then exits: closing
 * the inherited files drops the kernel locks (waitlock itself has exited).
 */
function release(how?: string): never {
  discardRecordFile(RECORD_FILE_OPS, recordPath, RECORD_FD);
  recordRelease();
  logRelease(how);
  process.exit(0);
}

/** takenAway: the lock is being taken from a running owner; tell it, then let go. */
function takenAway(signal: NodeJS.Signals): never {
  let told = "";
  if (lostSignal !== "none" && ownerAlive()) {
    try {
      process.kill(Number(ownerPid), lostSignal);
      told = `, owner PID ${ownerPid} sent ${lostSignal}`;
    } catch {
      // the owner is gone meanwhile
    }
  }
  release(`; ended by ${signal}${told}`);
}

for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(s, takenAway);
process.on("SIGUSR2", () => release("; let go by its owner"));
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
ready = true;
fs.closeSync(READY_FD);
