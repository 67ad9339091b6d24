// The wait queue of the lock directory (docs/FORMAT.md, "The wait queue"): who
// waits is served in arrival order, and a release wakes only who can proceed.
//
// A descriptor's waiters keep tickets in the directory <key>.queue next to its
// slot files. A ticket is an empty file named by its arrival time; its waiter
// holds a kernel lock on it for as long as it waits, so whether a ticket is
// alive is the kernel's word, never a PID check, and a waiter killed with
// SIGKILL leaves a dead ticket that whoever sees it removes. The queue only
// orders attempts: the slot files' kernel locks stay the truth. A waiter tries
// the slots only when no live ticket is ahead of it (a reader: no writer's),
// and then listens to the holders' files (or, where a release would not show
// there, to the lock directory); the others each watch the one ticket whose
// departure lets them move up, so a release wakes one process, not the whole
// queue. Whatever the queue holds (dead tickets, a stopped waiter,
// planted files), a waiter falls back to trying on its poll, so nothing there
// can block a slot that is free, and tryAcquire and check never look at it.
import type { HeldSlot, SlotRequest, WaitOptions } from "./backend.ts";
import { WaitlockError } from "./errors.ts";
import { setLongTimeout, type CancelTimer } from "./long-timer.ts";
import { joinPath } from "./names.ts";
import { DEFAULT_POLL_MS, waitByPolling, type Tryable } from "./poll-wait.ts";
import type { ByteRange, FileStat, Platform } from "./platform.ts";

/** The byte of a ticket its waiter keeps locked while it waits. */
const ALIVE: ByteRange = { offset: 0, length: 1 };
/**
 * `<arrival>-<pid>-<random>.<w|r>`: arrival is microseconds since the epoch in
 * 14 hex digits, so names sort by arrival; w waits for an exclusive hold, r for
 * a shared one. Anything else in a queue directory is not a ticket.
 */
