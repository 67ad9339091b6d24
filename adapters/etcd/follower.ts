// One watch on a descriptor's keys that keeps a QueueView current, for as
// long as a request waits and then holds: a waiter handed the lock keeps the
// same stream as the holder, so taking the lock opens no new connection, and a
// holder's view of who waits lets it hand over without reading first. The
// stream never keeps the process alive (a waiter keeps itself alive).
import { sleep } from "../sleep.ts";
import type { EtcdClient, WatchEvent } from "./client.ts";
import type { QueueView } from "./queue.ts";

/** How long to wait before reading afresh after the stream broke. */
const REREAD_MS = 200;

export class Follower {
  readonly view: QueueView;
  /** Called after each change is applied to the view (with no events after a fresh read). */
  onChange: (events: WatchEvent[]) => void = () => undefined;
  readonly #client: EtcdClient;
  readonly #base: string;
  readonly #stop = new AbortController();
  readonly #unref: (t: unknown) => void;

  constructor(client: EtcdClient, base: string, view: QueueView, unref: (t: unknown) => void) {
    this.#client = client;
    this.#base = base;
    this.view = view;
    this.#unref = unref;
    void this.#follow();
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  stop(): void {
    this.#stop.abort();
  }

  async #follow(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await this.#client.watch(this.#base, { prefix: true, startRevision: this.view.revision + 1n, signal, background: true }, (events, rev) => {
          if (signal.aborted) return;
          this.view.apply(events, rev);
          this.onChange(events);
        });
      } catch {
        if (signal.aborted) return;
        // The stream broke (endpoint gone, compaction): read everything afresh, then watch again.
        await sleep(REREAD_MS, signal, this.#unref);
        try {
          const { kvs, revision } = await this.#client.range(this.#base, { prefix: true, sortByCreate: true });
          if (signal.aborted) return;
          this.view.reset(kvs, revision);
          this.onChange([]);
        } catch {
          // still unreachable: the deadline or the lease decides
        }
      }
    }
  }
}
