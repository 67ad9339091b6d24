// Recording lock events on Node (format and file names: ../events.ts).
//
// The hot path only formats a line and pushes it on a buffer; the buffer is
// written FLUSH_MS after its first line (an unreferenced timer), or at once
// past FLUSH_BYTES, and at process exit, as ONE write to a file opened with
// O_APPEND: a write of a few KB to a regular file is not interleaved with
// other processes' on Linux, so lines from many processes never mix. The file
// is opened per write (no descriptor to keep; libuv opens it close-on-exec),
// never through a symlink, never a FIFO or a file with other names.
//
// Recording must never make a lock operation fail or wait: every error is
// swallowed (and counted in `failures`), and the lines of that write are lost.
//
// Rotation: a writer that finds the file past EVENTS_ROTATE_BYTES after its
// write renames it to EVENTS_FILE_OLD, replacing the previous one, while
// holding a kernel lock on it and only if the name still names the file it
// wrote (two writers that both see it full rotate it once).
import * as fs from "node:fs";
import { EVENTS_FILE, EVENTS_FILE_OLD, EVENTS_ROTATE_BYTES, eventLine, type EventKind, type EventSink } from "../events.ts";
import { kernelLocks } from "./kernel-locks.ts";

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** Lines buffered past this are written at once rather than when the timer fires. */
const FLUSH_BYTES = 16 * 1024;
/**
 * How long a line may wait in the buffer. A write per event-loop turn (open,
 * fstat, write, close) cost a process that takes one lock per turn about a
 * quarter of an uncontended acquire + release (bench "events off" row); one
 * write per FLUSH_MS costs it nothing measurable, and a process killed by
 * SIGKILL loses at most that long of its own lines.
 */
const FLUSH_MS = 200;
/** The byte locked while rotating (far past any content; a lock on it never blocks a write). */
const ROTATE_LOCK = { offset: 0x7fff_0000, length: 1 };

const sinks = new Set<NodeEventSink>();
let exitHooked = false;

function flushAll(): void {
  for (const s of sinks) s.flush();
}

export class NodeEventSink implements EventSink {
  readonly file: string;
  readonly #old: string;
  #pending = "";
  #scheduled = false;
  /** Writes that failed (their lines are lost). */
  failures = 0;

  constructor(dir: string) {
    this.file = `${dir}/${EVENTS_FILE}`;
    this.#old = `${dir}/${EVENTS_FILE_OLD}`;
    sinks.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on("exit", flushAll);
    }
  }

  record(kind: EventKind, descriptor: string, ms: number): void {
    this.#pending += eventLine(Date.now(), kind, descriptor, ms);
    if (this.#pending.length >= FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flush(), FLUSH_MS).unref();
    }
  }

  flush(): void {
    this.#scheduled = false;
    const text = this.#pending;
    if (text === "") return;
    this.#pending = "";
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o666);
      const st = fs.fstatSync(fd);
      // A planted FIFO, device or hard link is never written.
      if (!st.isFile() || st.nlink !== 1) throw new Error("not a plain file");
      // In a shared (sticky, world-writable) directory every user appends to the one file.
      if (st.size === 0 && st.uid === process.getuid?.() && (st.mode & 0o666) !== 0o666) fs.fchmodSync(fd, 0o666);
      const bytes = Buffer.from(text, "latin1"); // descriptors are ASCII
      fs.writeSync(fd, bytes);
      if (st.size + bytes.length > EVENTS_ROTATE_BYTES) this.#rotate(fd, st);
    } catch {
      this.failures++;
    } finally {
      if (fd !== undefined) {
        try {
          fs.closeSync(fd);
        } catch {
          // nothing to do
        }
      }
    }
  }

  #rotate(fd: number, st: fs.Stats): void {
    if (!kernelLocks.tryLock(fd, ROTATE_LOCK.offset, ROTATE_LOCK.length, false)) return; // another writer is at it
    try {
      const now = fs.lstatSync(this.file, { throwIfNoEntry: false });
      if (now && now.ino === st.ino && now.dev === st.dev) fs.renameSync(this.file, this.#old);
    } finally {
      kernelLocks.unlock(fd, ROTATE_LOCK.offset, ROTATE_LOCK.length);
    }
  }
}

/** nodeEventSink: one sink per directory for this process. */
const byDir = new Map<string, NodeEventSink>();
export function nodeEventSink(dir: string): EventSink {
  let s = byDir.get(dir);
  if (!s) byDir.set(dir, (s = new NodeEventSink(dir)));
  return s;
}
