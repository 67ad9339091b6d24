// Lock metrics in the Prometheus text format (0.0.4) and OpenMetrics 1.0, for
// `waitlock exporter` and `waitlock --list --format prometheus|openmetrics`.
// Pure: a listing and event totals in, text out. Names and meanings: docs/METRICS.md.
import type { LockInfo } from "../adapters/api.ts";
import { EVENT_KINDS, type EventKind } from "../adapters/events.ts";

/** Upper bounds (seconds) of the wait-time histogram's buckets. */
export const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600];
/** Upper bounds (seconds) of the hold-time histogram's buckets. */
export const HOLD_BUCKETS = [0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 21600, 86400];
/**
 * Past this many descriptors, events of new ones are counted under descriptor="*"
 * (labels stay bounded: each descriptor costs up to 30 series of counters and histograms).
 */
export const MAX_EVENT_DESCRIPTORS = 1000;
/** The label of events beyond MAX_EVENT_DESCRIPTORS: not a valid descriptor, so never a real one. */
export const OTHER_DESCRIPTOR = "*";

const LINE = /^([0-9]{1,16}) ([a-z]{1,16}) ([A-Za-z0-9._-]{1,255}) ([0-9]{1,16})$/;

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (seconds <= this.bounds[i]) this.counts[i]++;
  }
}

interface DescriptorTotals {
  counts: Record<EventKind, number>;
  wait: Histogram;
  hold: Histogram;
}

/** EventTotals: counters and histograms per descriptor, from event lines (adapters/events.ts). */
export class EventTotals {
  readonly byDescriptor = new Map<string, DescriptorTotals>();
  /** Lines counted, and lines that were not events (corrupt, or written by something else). */
  lines = 0;
  invalid = 0;
  constructor(readonly maxDescriptors = MAX_EVENT_DESCRIPTORS) {}

  /** add counts one line (without its newline). */
  add(line: string): void {
    const m = LINE.exec(line);
    if (!m || !(EVENT_KINDS as readonly string[]).includes(m[2])) {
      this.invalid++;
      return;
    }
    this.lines++;
    const kind = m[2] as EventKind;
    const seconds = Number(m[4]) / 1000;
    let d = this.byDescriptor.get(m[3]);
    if (!d) {
      const key = this.byDescriptor.size < this.maxDescriptors ? m[3] : OTHER_DESCRIPTOR;
      d = this.byDescriptor.get(key);
      if (!d) {
        d = { counts: Object.fromEntries(EVENT_KINDS.map((k) => [k, 0])) as Record<EventKind, number>, wait: new Histogram(WAIT_BUCKETS), hold: new Histogram(HOLD_BUCKETS) };
        this.byDescriptor.set(key, d);
      }
    }
    d.counts[kind]++;
    if (kind === "acquired") d.wait.observe(seconds);
    else if (kind === "released" || kind === "lost") d.hold.observe(seconds);
  }
}

/** What the exporter knows about itself and its sources, beyond locks and events. */
export interface ExporterState {
  /** 1 if the last listing of the backend succeeded, else 0. */
  backendUp: number;
  /** Seconds the listing took. */
  listSeconds?: number;
  /** Whether an events file is read (undefined: not applicable, e.g. a server backend without WAITLOCK_EVENTS). */
  eventsRead?: boolean;
  /** Read errors of the events files (not a plain file, unreadable). */
  eventsErrors?: number;
}

export type MetricsFormat = "prometheus" | "openmetrics";