const TICKET = /^([0-9a-f]{14})-([0-9]{1,10})-([0-9a-f]{8})\.([wr])$/;
const TICKET_RETRIES = 8;
/** How long a new ticket's waiter retries locking it while someone tests it (a test takes two syscalls). */
const LOCK_SPIN_MS = 50;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function sameFile(a: FileStat, b: FileStat | undefined): boolean {
  return b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

function arrivalStamp(): string {
  const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return us.toString(16).padStart(14, "0");
}

function randomHex(): string {
  return Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0");
}

/** Where a waiter stands: whether it may try the slots, else the ticket whose going lets it move up. */
interface Place {
  eligible: boolean;
  /** The path of the ticket to watch when not eligible. */
  target?: string;
  /** Whether tickets were behind this one (then the last one out, not this one, removes the directory). */
  behind?: boolean;
}

/** Ticket is this process's place in one descriptor's queue. */
export class Ticket {
  readonly path: string;
  readonly #p: Platform;
  readonly #queueDir: string;
  readonly #name: string;
  readonly #fd: number;
  readonly #req: SlotRequest;
  #left = false;

  constructor(p: Platform, queueDir: string, name: string, fd: number, req: SlotRequest) {
    this.#p = p;
    this.#queueDir = queueDir;
    this.#name = name;
    this.path = joinPath(queueDir, name);
    this.#fd = fd;
    this.#req = req;
  }

  /**
   * place reads the queue: the live tickets ahead of this one decide whether
   * it may try the slots. Only the tickets between this one and the one it
   * waits behind are tested (from the nearest back): with many waiters, testing
   * every ticket ahead on each move is what would cost. Dead tickets met on the
   * way are removed. Anything unexpected (the directory or this ticket gone)
   * makes it eligible: the queue may cost fairness, never progress.
   */
  place(): Place {
    const tickets = this.#tickets();
    const own = tickets === undefined ? -1 : tickets.indexOf(this.#name);
    if (tickets === undefined || own < 0) return { eligible: true };
    const req = this.#req;
    const live = (i: number) => liveTicket(this.#p, joinPath(this.#queueDir, tickets[i]));
    let target: string | undefined;
    if (req.shared) {
      // Readers go in together: a reader waits only for the last writer ahead of it.
      for (let i = own - 1; i >= 0 && target === undefined; i--) if (tickets[i].endsWith(".w") && live(i)) target = tickets[i];
    } else {
      // Exclusive waiters go one at a time, whatever the number of slots: this one may try
      // once the live ticket just ahead of it goes, which its waiter's grant (or giving up)
      // does. Letting the first N of a semaphore of N try together woke N for every slot
      // that came free, N − 1 of them to lose, and any of them could win, not the first.
      for (let i = own - 1; i >= 0 && target === undefined; i--) if (live(i)) target = tickets[i];
    }
    const behind = own < tickets.length - 1;
    return target === undefined ? { eligible: true, behind } : { eligible: false, target: joinPath(this.#queueDir, target), behind };
  }

  /**
   * head tells whether the ticket at path is the first live one of the queue
   * (removing dead tickets ahead of it), and if so whether it waits for a
   * shared hold; undefined if it is not the head.
   */
  head(path: string): { shared: boolean } | undefined {
    const tickets = this.#tickets();
    const name = path.slice(this.#queueDir.length + 1);
    const at = tickets?.indexOf(name) ?? -1;
    if (tickets === undefined || at < 0) return undefined;
    for (let i = 0; i < at; i++) if (liveTicket(this.#p, joinPath(this.#queueDir, tickets[i]))) return undefined;
    return { shared: name.endsWith(".r") };
  }

  /** The ticket names of the queue directory, in arrival order; undefined if it cannot be read. */
  #tickets(): string[] | undefined {
    try {
      return this.#p.readdir(this.#queueDir).filter((n) => TICKET.test(n)).sort();
    } catch {
      return undefined;
    }
  }

  /** leave removes the ticket (while still holding its lock) and closes it. */
  leave(): void {
    if (this.#left) return;
    this.#left = true;
    const p = this.#p;
    try {
      if (sameFile(p.fstat(this.#fd), p.lstat(this.path))) p.unlink(this.path);
    } catch {
      // a ticket that stays behind is dead once closed: the next waiter removes it
    } finally {
      try {
        p.close(this.#fd);
      } catch {
        // nothing left to undo
      }
    }
  }

  /**
   * tidy removes the queue directory if it is empty, so that acquirers skip
   * the queue again: the last one out does it. It fails on a directory others
   * still use (and is slow on some file systems, so it is skipped when
   * tickets were seen behind this one).
   */
  tidy(): void {
    try {
      this.#p.rmdir(this.#queueDir);
    } catch {
      // not empty (others wait), or not ours to remove
    }
  }
}

/**
 * liveTicket tells whether a ticket's waiter still holds it. A dead one is
 * removed if it can be (ours to unlink, still the file at its path); one that
 * cannot be opened or is not a regular file is not a live ticket either: only
 * a lock held by a waiter counts.
 */
function liveTicket(p: Platform, path: string): boolean {
  let opened;
  try {
    opened = p.openExisting(path);
  } catch {
    return false;
  }
  const { fd, writable } = opened;
  try {
    const st = p.fstat(fd);
    if (st.kind !== "file") return false;
    if (!p.tryLock(fd, ALIVE, !writable)) return true;
    if (writable && st.nlink === 1 && sameFile(st, p.lstat(path))) {
      try {
        p.unlink(path);
      } catch {
        // another user's, in a sticky directory: it stays, dead
      }
    }
    return false;
  } catch {
    return false;
  } finally {
    p.close(fd);
  }
}

/** FileQueue is the queue directories of one lock directory. */
export class FileQueue {
  readonly #p: Platform;
  readonly #lockDir: string;
  #dirMode?: number;

  constructor(p: Platform, lockDir: string) {
    this.#p = p;
    this.#lockDir = lockDir;
  }

  /**
   * waiting tells cheaply whether anyone may be queued for the queue
   * directory at queueDir (a ticket, live or dead, is there): an acquirer that
   * sees one goes behind it instead of taking a free slot first.
   */
  waiting(queueDir: string): boolean {
    const p = this.#p;
    let st;
    try {
      st = p.lstat(queueDir);
    } catch {
      return false;
    }
    if (st === undefined || st.kind !== "directory") return false;
    try {
      const names = p.readdir(queueDir);
      if (names.length === 0) {
        try {
          p.rmdir(queueDir); // left empty (its last waiter saw others behind it that have gone since): tidy up
        } catch {
          // a waiter is moving in, or not ours to remove
        }
      }
      return names.some((n) => TICKET.test(n));
    } catch {
      return false;
    }
  }

  /**
   * enqueue makes a ticket at the back of the queue, or returns undefined if
   * this directory cannot hold one (planted, not ours, read-only): the caller
   * then waits without a queue, as before there was one.
   */
  enqueue(queueDir: string, req: SlotRequest): Ticket | undefined {
    const p = this.#p;
    for (let tries = 0; tries < TICKET_RETRIES; tries++) {
      if (!this.#usableDir(queueDir)) return undefined;
      const name = `${arrivalStamp()}-${p.pid}-${randomHex()}.${req.shared ? "r" : "w"}`;
      const path = joinPath(queueDir, name);
      let fd: number;
      try {
        fd = p.openSlot(path);
      } catch {
        continue; // the directory went (the last waiter removed it): make it again
      }
      let keep = false;
      try {
        const st = p.fstat(fd);
        // Someone testing a new ticket holds its lock for a moment (and removes it
        // if it was not locked yet): lock it, then make sure it is still at its path.
        if (st.kind === "file" && st.nlink === 1 && lockSoon(p, fd) && sameFile(st, p.lstat(path))) {
          keep = true;
          return new Ticket(p, queueDir, name, fd, req);
        }
      } catch {
        // try another name
      } finally {
        if (!keep) p.close(fd);
      }
    }
    return undefined;
  }

  /** usableDir makes the queue directory if missing and tells whether tickets may go in it. */
  #usableDir(queueDir: string): boolean {
    const p = this.#p;
    try {
      let st = p.lstat(queueDir);
      if (st === undefined) {
        try {
          p.mkdir(queueDir, this.#modeForQueues());
        } catch {
          // made meanwhile by another waiter, or not allowed: look again
        }
        st = p.lstat(queueDir);
      }
      if (st === undefined || st.kind !== "directory") return false;
      // As for the lock directory itself: ours (or root's), or shared and sticky, so
      // no one else can remove or replace our tickets.
      const trusted = st.uid === p.uid() || st.uid === 0 || (st.mode & 0o1002) === 0o1002;
      return trusted && p.canWrite(queueDir);
    } catch {
      return false;
    }
  }

  /** Queue directories take the lock directory's mode: shared and sticky in a shared one. */
  #modeForQueues(): number {
    if (this.#dirMode === undefined) {
      const st = this.#p.lstat(this.#lockDir);
      this.#dirMode = st && st.kind === "directory" ? st.mode & 0o1777 : 0o700;
    }
    return this.#dirMode;
  }
}

function lockSoon(p: Platform, fd: number): boolean {
  if (p.tryLock(fd, ALIVE, false)) return true;
  const deadline = Date.now() + LOCK_SPIN_MS;
  while (Date.now() < deadline) {
    Atomics.wait(sleepCell, 0, 0, 0.1);
    if (p.tryLock(fd, ALIVE, false)) return true;
  }
  return false;
}

/** What waiting in the queue needs of the backend. */
export interface QueueBackend extends Tryable {
  /** Whether a slot is free now, by probing (never disturbs an acquirer). */
  check(req: Pick<SlotRequest, "descriptor" | "maxHolders" | "shared">): boolean;
  /**
   * Watches the files of the slots' current holders, so a release wakes only
   * their watchers; undefined when that would miss a release (then the caller
   * watches the whole directory with watch()).
   */
  watchHolders?(req: SlotRequest, onChange: () => void): (() => void) | undefined;
  /** Runs, once, what taking a slot runs that a failed attempt does not, so the first success is not also a first call. */
  warm?(req: SlotRequest): void;
}

/**
 * waitInQueue waits for a slot in turn: with a ticket, trying the slots only
 * when it is this waiter's turn, woken by the slot files (when its turn) or by
 * the ticket it waits behind, and by a jittered poll that catches what leaves
 * no file event (a waiter or holder killed with SIGKILL). A queue that does not
 * move while a slot stays free (a waiter ahead stopped, a ticket held by
 * someone who does not try) is passed: on two polls in a row with the same
 * head and a free slot, this waiter tries anyway.
 */
export function waitInQueue(
  b: QueueBackend, p: Platform, queue: FileQueue, queueDir: string, req: SlotRequest, wait: WaitOptions,
): Promise<HeldSlot> {
  if (wait.signal?.aborted) {
    return Promise.reject(new WaitlockError("EABORTED", `stopped waiting for ${req.descriptor}: aborted`, { cause: wait.signal.reason }));
  }
  const ticket = queue.enqueue(queueDir, req);
  if (!ticket) return waitByPolling(b, req, wait);
  const pollMs = wait.pollMs ?? DEFAULT_POLL_MS;
  const busy = new Set<number>();
  return new Promise<HeldSlot>((resolve, reject) => {
    let settled = false;
    let stopPoll: CancelTimer | undefined;
    let stopDeadline: CancelTimer | undefined;
    let unwatch: () => void = () => undefined;
    /** What is watched: SLOTS, or a ticket's path. */
    let watched: string | undefined;
    /** Whether the SLOTS watch is on the holders' files (watchHolders), which change with every holder. */
    let watchingHolders = false;
    let last: Place = { eligible: false };
    /** The head seen by the last poll that found a slot free, to tell a stuck queue. */
    let stuckHead: string | null = null;

    const finish = (err: unknown, held?: HeldSlot) => {
      if (settled) {
        void held?.release();
        return;
      }
      settled = true;
      // The ticket goes first (two syscalls), so the next in line moves up now, before
      // this process goes on (and perhaps releases and queues again behind it).
      ticket.leave();
      const tidy = !last.behind;
      if (held) resolve(held);
      else {
        // A caller that failed may exit at once (the CLI does): the queue directory goes now.
        if (tidy) ticket.tidy();
        reject(err);
      }
      // The rest comes after the caller has its answer: removing an inotify watch
      // waits for the kernel's SRCU grace period, removing the queue directory
      // can be slow too, and the timers and listener left until then find the
      // wait settled and do nothing.
      setTimeout(() => {
        if (tidy && held) ticket.tidy();
        stopPoll?.();
        stopDeadline?.();
        wait.signal?.removeEventListener("abort", onAbort);
        unwatch();
      }, 0);
    };
    const watchOnly = (what: string) => {
      if (watched === what) return;
      unwatch();
      watched = what;
      if (what !== SLOTS) {
        unwatch = p.watch(what, () => attempt(false));
        return;
      }
      watchSlots(b.watchHolders?.(req, onSlotChange));
    };
    /**
     * watchSlots makes the SLOTS watch: the holders' own files (holders, the watch
     * of them just made) when they tell every release, else the directory, where
     * every slot file's change wakes every process watching it.
     */
    const watchSlots = (holders: (() => void) | undefined) => {
      watchingHolders = holders !== undefined;
      unwatch = holders ?? b.watch(req.descriptor, onSlotChange);
    };
    /**
     * moveSlotWatch puts the SLOTS watch on whoever holds now (a holder's file goes
     * with its hold), or on the directory where they cannot be watched. False if
     * nothing changed: the directory was watched, and still is.
     */
    const moveSlotWatch = (): boolean => {
      const holders = b.watchHolders?.(req, onSlotChange);
      if (!holders && !watchingHolders) return false;
      unwatch();
      watchSlots(holders);
      return true;
    };
    const attempt = (force: boolean): void => {
      if (settled) return;
      try {
        for (let round = 0; round < 4; round++) {
          last = ticket.place();
          if (last.eligible || force) {
            const held = b.tryOnce(req, busy) as HeldSlot | undefined;
            if (held) return finish(undefined, held);
          }
          if (last.eligible) {
            // Already watching: a holder's file tells every change of its hold (onSlotChange
            // moves the watch when the holder changes); a holder killed leaves its file as it
            // was, and the try above, on the poll, takes the slot it freed.
            if (watched === SLOTS) return;
            watchOnly(SLOTS);
            continue; // a release between the try and the watch would go unseen: try once more
          }
          const target = last.target!;
          if (watched === target) return;
          watchOnly(target);
          if (p.lstat(target) !== undefined) return;
          // gone before the watch was set: look again
        }
      } catch (err) {
        finish(err);
      }
    };
    /**
     * onSlotChange: a slot file changed. A waiter whose turn it is keeps it (places
     * only improve), so it tries at once, without reading the queue again: this
     * is the path from a release to the next holder.
     */
    const onSlotChange = () => {
      if (settled) return;
      if (!last.eligible) return attempt(false);
      try {
        let held = b.tryOnce(req, busy) as HeldSlot | undefined;
        // Someone else got in (a newer holder, or a holder that rewrote its record), or
        // the holders can be watched now where they could not before (a record written
        // since): watch who holds now, then try once more, as a release between the
        // try and the new watch would go unheard.
        if (!held && moveSlotWatch()) held = b.tryOnce(req, busy) as HeldSlot | undefined;
        if (held) finish(undefined, held);
      } catch (err) {
        finish(err);
      }
    };
    /**
     * poll: a waiter whose turn it is tries again. Any other tests only the ticket
     * it waits behind (four syscalls: many waiters poll): gone or dead (a SIGKILLed
     * waiter leaves no file event), it reads the queue again, which removes the
     * dead tickets. The first waiter behind those whose turn it is (its ticket is
     * the head of the queue) also looks whether the queue is stuck in front of a
     * slot that is free for the head: two polls in a row, same head, then it tries.
     */
    const poll = () => {
      if (settled) return;
      if (last.eligible || watched === undefined || watched === SLOTS) return attempt(false);
      if (!liveTicket(p, watched)) return attempt(false);
      const head = ticket.head(watched);
      if (head === undefined) {
        stuckHead = null;
        return;
      }
      // Free for the head of the queue: a reader behind a writer must not take a slot
      // readers hold just because it is free for readers.
      let free = false;
      try {
        free = b.check({ ...req, shared: head.shared });
      } catch {
        free = false; // what is wrong there, tryOnce reports when it is this waiter's turn
      }
      if (!free) {
        stuckHead = null;
        return;
      }
      if (stuckHead === watched) {
        stuckHead = null;
        return attempt(true);
      }
      stuckHead = watched;
    };
    const schedulePoll = () => {
      stopPoll = setLongTimeout(() => {
        poll();
        if (!settled) schedulePoll();
      }, pollMs * (0.5 + Math.random()));
    };
    const onAbort = () =>
      finish(new WaitlockError("EABORTED", `stopped waiting for ${req.descriptor}: aborted`, { cause: wait.signal?.reason }));
    wait.signal?.addEventListener("abort", onAbort, { once: true });
    stopDeadline = setLongTimeout(() => {
      // One last try if it is this waiter's turn: a release may have landed since the last event.
      attempt(false);
      finish(new WaitlockError("ETIMEDOUT", `timed out waiting for ${req.descriptor}`));
    }, wait.deadline - performance.now());
    schedulePoll();
    attempt(false);
    // While parked, a process has time to spare: spend it now on the first-call costs
    // (compiling, loading) of what the release will need, not after the release.
    if (!settled) b.warm?.(req);
  });
}

/** The watch of a waiter whose turn it is: its descriptor's slot files (not a path). */
const SLOTS = "\0slots";
