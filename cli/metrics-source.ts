// Where metrics come from: a listing of the backend (every entry, stale and
// corrupt included) and the events files of a directory (docs/METRICS.md).
// Shared by `waitlock --list --format prometheus|openmetrics` and `waitlock exporter`.
import type { LockDirOption, Waitlock } from "../adapters/api.ts";
import { eventsSetting } from "../adapters/events.ts";
import { FileBackend } from "../adapters/file-backend.ts";
import { EventsReader } from "./events-reader.ts";
import { renderMetrics, type MetricsFormat } from "./metrics.ts";

/**
 * eventsDirOf: the directory whose events describe where's locks: WAITLOCK_EVENTS
 * if it names one (off: none), else the lock directory itself (none for a server).
 */
export function eventsDirOf(wl: Waitlock, where: LockDirOption): string | undefined {
  const setting = eventsSetting(wl.platform.env("WAITLOCK_EVENTS"));
  if ("off" in setting) return undefined;
  if (setting.dir) return setting.dir;
  const b = wl.backend(where);
  return b instanceof FileBackend ? b.location : undefined;
}

export class MetricsSource {
  readonly #wl: Waitlock;
  readonly #where: LockDirOption;
  readonly #reader: EventsReader | undefined;
  readonly #listTimeoutMs: number;

  constructor(wl: Waitlock, where: LockDirOption, eventsDir: string | undefined, listTimeoutMs = 5000) {
    this.#wl = wl;
    this.#where = where;
    this.#reader = eventsDir === undefined ? undefined : new EventsReader(eventsDir);
    this.#listTimeoutMs = listTimeoutMs;
  }

  /** pollEvents reads what was appended to the events files since the last call. */
  pollEvents(): void {
    this.#reader?.poll();
  }

  /** render lists the locks (giving up after the list timeout: backend down) and writes every metric. */
  async render(format: MetricsFormat): Promise<string> {
    const t0 = performance.now();
    let entries;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const giveUp = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("listing timed out")), this.#listTimeoutMs);
      });
      entries = await Promise.race([Promise.resolve(this.#wl.list({ ...this.#where, all: true, findHolders: false })), giveUp]);
    } catch {
      entries = undefined;
    } finally {
      clearTimeout(timer);
    }
    const listSeconds = (performance.now() - t0) / 1000;
    this.pollEvents();
    const r = this.#reader;
    return renderMetrics({
      entries, totals: r?.totals, now: Date.now(),
      state: { backendUp: entries ? 1 : 0, listSeconds, eventsErrors: r?.errors },
    }, format);
  }
}
