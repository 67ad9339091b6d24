// The lock protocol on files (README "How it works", docs/FORMAT.md), written once against Platform.
//
// A slot is the file <dir>/<descriptor>.slot<N>.lock (names.ts: a long
// descriptor's file names end in a hash instead) and is held exactly while
// some open file description holds a kernel lock on it. Two one-byte ranges:
//   GATE (byte 0) — what acquirers compete for; only acquirers and holders touch it.
//   HELD (byte 1) — what says "held"; holders keep it, probes test it.
// A probe (check, list, --done) only ever tries HELD, so it can never make an
// acquirer's GATE attempt fail. An acquirer that holds GATE knows no one else
// holds the slot, so if HELD is briefly taken it can only be a probe: it spins.
import { lockTypeOf, type HeldSlot, type ListFilter, type LockBackend, type SlotInfo, type SlotRequest, type WaitOptions } from "./backend.ts";
import { WaitlockError, fromSystemError } from "./errors.ts";
import type { LockDir } from "./lock-dir.ts";
import { joinPath, LockFileNames, parseLockFileName, type ParsedName } from "./names.ts";
import { FileQueue, waitInQueue } from "./file-queue.ts";
import { RecordEncoder } from "./record-encoder.ts";
import { discardRecordFile } from "./record-file.ts";
import { errnoOf, type ByteRange, type FileId, type FileStat, type LockProof, type Platform } from "./platform.ts";
import { DecodeStatus, Staleness, type Core, type LockRecord } from "./wasm-core.ts";

export const GATE: ByteRange = { offset: 0, length: 1 };
export const HELD: ByteRange = { offset: 1, length: 1 };

/** How long an acquirer holding GATE keeps retrying HELD against a probe. */
const PROBE_SPIN_MS = 100;
/** How often an acquirer re-opens a slot whose file is replaced under it before giving up. */
const INODE_RETRIES = 16;
/** Up to this many slots, a waiter watches each holder's file rather than the lock directory (watchHolders). */
const HOLDER_WATCH_MAX = 8;
const SLOT_FILE_MODE = 0o666; // so another user can take over a stale slot in a shared directory

const STATUS_NAMES: Record<Staleness, SlotInfo["status"]> = {
  [Staleness.Active]: "active",
  [Staleness.Stale]: "stale",
  [Staleness.Corrupt]: "corrupt",
  [Staleness.Foreign]: "foreign",
};

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** sleepSync pauses the thread for ms without a busy loop (only used for sub-millisecond probe races). */
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * writeRecord replaces a file's content with a record: write first, then cut
 * any longer old content, so there is no moment when the file is empty. It
 * refuses a file with more than one name (see hardLinked), checked on the open
 * descriptor right before writing (st: an fstat the caller has just taken).
 */
function writeRecord(p: Platform, fd: number, path: string, bytes: Uint8Array, st = p.fstat(fd)): void {
  if (st.nlink > 1) throw hardLinked(path, st.nlink);
  p.writeHead(fd, bytes);
  if (st.size > bytes.length) p.truncate(fd, bytes.length);
}

const NOT_REGULAR: Record<Exclude<FileStat["kind"], "file">, string> = {
  symlink: "a symbolic link, never followed",
  directory: "a directory",
  other: "a socket, FIFO or device",
};

/** notARegularFile: something planted at a slot path that waitlock will not use (exit 6). */
function notARegularFile(path: string, kind: Exclude<FileStat["kind"], "file">, cause?: unknown): WaitlockError {
  return new WaitlockError("ENODIR", `${path} is not a regular file (${NOT_REGULAR[kind]}); remove it`, { cause });
}

/**
 * hardLinked: a file at a slot or record path that has other names. Slot files
 * are created by waitlock and never linked, so another name means a link was
 * planted there, perhaps to a file outside the lock directory (say, one of
 * root's): writing, truncating or chmodding it would change that file.
 * Refused like a planted symlink (exit 6).
 */
function hardLinked(path: string, nlink: number): WaitlockError {
  return new WaitlockError("ENODIR", `${path} has ${nlink} hard links (another name for some other file, never written); remove it`);
}

