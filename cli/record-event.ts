// One lock event appended at once, by a process about to exit: the foreground
// holders (holder.ts for the lock directory, lease-holder.ts for a server)
// record the release (or loss) of the hold they kept, in the events file the
// waitlock that took the lock would have used (docs/METRICS.md). The same file
// rules as adapters/event-sink.ts, without its buffer (there is one line) and
// without pulling the library into these small processes.
import * as fs from "node:fs";
import { eventLine, type EventKind } from "../adapters/events.ts";

/** Where the hold's events go, as waitlock passes it to its holder. */
export interface HeldEvents {
  /** The events file. */
  file: string;
  descriptor: string;
  /** Date.now() when the lock was acquired. */
  acquiredAt: number;
}

/** recordHeldEvent appends kind (released or lost) with the time held; a failure is ignored. */
export function recordHeldEvent(e: HeldEvents | undefined, kind: Extract<EventKind, "released" | "lost">): void {
  if (!e) return;
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  let fd: number | undefined;
  try {
    fd = fs.openSync(e.file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o666);
    const st = fs.fstatSync(fd);
    if (st.isFile() && st.nlink === 1) fs.writeSync(fd, eventLine(Date.now(), kind, e.descriptor, Date.now() - e.acquiredAt));
  } catch {
    // metrics must never keep a lock
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
