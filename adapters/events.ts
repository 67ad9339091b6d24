// Lock events for metrics (docs/METRICS.md): what happened to which
// descriptor, as one text line per event appended to a file in the lock
// directory, `.waitlock-events`, which `waitlock exporter` and
// `waitlock --list --format prometheus` read.
//
// The format is shared by writers and readers, so it lives here, runtime-neutral:
//   <unix ms> <kind> <descriptor> <ms>\n
// where ms is the wait (acquired, timeout), the time held (released, lost), or
// 0 (conflict, stale). A descriptor has no spaces (names.ts), so the line splits
// on single spaces. Readers ignore kinds they do not know.

/** The file events are appended to, in the lock directory (not a `.lock` name: listings never see it). */
export const EVENTS_FILE = ".waitlock-events";
/** The previous segment: EVENTS_FILE is renamed to this when it outgrows EVENTS_ROTATE_BYTES. */
export const EVENTS_FILE_OLD = ".waitlock-events.1";
/** The size past which a writer rotates the file (so at most about twice this stays on disk). */
export const EVENTS_ROTATE_BYTES = 4 * 1024 * 1024;

export const EVENT_KINDS = ["acquired", "released", "conflict", "timeout", "lost", "stale"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Where a process records events for one lock directory. Recording never throws. */
export interface EventSink {
  /** The events file, for a process that records on this one's behalf (the foreground holder). */
  readonly file: string;
  record(kind: EventKind, descriptor: string, ms: number): void;
  /**
   * Runs, for nothing, what recording an event of descriptor takes, so that a
   * process that waits has it compiled before its grant, not on the way to it.
   */
  warm?(descriptor: string): void;
}

/** What a runtime supplies to record events: a sink per directory (undefined: it cannot record there). */
export type EventSinkFactory = (dir: string) => EventSink | undefined;

/** eventLine is one event as written: one line, newline included. */
export function eventLine(now: number, kind: EventKind, descriptor: string, ms: number): string {
  return `${now} ${kind} ${descriptor} ${ms > 0 ? Math.round(ms) : 0}\n`;
}

/** The most bytes writeEventLine can write for a descriptor of this many characters. */
export function eventLineMaxBytes(descriptor: string): number {
  return 64 + 3 * descriptor.length; // two numbers of ≤ 24 characters, a kind, three spaces, a newline; UTF-8 ≤ 3 bytes per UTF-16 unit
}

const utf8 = new TextEncoder();

/**
 * writeEventLine puts eventLine's bytes (UTF-8) into out at `at`, which has
 * room for eventLineMaxBytes, and returns where they end. For a process that
 * records an event per acquire and release, building each line as a string
 * only to encode it at the next write was a measurable share of the work.
 */
export function writeEventLine(out: Uint8Array, at: number, now: number, kind: EventKind, descriptor: string, ms: number): number {
  const held = ms > 0 ? Math.round(ms) : 0;
  if (!isDecimal(now) || !isDecimal(held)) return at + utf8.encodeInto(eventLine(now, kind, descriptor, ms), out.subarray(at)).written;
  at = writeDecimal(out, at, now);
  out[at++] = 0x20;
  at = writeText(out, at, kind);
  out[at++] = 0x20;
  at = writeText(out, at, descriptor);
  out[at++] = 0x20;
  at = writeDecimal(out, at, held);
  out[at++] = 0x0a;
  return at;
}

/** isDecimal: written by String() as plain digits (not an exponent, a fraction, a sign or NaN)? */
function isDecimal(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function writeDecimal(out: Uint8Array, at: number, n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  for (let i = at + digits - 1, rest = n; i >= at; i--, rest = Math.floor(rest / 10)) out[i] = 0x30 + (rest % 10);
  return at + digits;
}

/** writeText copies ASCII text byte by byte (descriptors and kinds are), anything else through the encoder. */
function writeText(out: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return at + utf8.encodeInto(text, out.subarray(at)).written;
    out[at + i] = c;
  }
  return at + text.length;
}

/**
 * eventsSetting reads WAITLOCK_EVENTS: "off" (or 0, no, false) records nothing;
 * an absolute directory records every backend's events there (the only way a
 * server backend's events are recorded); unset or empty: the lock directory's.
 */
export function eventsSetting(value: string | undefined): { off: true } | { dir: string | undefined } {
  const v = (value ?? "").trim();
  if (/^(off|0|no|false)$/i.test(v)) return { off: true };
  return { dir: v.startsWith("/") ? v : undefined };
}