function sameFile(a: FileId, b: FileId | undefined): boolean {
  return b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/** What a probe saw in one file. */
interface Probe {
  held: SlotInfo["held"];
  record?: LockRecord;
  problem?: string;
  status: SlotInfo["status"];
  id?: FileId;
}

export class FileBackend implements LockBackend {
  readonly location: string;
  readonly #p: Platform;
  readonly #core: Core;
  readonly #dir: string;
  readonly #names: LockFileNames;
  readonly #queue: FileQueue;
  readonly #records: RecordEncoder;
  #readerSeq = 0;
  /** Whether a waiter has rehearsed a grant (once is enough: the cost it takes off is a first call's). */
  #rehearsed = false;
  /** Descriptors whose dead readers' files this process has swept (once each: it costs a readdir). */
  readonly #sweptReaders = new Set<string>();

  constructor(platform: Platform, core: Core, dir: LockDir) {
    this.#p = platform;
    this.#core = core;
    this.#dir = dir.path;
    this.location = dir.path;
    this.#names = new LockFileNames((bytes) => core.sha256(bytes));
    this.#queue = new FileQueue(platform, dir.path);
    this.#records = new RecordEncoder(core);
  }

  #path(name: string): string {
    return joinPath(this.#dir, name);
  }

  /** The last descriptor's queue directory and slot 0 paths, made once: a process takes one lock again and again. */
  #lastPaths: { descriptor: string; queue: string; slot0: string } | undefined;

  #pathsOf(descriptor: string): { queue: string; slot0: string } {
    let last = this.#lastPaths;
    if (last?.descriptor !== descriptor) {
      last = { descriptor, queue: this.#path(this.#names.queue(descriptor)), slot0: this.#path(this.#names.slot(descriptor, 0)) };
      this.#lastPaths = last;
    }
    return last;
  }

  #slotPath(descriptor: string, slot: number): string {
    return slot === 0 ? this.#pathsOf(descriptor).slot0 : this.#path(this.#names.slot(descriptor, slot));
  }

  /** #record encodes a holder's record, valid until the next #record: every caller writes it at once. */
  #record(req: SlotRequest, slot: number, acquiredAt = Date.now()): Uint8Array {
    return this.#records.encode({
      type: lockTypeOf(req), slot, maxHolders: req.maxHolders,
      holderPid: req.holderPid, ownerPid: req.ownerPid, ownerStart: req.ownerStart,
      uid: this.#p.uid(), acquiredAt, hostname: this.#p.hostname(),
      descriptor: req.descriptor, command: req.command,
    });
  }

  tryAcquire(req: SlotRequest): HeldSlot | undefined {
    return this.tryOnce(req);
  }

  /**
   * Waiting on files is waiting in turn (file-queue.ts): a free slot is taken at
   * once only if no one is queued; otherwise, or if the slots are busy, the
   * acquirer queues behind the waiters already there.
   */
  acquire(req: SlotRequest, wait: WaitOptions): HeldSlot | Promise<HeldSlot> {
    const queueDir = this.#pathsOf(req.descriptor).queue;
    if (!this.#queue.waiting(queueDir)) {
      try {
        const held = this.tryOnce(req);
        if (held) return held;
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return waitInQueue(this, this.#p, this.#queue, queueDir, req, wait);
  }

  /**
   * warm runs, for nothing, what taking a slot needs that a failed attempt did
   * not run: encoding a record (and restamping it, which is what the grant
   * will do to the record encoded here), the stat that verifies the path, and
   * the test the directory watch puts a changed file's name to. Run first after a
   * release, each would be compiled then (a fresh process's first call is
   * several times its later ones; bench/wakeup.mjs measures it); a
   * waiter pays for them while it waits instead.
   */
  warm(req: SlotRequest): void {
    try {
      this.#record(req, 0, 0);
      const record = this.#record(req, 0, 1); // the same but its time: restamped
      const name = this.#names.slot(req.descriptor, 0);
      this.#p.lstat(this.#slotPath(req.descriptor, 0));
      // Twice: V8 runs a regular expression's first match in its interpreter
      // and compiles it to machine code at the second.
      for (let i = 0; i < 2; i++) this.#concerns(name, req.descriptor);
      this.#rehearse(req, record);
    } catch {
      // only a head start: the real attempt reports what is wrong
    }
  }

  /**
   * rehearse runs a grant's calls after the first lock (which a waiter's failed
   * attempt has run already) on an unnamed file of the lock directory's own
   * filesystem: the second lock, the mode, writing the record. A file without
   * a name is nobody else's business: it is in no directory, so no other
   * process comes upon it, no watch hears of it, no listing shows it, and it is
   * gone when closed, even if this process is killed meanwhile. Once per lock
   * directory: a process's later waits find the code run already.
   */
  #rehearse(req: SlotRequest, record: Uint8Array): void {
    if (this.#rehearsed) return;
    this.#rehearsed = true;
    const p = this.#p;
    const fd = p.openUnnamed?.(this.#dir);
    if (fd === undefined) return;
    try {
      const st = p.fstat(fd);
      if (st.kind !== "file" || st.nlink !== 0) return; // not an unnamed file after all: write nothing
      if (!p.tryLock(fd, GATE, req.shared) || !this.#takeHeldByte(fd, req.shared)) return;
      p.fchmod(fd, SLOT_FILE_MODE);
      writeRecord(p, fd, this.#dir, record, st);
    } finally {
      p.close(fd); // and with it the locks and the file
    }
  }

  /** tryOnce tries each slot once; knownBusy (updated, if given) puts slots found busy last next time. */
  tryOnce(req: SlotRequest, knownBusy?: Set<number>): HeldSlot | undefined {
    if (req.maxHolders === 1) return this.#trySlot(req, 0); // a lock of one slot has one order (saves the core's call and arrays)
    const busy = knownBusy ?? new Set<number>();
    for (const slot of this.#core.slotOrder(req.maxHolders, req.preferredSlot, busy)) {
      const held = this.#trySlot(req, slot);
      if (held) {
        busy.delete(slot);
        return held;
      }
      busy.add(slot);
    }
    return undefined;
  }

  /** openSlotFile opens (creating) a slot or reader file, with errors that say what to do. */
  #openSlotFile(path: string): number {
    try {
      return this.#p.openSlot(path);
    } catch (err) {
      throw this.#openError(path, err);
    }
  }

  /** openError explains why a slot or reader file could not be opened for locking. */
  #openError(path: string, err: unknown): WaitlockError {
    const errno = errnoOf(err);
    if (errno === "ELOOP") return notARegularFile(path, "symlink", err);
    if (errno === "EISDIR") return notARegularFile(path, "directory", err);
    if (errno === "ENXIO") return notARegularFile(path, "other", err);
    // Permission is checked before the file's type: a socket or FIFO another user
    // planted is refused with EACCES, but what is wrong is what it is, not who we are.
    if (errno === "EACCES" || errno === "EPERM") {
      let kind: FileStat["kind"] | undefined;
      try {
        kind = this.#p.lstat(path)?.kind;
      } catch {
        // cannot tell: report the permission problem
      }
      if (kind !== undefined && kind !== "file") return notARegularFile(path, kind, err);
    }
    return fromSystemError(err, `cannot open ${path}`);
  }

  #trySlot(req: SlotRequest, slot: number): HeldSlot | undefined {
    const path = this.#slotPath(req.descriptor, slot);
    const p = this.#p;
    for (let attempt = 0; attempt < INODE_RETRIES; attempt++) {
      const fd = this.#openSlotFile(path);
      let keep = false;
      try {
        const st = p.fstat(fd);
        if (st.kind !== "file") throw notARegularFile(path, st.kind);
        if (!p.tryLock(fd, GATE, req.shared)) return undefined;
        if (!this.#takeHeldByte(fd, req.shared)) return undefined;
        // A releasing holder unlinks the file before unlocking it: if our file is no
        // longer the one at the path, we locked a ghost. Start again on the new file.
        if (!sameFile(st, p.lstat(path))) continue;
        // Checked only now that the slot is ours: a held slot file someone linked
        // elsewhere is still just busy. Nothing below may touch a linked file.
        const locked = p.fstat(fd);
        if (locked.nlink > 1) throw hardLinked(path, locked.nlink);
        if (locked.uid === p.uid() && (locked.mode & 0o777) !== SLOT_FILE_MODE) p.fchmod(fd, SLOT_FILE_MODE);
        const held = req.shared ? this.#holdShared(req, slot, fd, locked) : this.#holdExclusive(req, slot, path, fd, locked);
        keep = true;
        return held;
      } finally {
        if (!keep) p.close(fd); // closing drops every lock this open file description took
      }
    }
    throw new WaitlockError("EAGAIN", `${path} keeps being replaced while locking it; try again`);
  }

  /**
   * takeHeldByte takes HELD while holding GATE. Only a probe can hold HELD now
   * (holders hold GATE too), and a probe holds it for two syscalls, so retry.
   */
  #takeHeldByte(fd: number, shared: boolean): boolean {
    const p = this.#p;
    if (p.tryLock(fd, HELD, shared)) return true;
    const deadline = Date.now() + PROBE_SPIN_MS;
    for (let i = 0; Date.now() < deadline; i++) {
      if (i > 20) sleepSync(0.1);
      if (p.tryLock(fd, HELD, shared)) return true;
    }
    return false; // a probe stopped mid-probe (SIGSTOP): report busy rather than hang
  }

  #holdExclusive(req: SlotRequest, slot: number, path: string, fd: number, st: FileStat): HeldSlot {
    const p = this.#p;
    // A file with content whose lock we just got is a leftover: note whose, for the logs.
    const tookOver = st.size > 0 ? this.#leftover(fd) : undefined;
    try {
      writeRecord(p, fd, path, this.#record(req, slot), st);
    } catch (err) {
      // Leave nothing half-written behind: the file goes (or is emptied) before the lock
      // does. The lock goes when #trySlot closes fd (closing it here too would make that
      // second close fail with EBADF and hide this error, or close someone else's file).
      discardSlotFile(p, path, fd, st);
      throw fromSystemError(err, `cannot write the lock record to ${path}`);
    }
    const held = new HeldFile(p, slot, fd, path, true, (changes) => this.#record({ ...req, ...changes }, slot), undefined, st);
    held.tookOver = tookOver;
    return held;
  }

  /** leftover reads what a stale slot file says before it is overwritten (null: not a record). */
  #leftover(fd: number): LockRecord | null {
    try {
      const bytes = this.#p.readHead(fd, this.#core.recordMaxBytes + 1);
      return this.#core.decodeStatus(bytes) === DecodeStatus.Ok ? this.#core.decodeRecord(bytes) : null;
    } catch {
      return null;
    }
  }

  /**
   * holdShared keeps the shared lock on the slot file and writes this holder's
   * record to a reader file of its own (many shared holders share one slot file,
   * so none may write to it or unlink it).
   */
  #holdShared(req: SlotRequest, slot: number, fd: number, st: FileStat): HeldSlot {
    const p = this.#p;
    // Shared holders never write the slot file, and no exclusive holder can coexist
    // with us: any content is a dead exclusive holder's record. Clear it so listings
    // do not show that holder as alive.
    if (st.size > 0) p.truncate(fd, 0);
    for (let tries = 0; tries < INODE_RETRIES; tries++) {
      const readerPath = this.#path(this.#names.reader(req.descriptor, slot, p.pid, ++this.#readerSeq));
      const rfd = this.#openSlotFile(readerPath);
      const rst = p.fstat(rfd);
      // Locked, and still the file at that path: a sweep (sweepDeadReaders) may have
      // just removed a leftover of an earlier process with our PID under this name.
      if (rst.kind !== "file" || !p.tryLock(rfd, HELD, false) || !sameFile(rst, p.lstat(readerPath))) {
        p.close(rfd);
        continue; // not ours to use: next sequence number
      }
      if (rst.nlink > 1) {
        p.close(rfd);
        throw hardLinked(readerPath, rst.nlink);
      }
      try {
        writeRecord(p, rfd, readerPath, this.#record(req, slot));
      } catch (err) {
        releaseSlotFile(p, readerPath, rfd);
        throw fromSystemError(err, `cannot write the lock record to ${readerPath}`);
      }
      const reader = new HeldFile(p, slot, rfd, readerPath, true, (changes) => this.#record({ ...req, ...changes }, slot));
      if (!this.#sweptReaders.has(req.descriptor)) {
        this.#sweptReaders.add(req.descriptor);
        this.#sweepDeadReaders(req.descriptor, slot, readerPath);
      }
      return new HeldFile(p, slot, fd, this.#path(this.#names.slot(req.descriptor, slot)), false, () => undefined, reader);
    }
    throw new WaitlockError("EAGAIN", `cannot create a reader record for ${req.descriptor}; try again`);
  }

  /**
   * sweepDeadReaders removes the reader files of (descriptor, slot) whose holder
   * has died: a reader's record is unlinked only by the reader itself, so one
   * killed with SIGKILL would leave it for good. A live reader holds its file's
   * HELD, so a file is removed only while we hold that lock and it is still the
   * file at its path (and a new reader checks the same after locking its own).
   * Best effort: a file we may not remove (another user's, in a sticky
   * directory) stays, listed as stale, and nothing here fails an acquisition.
   */
  #sweepDeadReaders(descriptor: string, slot: number, ownPath: string): void {
    const p = this.#p;
    let names: string[];
    try {
      names = p.readdir(this.#dir);
    } catch {
      return;
    }
    for (const name of names) {
      const parsed = parseLockFileName(name);
      // A long name's record is not read here: a dead reader's file is removed
      // whoever's it was, and a live one is never touched (its lock is held).
      if (parsed?.kind !== "reader" || parsed.slot !== slot || !this.#names.mayBelongTo(parsed, descriptor)) continue;
      const path = this.#path(name);
      if (path === ownPath) continue;
      let opened;
      try {
        opened = p.openExisting(path);
      } catch {
        continue; // gone, or not ours to open
      }
      try {
        const st = p.fstat(opened.fd);
        if (opened.writable && st.kind === "file" && p.tryLock(opened.fd, HELD, false) && sameFile(st, p.lstat(path))) p.unlink(path);
      } catch {
        // best effort: see above
      } finally {
        p.close(opened.fd); // drops the lock, after the unlink
      }
    }
  }

  /** probe looks at one file without disturbing anyone (it only ever tries HELD). */
  #probe(path: string): Probe | undefined {
    const p = this.#p;
    let opened;
    try {
      opened = p.openExisting(path);
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === "ENOENT") return undefined; // released while we looked
      const problem =
        errno === "ELOOP" ? "symbolic link (not followed)" :
        errno === "EISDIR" ? "a directory, not a lock file" :
        errno === "ENXIO" ? "a socket or device, not a lock file" :
        errno === "EACCES" ? "cannot be opened (permission denied)" : `cannot be opened (${errno ?? err})`;
      return { held: "unknown", status: "corrupt", problem };
    }
    const { fd, writable } = opened;
    try {
      const st = p.fstat(fd);
      if (st.kind !== "file") return { held: "unknown", status: "corrupt", problem: "not a regular file" };
      const held = this.#heldState(fd, writable);
      if (st.nlink > 1 && held === "free") {
        // What acquirers refuse (hardLinked): unusable, and what it holds is some
        // other file's content, not a record to show.
        return { held: "unknown", status: "corrupt", problem: `${st.nlink} hard links (another name for some other file; never written, remove it)` };
      }
      const bytes = p.readHead(fd, this.#core.recordMaxBytes + 1);
      const status = this.#core.decodeStatus(bytes);
      let record: LockRecord | undefined;
      let problem: string | undefined;
      if (status === DecodeStatus.Ok) record = this.#core.decodeRecord(bytes);
      else if (bytes.length > 0) problem = decodeProblem(this.#core, bytes);
      const staleness = this.#core.classify({
        recordValid: record !== undefined,
        recordEmpty: bytes.length === 0,
        lockHeld: held !== "free",
        sameHost: record === undefined || record.hostname === p.hostname(),
      });
      return { held, record, problem, status: STATUS_NAMES[staleness], id: st };
    } catch (err) {
      return { held: "unknown", status: "corrupt", problem: fromSystemError(err, "cannot read").message };
    } finally {
      p.close(fd);
    }
  }

  #heldState(fd: number, writable: boolean): Probe["held"] {
    const p = this.#p;
    if (writable) {
      if (p.tryLock(fd, HELD, false)) {
        p.unlock(fd, HELD);
        return "free";
      }
    }
    // A read-only descriptor can only test with a read lock: that sees exclusive holders only.
    if (p.tryLock(fd, HELD, true)) {
      p.unlock(fd, HELD);
      return writable ? "shared" : "free";
    }
    return "exclusive";
  }

  /**
   * check tells whether tryAcquire would get a slot now. It tries the slots in
   * the order tryAcquire does, and what would make tryAcquire fail with an
   * error makes check fail with it too: an error is never reported as "busy".
   */
  check(req: Pick<SlotRequest, "descriptor" | "maxHolders" | "shared">): boolean {
    for (const slot of this.#core.slotOrder(req.maxHolders)) {
      const held = this.#heldForAcquirer(this.#path(this.#names.slot(req.descriptor, slot)));
      if (held === undefined || held === "free") return true;
      if (req.shared && held === "shared") return true;
    }
    return false;
  }

  /**
   * heldForAcquirer tests a slot file's HELD byte like a probe (undefined: no
   * file, so an acquirer would create it), throwing what would stop an acquirer.
   * It opens the file as an acquirer does, read-write: a file this user may only
   * read (another user's 0644 file in a sticky directory) is refused to acquirers,
   * so it must not look free here.
   */
  #heldForAcquirer(path: string): Probe["held"] | undefined {
    const p = this.#p;
    let fd;
    try {
      fd = p.openReadWrite(path);
    } catch (err) {
      if (errnoOf(err) === "ENOENT") return undefined;
      throw this.#openError(path, err);
    }
    try {
      const st = p.fstat(fd);
      if (st.kind !== "file") throw notARegularFile(path, st.kind);
      const held = this.#heldState(fd, true);
      // As acquiring: a free file with other names is refused (a held one is merely busy).
      if (held === "free" && st.nlink > 1) throw hardLinked(path, st.nlink);
      return held;
    } catch (err) {
      throw fromSystemError(err, `cannot test the lock on ${path}`);
    } finally {
      p.close(fd);
    }
  }

  list(filter: ListFilter): SlotInfo[] {
    const holds = this.#p.holdsLockProver(); // one read of each holder's open files for the whole listing
    return this.#scan(filter).map(({ info, id }) => (id && filter.findHolders !== false ? this.#withRealHolders(info, id, holds) : info));
  }

  /**
   * withRealHolders adds the processes that hold the lock when the record names
   * one that does not: a listing should name who keeps a lock, not a dead PID.
   * Only for records written on this machine (another host's PIDs mean nothing
   * here), and only after the cheap check of the recorded PID says no.
   */
  #withRealHolders(info: SlotInfo, id: FileId, holds: (pid: number, id: FileId) => LockProof): SlotInfo {
    const p = this.#p;
    const r = info.record;
    if (info.status !== "active" || !r || r.hostname !== p.hostname()) return info;
    const verdict = holds(r.holderPid, id);
    if (verdict === "holds" || verdict === "cannot-see") return info;
    const pids = p.lockHolders(id).pids.filter((pid) => pid !== p.pid);
    return pids.length > 0 ? { ...info, holders: pids } : info;
  }

  /** scan probes the lock files filter selects, once each, keeping each file's identity for signalHolders. */
  #scan(filter: ListFilter): { info: SlotInfo; id?: FileId }[] {
    let names: string[];
    try {
      names = this.#p.readdir(this.#dir);
    } catch (err) {
      throw fromSystemError(err, `cannot read lock directory ${this.#dir}`);
    }
    const out: { info: SlotInfo; id?: FileId }[] = [];
    for (const name of names) {
      const parsed = parseLockFileName(name);
      if (!parsed) continue;
      if (filter.descriptor !== undefined && !this.#names.mayBelongTo(parsed, filter.descriptor)) continue;
      // A name whose "descriptor" no waitlock could lock is not a lock file, whatever
      // it contains; listing it would also carry its bytes (escape sequences, say,
      // planted by any user of a shared directory) to the reader's terminal.
      if (filter.descriptor === undefined && !parsed.long && this.#core.descriptorProblem(parsed.key) !== undefined) continue;
      const location = this.#path(name);
      const probe = this.#probe(location);
      if (!probe) continue;
      const descriptor = this.#descriptorOf(parsed, probe);
      // Another descriptor's file that shares this one's long name (or a record
      // forged to claim it) is not this descriptor's: never list or signal it as such.
      if (filter.descriptor !== undefined && descriptor !== undefined && descriptor !== filter.descriptor) continue;
      // A shared hold's slot file carries no record: its readers are listed instead.
      if (parsed.kind === "slot" && probe.held === "shared") continue;
      const leftover = probe.status === "stale" || probe.status === "corrupt";
      if (filter.staleOnly ? !leftover : leftover && !filter.all) continue;
      const info: SlotInfo = {
        descriptor: descriptor ?? parsed.key, slot: parsed.slot, kind: parsed.kind, status: probe.status,
        held: probe.held, record: probe.record, problem: probe.problem, location,
      };
      out.push({ info, id: probe.id });
    }
    return out.sort(({ info: a }, { info: b }) => (a.descriptor < b.descriptor ? -1 : a.descriptor > b.descriptor ? 1 : a.slot - b.slot));
  }

  /**
   * descriptorOf is the descriptor a file is for: its plain name says so; for a
   * long name, the record does, if the descriptor it names really has that long
   * name (if not, the record is not that file's: probe.problem says so).
   * undefined: a long name whose record cannot tell (held and being written, or unreadable).
   */
  #descriptorOf(parsed: ParsedName, probe: Probe): string | undefined {
    if (!parsed.long) return parsed.key;
    const claimed = probe.record?.descriptor;
    if (claimed === undefined) return undefined;
    if (this.#names.mayBelongTo(parsed, claimed)) return claimed;
    probe.problem = "the record names a descriptor whose files are named otherwise";
    return parsed.key;
  }

  signalHolders(descriptor: string, signal: string): number[] {
    const p = this.#p;
    const signalled = new Set<number>();
    let refused: WaitlockError | undefined;
    const send = (pid: number) => {
      if (pid === p.pid || signalled.has(pid)) return;
      try {
        p.kill(pid, signal);
        signalled.add(pid);
      } catch (err) {
        if (errnoOf(err) === "ESRCH") return; // exited meanwhile: nothing to end
        if (errnoOf(err) === "EPERM") refused = new WaitlockError("EPERM", `not permitted to signal PID ${pid}`);
        else throw fromSystemError(err, `cannot signal PID ${pid}`);
      }
    };
    for (const { info, id } of this.#scan({ descriptor })) {
      const r = info.record;
      if (info.status !== "active" || !id) continue;
      const slot = `${descriptor} slot ${info.slot} (${info.location})`;
      // Never trust a record for something dangerous (any local user can write
      // one): signal the PID it names only if the kernel says that process holds
      // this very file's lock. Having the file open is not enough: anyone may.
      const proof = r ? p.holdsLock(r.holderPid, id) : "gone";
      if (proof === "holds") {
        send(r!.holderPid);
        continue;
      }
      if (proof === "does-not-hold") {
        // A live process that does not hold the lock: the record lies (forged, or
        // its PID was reused). Refuse the slot and say so, rather than act on a
        // file someone may have tampered with.
        refused ??= new WaitlockError("ECORRUPT", `the record of ${slot} names PID ${r!.holderPid}, which does not hold its lock (a forged or outdated record); not signalling anyone for it`);
        continue;
      }
      if (proof === "cannot-see") {
        refused ??= new WaitlockError("EPERM", `cannot verify that PID ${r!.holderPid} holds ${slot} (another user's process); not permitted to signal it`);
        continue;
      }
      // The named process is gone (say, an exec'ing waitlock was SIGKILLed and its
      // command kept the lock), or there is no readable record: ask the kernel
      // which processes hold the lock itself.
      const found = p.lockHolders(id);
      for (const pid of found.pids) send(pid);
      if (found.pids.length === 0) {
        // Held, yet no process we can see holds it: another user's (hidepid), or one
        // in another PID namespace. Nothing here can be signalled on faith.
        const why = found.hidden > 0 ? "another user's process" : "a process hidden from this one's /proc";
        refused ??= new WaitlockError("EPERM", `cannot verify who holds ${slot} (${why}); not permitted to signal it`);
      }
    }
    if (refused && signalled.size === 0) throw refused;
    return [...signalled];
  }

  /**
   * watchHolders watches the files of req's slots' holders instead of the lock
   * directory, so that a release wakes only the waiters watching that holder,
   * not every process that watches the directory. An exclusive holder's release
   * unlinks its file, which its watchers hear. A shared hold's release does not
   * touch the slot file, so this works only while every slot is held
   * exclusively: a record in the slot file (shared holders keep it empty). A
   * free slot, an empty slot file (shared holders, or a holder that has not
   * written its record yet), too many slots, or a file that cannot be watched
   * gives undefined: then the caller watches the directory.
   */
  watchHolders(req: SlotRequest, onChange: () => void): (() => void) | undefined {
    if (req.maxHolders > HOLDER_WATCH_MAX) return undefined;
    const p = this.#p;
    const stops: (() => void)[] = [];
    const stopAll = () => {
      for (const stop of stops) stop();
    };
    try {
      for (let slot = 0; slot < req.maxHolders; slot++) {
        const path = this.#path(this.#names.slot(req.descriptor, slot));
        const st = p.lstat(path);
        const stop = st?.kind === "file" && st.size > 0 ? p.watchFile(path, onChange) : undefined;
        if (stop) stops.push(stop);
        // The file may have been replaced before the watch took hold (perhaps by a
        // shared holder's): the watch must be on the file that was seen held.
        if (!stop || !sameFile(st!, p.lstat(path))) {
          stopAll();
          return undefined;
        }
      }
    } catch {
      stopAll();
      return undefined;
    }
    return stopAll;
  }

  watch(descriptor: string | undefined, onChange: () => void): () => void {
    return this.#p.watch(this.#dir, (name) => {
      if (name === undefined || this.#concerns(name, descriptor)) onChange(); // undefined: the runtime could not say which file
    });
  }

  /** #concerns: is the file so named a lock file of descriptor (of any descriptor, when undefined)? */
  #concerns(name: string, descriptor: string | undefined): boolean {
    const parsed = parseLockFileName(name);
    return parsed !== undefined && (descriptor === undefined || this.#names.mayBelongTo(parsed, descriptor));
  }
}

