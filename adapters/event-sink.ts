// Recording lock events (format and file names: events.ts), the same on every
// runtime: each runtime supplies only the few file operations below
// (adapters/node/events.ts, adapters/deno/events.ts).
//
// The hot path only writes a line's bytes into a buffer; the buffer is
// written FLUSH_MS after its first line (a timer that never keeps the process
// alive), or at once past FLUSH_BYTES, and when the process exits, as ONE
// write to the file opened with O_APPEND: a write of a few KB to a regular
// file is not interleaved with other processes' on Linux, so lines from many
// processes never mix. The file is opened per write (no descriptor to keep,
// none inherited by children), never through a symlink, never a FIFO or a
// file with other names.
//
// Recording must never make a lock operation fail or wait: every error is
// swallowed (and counted in `failures`), and the lines of that write are lost.
//
// Rotation: a writer that finds the file past EVENTS_ROTATE_BYTES after its
// write renames it to EVENTS_FILE_OLD, replacing the previous one, while
// holding a kernel lock on it and only if the name still names the file it
// wrote (two writers that both see it full rotate it once).
import { EVENTS_FILE, EVENTS_FILE_OLD, EVENTS_ROTATE_BYTES, eventLineMaxBytes, writeEventLine, type EventKind, type EventSink } from "./events.ts";
import type { ByteRange, FileStat, Platform } from "./platform.ts";

/**
 * What a runtime adds to its Platform to write the events file (each may
 * throw; the sink catches): the rest (fstat, lstat, fchmod, close, kernel
 * locks, uid, timers) is the Platform's.
 */
export interface EventFiles {
  /** Opens path to append, creating it 0o666: write-only, O_APPEND, no follow, no block, close-on-exec. */
  openAppend(path: string): number;
  /** One write of data at the end of the file (O_APPEND). */
  append(fd: number, data: Uint8Array): void;
  rename(from: string, to: string): void;
  /** Calls fn when the process exits (normally, or by an exit call): buffered lines are written then. */
  atExit(fn: () => void): void;
}

/** The Platform operations the sink uses. */
type SinkPlatform = Pick<Platform, "fstat" | "lstat" | "fchmod" | "close" | "tryLock" | "unlock" | "uid" | "unrefTimer">;

/**
 * appendEvents writes lines (data) to the events file at path in one O_APPEND write,
 * by the rules every writer keeps (the sink below and the foreground holders'
 * last line): never into a planted FIFO, device or hard link, and a file it
 * finds empty and owns is opened to every user (in a shared sticky directory
 * every user appends to the one file). after(fd, stat) runs while the file is
 * still open, with its stat from before the write. Throws what fails.
 */
export function appendEvents(
  files: Pick<EventFiles, "openAppend" | "append">, os: Pick<Platform, "fstat" | "fchmod" | "uid" | "close">,
  path: string, data: Uint8Array, after?: (fd: number, st: FileStat) => void,
): void {
  const fd = files.openAppend(path);
  try {
    const st = os.fstat(fd);
    if (st.kind !== "file" || st.nlink !== 1) throw new Error("not a plain file");
    if (st.size === 0 && st.uid === os.uid() && (st.mode & 0o666) !== 0o666) os.fchmod(fd, 0o666);
    files.append(fd, data);
    after?.(fd, st);
  } finally {
    try {
      os.close(fd);
    } catch {
      // nothing to do
    }
  }
}

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
const ROTATE_LOCK: ByteRange = { offset: 0x7fff_0000, length: 1 };

export class BufferedEventSink implements EventSink {
  readonly file: string;
  readonly #old: string;
  readonly #fs: EventFiles;
  readonly #os: SinkPlatform;
  /** Lines not written yet: #pending's first #length bytes. */
  readonly #pending = new Uint8Array(FLUSH_BYTES + eventLineMaxBytes("d".repeat(255)));
  #length = 0;
  #scheduled = false;
  /** Writes that failed (their lines are lost). */
  failures = 0;

  constructor(dir: string, platform: SinkPlatform, files: EventFiles) {
    this.file = `${dir}/${EVENTS_FILE}`;
    this.#old = `${dir}/${EVENTS_FILE_OLD}`;
    this.#os = platform;
    this.#fs = files;
  }

  record(kind: EventKind, descriptor: string, ms: number): void {
    if (this.#length + eventLineMaxBytes(descriptor) > this.#pending.length) this.flush();
    this.#length = writeEventLine(this.#pending, this.#length, Date.now(), kind, descriptor, ms);
    if (this.#length >= FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      this.#os.unrefTimer(setTimeout(() => this.flush(), FLUSH_MS));
    }
  }

  warm(descriptor: string): void {
    // Written past the lines kept (record() leaves room for a line there) and not counted.
    writeEventLine(this.#pending, this.#length, Date.now(), "acquired", descriptor, 1);
  }

  flush(): void {
    this.#scheduled = false;
    const n = this.#length;
    if (n === 0) return;
    this.#length = 0;
    try {
      appendEvents(this.#fs, this.#os, this.file, this.#pending.subarray(0, n), (fd, st) => {
        if (st.size + n > EVENTS_ROTATE_BYTES) this.#rotate(fd, st);
      });
    } catch {
      this.failures++;
    }
  }

  #rotate(fd: number, st: FileStat): void {
    const os = this.#os;
    if (!os.tryLock(fd, ROTATE_LOCK, false)) return; // another writer is at it
    try {
      const now = os.lstat(this.file);
      if (now && now.ino === st.ino && now.dev === st.dev) this.#fs.rename(this.file, this.#old);
    } finally {
      os.unlock(fd, ROTATE_LOCK);
    }
  }
}

/** eventSinks makes the runtime's EventSinkFactory: one sink per directory for this process. */
export function eventSinks(platform: SinkPlatform, files: EventFiles): (dir: string) => EventSink {
  const byDir = new Map<string, BufferedEventSink>();
  return (dir) => {
    let s = byDir.get(dir);
    if (!s) {
      // One exit hook for every sink (a listener per directory would pile up).
      if (byDir.size === 0) files.atExit(() => byDir.forEach((sink) => sink.flush()));
      byDir.set(dir, (s = new BufferedEventSink(dir, platform, files)));
    }
    return s;
  };
}
