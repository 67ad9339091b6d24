// One watch per directory (or file), shared by every waiter of a process, the
// same on every runtime: each runtime supplies only how to start one watch
// (Node: fs.watch; Deno: Deno.watchFs).
//
// A watch may be kept a moment after its last waiter is done (linger): removing
// an inotify watch blocks for the kernel's SRCU grace period, and a process
// that waits in a loop would pay that, and adding it again, on every
// acquisition. A runtime whose watch keeps the process alive (Deno's) gives no
// linger, or a process would outlive its last lock by that much.

/**
 * StartWatch starts watching path: onChange(name) for each change (name
 * undefined if the runtime cannot tell), onEnd() if the watch fails or ends by
 * itself. Returns a function that stops it. May throw (no such path, no watches left).
 */
export type StartWatch = (path: string, onChange: (name: string | undefined) => void, onEnd: () => void) => () => void;

interface Entry {
  stop: () => void;
  listeners: Set<(name: string | undefined) => void>;
  linger?: ReturnType<typeof setTimeout>;
}

export class WatchRegistry {
  readonly #byPath = new Map<string, Entry>();
  readonly #start: StartWatch;
  readonly #lingerMs: number;
  readonly #unref: (timer: unknown) => void;

  constructor(start: StartWatch, lingerMs: number, unref: (timer: unknown) => void) {
    this.#start = start;
    this.#lingerMs = lingerMs;
    this.#unref = unref;
  }

  /** add calls listener on every change of path until the returned function is called. Throws if a new watch cannot start. */
  add(path: string, listener: (name: string | undefined) => void): () => void {
    let entry = this.#byPath.get(path);
    if (entry?.linger !== undefined) {
      clearTimeout(entry.linger);
      entry.linger = undefined;
    }
    if (!entry) {
      const listeners = new Set<(name: string | undefined) => void>();
      const made: Entry = { stop: () => undefined, listeners };
      made.stop = this.#start(
        path,
        (name) => {
          for (const l of [...listeners]) l(name);
        },
        // A watch that fails (path removed, limit reached) only costs promptness: waiters still poll.
        () => this.#drop(path, made),
      );
      entry = made;
      this.#byPath.set(path, entry);
    }
    entry.listeners.add(listener);
    const e = entry;
    return () => {
      if (this.#byPath.get(path) !== e || !e.listeners.delete(listener) || e.listeners.size > 0) return;
      if (this.#lingerMs <= 0) return this.#drop(path, e);
      e.linger = setTimeout(() => {
        if (e.listeners.size === 0) this.#drop(path, e);
      }, this.#lingerMs);
      this.#unref(e.linger); // a lingering watch never keeps the process alive
    };
  }

  #drop(path: string, e: Entry): void {
    if (this.#byPath.get(path) !== e) return;
    this.#byPath.delete(path);
    if (e.linger !== undefined) clearTimeout(e.linger);
    try {
      e.stop();
    } catch {
      // already closed
    }
  }
}