function decodeProblem(core: Core, bytes: Uint8Array): string {
  try {
    core.decodeRecord(bytes);
    return "unreadable record";
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * releaseSlotFile ends an exclusive hold: unlink the path while still locked
 * (if it is still our file), or empty the file where unlinking is refused (a
 * sticky directory, another user's file), then drop the locks.
 */
function releaseSlotFile(p: Platform, path: string, fd: number, id?: FileId): void {
  discardSlotFile(p, path, fd, id);
  try {
    p.unlock(fd, HELD);
    p.unlock(fd, GATE);
  } finally {
    p.close(fd);
  }
}

/** discardSlotFile removes (or empties) a slot file this process still holds locked: see record-file.ts. */
function discardSlotFile(p: Platform, path: string, fd: number, id?: FileId): void {
  discardRecordFile(p, path, fd, id);
}

/** HeldFile is a slot (or reader record) held through an open file. */
class HeldFile implements HeldSlot {
  readonly slot: number;
  tookOver?: LockRecord | null;
  readonly fd: number;
  readonly fds: readonly number[];
  readonly recordPath: string;
  readonly #p: Platform;
  readonly #path: string;
  /** Exclusive holds remove their file on release; a shared hold leaves the slot file to the others. */
  readonly #ownsFile: boolean;
  readonly #encode: (changes: Parameters<HeldSlot["rewrite"]>[0]) => Uint8Array | undefined;
  readonly #reader?: HeldFile;
  /** The file's identity, taken when it was locked (an open file's never changes). */
  readonly #id?: FileId;
  #released = false;

  constructor(
    p: Platform, slot: number, fd: number, path: string, ownsFile: boolean,
    encode: (changes: Parameters<HeldSlot["rewrite"]>[0]) => Uint8Array | undefined, reader?: HeldFile, id?: FileId,
  ) {
    this.#id = id;
    this.#p = p;
    this.slot = slot;
    this.fd = fd;
    this.#path = path;
    this.#ownsFile = ownsFile;
    this.#encode = encode;
    this.#reader = reader;
    this.fds = reader ? [fd, reader.fd] : [fd];
    this.recordPath = reader ? reader.recordPath : path;
  }

  rewrite(changes: Parameters<HeldSlot["rewrite"]>[0]): void {
    if (this.#reader) return this.#reader.rewrite(changes);
    const bytes = this.#encode(changes);
    if (bytes) writeRecord(this.#p, this.fd, this.#path, bytes);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      this.#reader?.release();
    } finally {
      if (this.#ownsFile) {
        releaseSlotFile(this.#p, this.#path, this.fd, this.#id);
      } else {
        try {
          this.#p.unlock(this.fd, HELD);
          this.#p.unlock(this.fd, GATE);
        } finally {
          this.#p.close(this.fd);
        }
      }
    }
  }
}