export const CONTENT_TYPES: Record<MetricsFormat, string> = {
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

function label(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN";
}

class Writer {
  readonly out: string[] = [];
  constructor(readonly format: MetricsFormat) {}
  /** family writes the HELP and TYPE lines; a counter's family name drops _total in OpenMetrics. */
  family(name: string, type: "gauge" | "counter" | "histogram", help: string): void {
    const fam = type === "counter" && this.format === "openmetrics" ? name.replace(/_total$/, "") : name;
    this.out.push(`# HELP ${fam} ${help}`, `# TYPE ${fam} ${type}`);
  }
  sample(name: string, labels: string, value: number): void {
    this.out.push(`${name}${labels ? `{${labels}}` : ""} ${num(value)}`);
  }
  text(): string {
    if (this.format === "openmetrics") this.out.push("# EOF");
    return this.out.join("\n") + "\n";
  }
}

interface LockState {
  held: number;
  capacity: number | undefined;
  waiters: number;
  oldestMs: number;
}

/** lockStates sums a listing (entries of every status) per descriptor. */
function lockStates(entries: LockInfo[], now: number) {
  const by = new Map<string, LockState>();
  let stale = 0;
  let corrupt = 0;
  let foreign = 0;
  for (const e of entries) {
    if (e.status === "stale") stale++;
    else if (e.status === "corrupt") corrupt++;
    else if (e.status === "foreign") foreign++;
    let s = by.get(e.descriptor);
    if (!s) by.set(e.descriptor, (s = { held: 0, capacity: undefined, waiters: 0, oldestMs: 0 }));
    const r = e.record;
    if (r && r.type !== 2 && r.maxHolders > 0) s.capacity = Math.max(s.capacity ?? 0, r.maxHolders);
    if (e.kind === "waiter") {
      s.waiters++;
      continue;
    }
    if (e.status !== "active" || e.held === "free") continue;
    s.held++;
    if (r) s.oldestMs = Math.max(s.oldestMs, now - r.acquiredAt);
  }
  return { by, stale, corrupt, foreign };
}

export interface MetricsInput {
  /** The listing (all entries, stale and corrupt included); undefined when it failed. */
  entries: LockInfo[] | undefined;
  totals?: EventTotals;
  state: ExporterState;
  now: number;
}

/** renderMetrics writes every metric family; families without samples are left out. */
export function renderMetrics(input: MetricsInput, format: MetricsFormat): string {
  const w = new Writer(format);
  w.family("waitlock_backend_up", "gauge", "1 if the last listing of the locks succeeded, 0 if the lock directory or server could not be read.");
  w.sample("waitlock_backend_up", "", input.state.backendUp);
  if (input.state.listSeconds !== undefined) {
    w.family("waitlock_list_duration_seconds", "gauge", "Seconds the last listing of the locks took.");
    w.sample("waitlock_list_duration_seconds", "", input.state.listSeconds);
  }
  if (input.entries) {
    const { by, stale, corrupt, foreign } = lockStates(input.entries, input.now);
    // A descriptor with nothing held and nobody waiting (only stale or corrupt files left) has
    // no state to show: those files are counted below, and its series go away as they would
    // once its files are gone (a lock directory removes a released slot's file).
    const ds = [...by.keys()].filter((d) => by.get(d)!.held > 0 || by.get(d)!.waiters > 0).sort();
    const per = (name: string, help: string, value: (s: LockState) => number | undefined) => {
      const rows = ds.map((d) => [d, value(by.get(d)!)] as const).filter((r) => r[1] !== undefined);
      if (rows.length === 0) return;
      w.family(name, "gauge", help);
      for (const [d, v] of rows) w.sample(name, `descriptor="${label(d)}"`, v!);
    };
    per("waitlock_slots_held", "Slots held now (shared holders each count).", (s) => s.held);
    per("waitlock_slots", "Slots of the descriptor, as its holders' records say (absent for shared locks and when no record says).", (s) => s.capacity);
    per("waitlock_slots_free", "Slots free now: slots minus slots held.", (s) => (s.capacity === undefined ? undefined : Math.max(0, s.capacity - s.held)));
    per("waitlock_waiters", "Requests waiting in the queue (servers; a lock directory keeps no queue and shows 0).", (s) => s.waiters);
    per("waitlock_oldest_hold_seconds", "Seconds the oldest current holder has held the lock (0 when none).", (s) => s.oldestMs / 1000);
    w.family("waitlock_stale_files", "gauge", "Lock files left by holders that died (the next acquirer takes each over).");
    w.sample("waitlock_stale_files", "", stale);
    w.family("waitlock_corrupt_files", "gauge", "Lock files whose record cannot be read.");
    w.sample("waitlock_corrupt_files", "", corrupt);
    w.family("waitlock_foreign_files", "gauge", "Entries that are not waitlock's (a file named like a lock but not one).");
    w.sample("waitlock_foreign_files", "", foreign);
  }
  const t = input.totals;
  if (t) {
    const ds = [...t.byDescriptor.keys()].sort();
    const counter = (kind: EventKind, name: string, help: string) => {
      w.family(name, "counter", help);
      for (const d of ds) w.sample(name, `descriptor="${label(d)}"`, t.byDescriptor.get(d)!.counts[kind]);
    };
    counter("acquired", "waitlock_acquired_total", "Locks acquired (after waiting or not).");
    counter("released", "waitlock_released_total", "Locks released by their holder.");
    counter("conflict", "waitlock_conflicts_total", "Attempts refused at once because the lock was held (no --timeout).");
    counter("timeout", "waitlock_timeouts_total", "Waits that ran out of time.");
    counter("lost", "waitlock_lost_total", "Locks lost while held (a server's lease ran out).");
    counter("stale", "waitlock_stale_takeovers_total", "Acquisitions that took over a slot left by a holder that died.");
    const histogram = (name: string, help: string, pick: (d: DescriptorTotals) => Histogram) => {
      w.family(name, "histogram", help);
      for (const d of ds) {
        const h = pick(t.byDescriptor.get(d)!);
        if (h.count === 0) continue; // no observation yet: the series starts with the first
        const l = `descriptor="${label(d)}"`;
        h.bounds.forEach((b, i) => w.sample(`${name}_bucket`, `${l},le="${b}"`, h.counts[i]));
        w.sample(`${name}_bucket`, `${l},le="+Inf"`, h.count);
        w.sample(`${name}_sum`, l, h.sum);
        w.sample(`${name}_count`, l, h.count);
      }
    };
    histogram("waitlock_wait_seconds", "Seconds from asking for a lock to getting it.", (d) => d.wait);
    histogram("waitlock_hold_seconds", "Seconds a lock was held, from acquiring to releasing (or losing) it.", (d) => d.hold);
    w.family("waitlock_events_total", "counter", "Event lines read from the events files.");
    w.sample("waitlock_events_total", "", t.lines);
    w.family("waitlock_events_invalid_total", "counter", "Lines of the events files that were not events (corrupt or foreign).");
    w.sample("waitlock_events_invalid_total", "", t.invalid);
  }
  if (input.state.eventsErrors !== undefined) {
    w.family("waitlock_events_read_errors_total", "counter", "Times an events file could not be read (not a plain file, no permission).");
    w.sample("waitlock_events_read_errors_total", "", input.state.eventsErrors);
  }
  return w.text();
}
