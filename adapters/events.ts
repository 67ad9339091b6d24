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
}

/** What a runtime supplies to record events: a sink per directory (undefined: it cannot record there). */
export type EventSinkFactory = (dir: string) => EventSink | undefined;

/** eventLine is one event as written: one line, newline included. */
export function eventLine(now: number, kind: EventKind, descriptor: string, ms: number): string {
  return `${now} ${kind} ${descriptor} ${ms > 0 ? Math.round(ms) : 0}\n`;
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
