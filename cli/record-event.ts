// One lock event appended at once, by a process about to exit: the foreground
// holders (holder.ts for the lock directory, lease-holder.ts for a server)
// record the release (or loss) of the hold they kept, in the events file the
// waitlock that took the lock would have used (docs/METRICS.md). The file
// rules are the sink's (adapters/event-sink.ts appendEvents), on plain node:fs:
// the Node platform would bring the kernel lock addon into these small processes.
import * as fs from "node:fs";
import { appendEvents } from "../adapters/event-sink.ts";
import { eventLine, type EventKind } from "../adapters/events.ts";
import { nodeEventFiles } from "../adapters/node/events.ts";
import type { FileStat, Platform } from "../adapters/platform.ts";

/** Where the hold's events go, as waitlock passes it to its holder. */
export interface HeldEvents {
  /** The events file. */
  file: string;
  descriptor: string;
  /** Date.now() when the lock was acquired. */
  acquiredAt: number;
}

/** What appendEvents needs of a platform, from node:fs (dev and ino, which only rotation reads, as numbers may be). */
const plainFs: Pick<Platform, "fstat" | "fchmod" | "uid" | "close"> = {
  fstat(fd): FileStat {
    const st = fs.fstatSync(fd);
    return { kind: st.isFile() ? "file" : "other", nlink: st.nlink, size: st.size, uid: st.uid, mode: st.mode & 0o7777, dev: BigInt(st.dev), ino: BigInt(st.ino) };
  },
  fchmod: (fd, mode) => fs.fchmodSync(fd, mode),
  uid: () => process.getuid?.() ?? -1,
  close: (fd) => fs.closeSync(fd),
};

/** recordHeldEvent appends kind (released or lost) with the time held; a failure is ignored. */
export function recordHeldEvent(e: HeldEvents | undefined, kind: Extract<EventKind, "released" | "lost">): void {
  if (!e) return;
  try {
    appendEvents(nodeEventFiles, plainFs, e.file, Buffer.from(eventLine(Date.now(), kind, e.descriptor, Date.now() - e.acquiredAt)));
  } catch {
    // metrics must never keep a lock
  }
}
