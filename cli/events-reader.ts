// Reads a lock directory's events files (adapters/events.ts) into EventTotals,
// from where it left off: the first read takes the previous segment
// (.waitlock-events.1) and the current file from their start, later reads only
// what was appended since, and the rest of the previous segment when the
// current file was rotated in between. Anything odd (a symlink, a FIFO, a
// directory, no permission, binary junk) is counted, never thrown.
import * as fs from "node:fs";
import { EVENTS_FILE, EVENTS_FILE_OLD } from "../adapters/events.ts";
import { EventTotals } from "./metrics.ts";

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** Bytes read per call at most (the rest is read next time), so one scrape stays short. */
const READ_LIMIT = 32 * 1024 * 1024;
/** A "line" longer than this without a newline is junk: it is dropped as invalid. */
const MAX_LINE = 4096;
const CHUNK = 1024 * 1024;

interface Position {
  dev: number;
  ino: number;
  offset: number;
  partial: string;
}

/** The position while there is no current file to read: the next file found is read from its start. */
const NOWHERE = (): Position => ({ dev: -1, ino: -1, offset: 0, partial: "" });

export class EventsReader {
  readonly totals: EventTotals;
  /** Times a file could not be opened or read as a plain file. */
  errors = 0;
  readonly #file: string;
  readonly #old: string;
  #pos: Position | undefined;

  constructor(dir: string, totals = new EventTotals()) {
    this.#file = `${dir}/${EVENTS_FILE}`;
    this.#old = `${dir}/${EVENTS_FILE_OLD}`;
    this.totals = totals;
  }

  /** poll reads what is new. */
  poll(): void {
    let budget = READ_LIMIT;
    if (this.#pos === undefined) {
      // First read: the previous segment whole, then the current file.
      const old = this.#readFrom(this.#old, undefined, budget);
      if (old) {
        budget -= old.read;
        this.#flushPartial(old.pos);
      }
      this.#pos = this.#readFrom(this.#file, undefined, budget)?.pos ?? NOWHERE();
      return;
    }
    const st = this.#stat(this.#file);
    const pos = this.#pos;
    if (!st || st.ino !== pos.ino || st.dev !== pos.dev) {
      // Rotated (or removed): finish the segment we were reading if it is the previous one now.
      const old = this.#stat(this.#old);
      if (old && old.ino === pos.ino && old.dev === pos.dev) {
        const rest = this.#readFrom(this.#old, pos, budget);
        if (rest) budget -= rest.read;
      }
      this.#flushPartial(pos);
      this.#pos = (st && this.#readFrom(this.#file, undefined, budget)?.pos) || NOWHERE();
      return;
    }
    if (st.size < pos.offset) {
      // Truncated by someone: start over on what is there.
      pos.offset = 0;
      pos.partial = "";
    }
    if (st.size > pos.offset) this.#readFrom(this.#file, pos, budget);
  }

  #stat(path: string): fs.Stats | undefined {
    try {
      return fs.lstatSync(path, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  }

  /** A line cut off at the end of a finished segment is not an event. */
  #flushPartial(pos: Position): void {
    if (pos.partial !== "") this.totals.invalid++;
    pos.partial = "";
  }

  /** readFrom reads path from pos (or from its start, making a new position); undefined if it is missing or unusable. */
  #readFrom(path: string, pos: Position | undefined, budget: number): { pos: Position; read: number } | undefined {
    let fd: number;
    try {
      fd = fs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") this.errors++;
      return undefined;
    }
    let read = 0;
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) {
        this.errors++;
        return undefined;
      }
      const p = pos ?? { dev: st.dev, ino: st.ino, offset: 0, partial: "" };
      if (p.ino !== st.ino || p.dev !== st.dev) return undefined; // replaced meanwhile
      const buf = Buffer.allocUnsafe(CHUNK);
      while (read < budget) {
        const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, budget - read), p.offset);
        if (n <= 0) break;
        p.offset += n;
        read += n;
        this.#lines(p, buf.toString("latin1", 0, n));
      }
      return { pos: p, read };
    } catch {
      this.errors++;
      return undefined;
    } finally {
      fs.closeSync(fd);
    }
  }

  #lines(p: Position, text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      const line = start === 0 && p.partial !== "" ? p.partial + text.slice(0, nl) : text.slice(start, nl);
      if (start === 0) p.partial = "";
      this.totals.add(line);
      start = nl + 1;
    }
    const rest = text.slice(start);
    if (start === 0) p.partial += rest;
    else p.partial = rest;
    if (p.partial.length > MAX_LINE) {
      this.totals.invalid++;
      p.partial = "";
    }
  }
}
