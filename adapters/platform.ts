// Platform is everything the file backend needs from a runtime. Node and Deno
// each implement it in adapters/<runtime>/platform.ts; the protocol itself is
// written once, in file-backend.ts, against this interface.
//
// File operations are synchronous on purpose: each is one short syscall on a
// local file, and a thread-pool round trip costs several times the syscall.
// Nothing here ever blocks waiting for a lock: waiting is done above, with
// non-blocking attempts woken by watch() and timers.

/** A byte range of a slot file for a kernel lock (OFD locks on Linux are per range). */
export interface ByteRange {
  offset: number;
  length: number;
}

/** The identity of a file: two stats name the same file iff dev and ino match. */
export interface FileId {
  dev: bigint;
  ino: bigint;
}

/**
 * What a platform can prove about a process and a slot file (Linux: from
 * /proc/<pid>/fdinfo, see proc-locks.ts):
 * - "holds": one of its open files carries the slot's lock;
 * - "does-not-hold": it is alive and visible, and none does;
 * - "gone": no such process here (exited, or hidden by hidepid=invisible, or in
 *   another PID namespace: the caller must not read this as "free");
 * - "cannot-see": it exists but this process may not look (another user's).
 */
export type LockProof = "holds" | "does-not-hold" | "gone" | "cannot-see";

export interface FileStat extends FileId {
  kind: "file" | "directory" | "symlink" | "other";
  size: number;
  uid: number;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  /**
   * Hard links to the file. Above 1, the file has a name outside waitlock's
   * knowledge (a link planted at a slot path): it is never written, truncated or
   * chmodded. Taken by fstat of the open descriptor, so it describes the very
   * file about to be written, not whatever the path names a moment later.
   */
  nlink: number;
}

/**
 * A failed system call, with the errno name (ENOENT, EACCES, ELOOP…) so callers
 * can decide without parsing messages. Platforms throw this, or any error with
 * a string `code`, from the operations below.
 */
export interface SystemError extends Error {
  code: string;
}

export interface Platform {
  /** A short name for messages and diagnostics, e.g. "node-linux" or "deno-linux". */
  readonly name: string;
  /** Why waitlock cannot take locks on this system (supported-os.ts); undefined where it can. */
  readonly unsupported: string | undefined;

  // ---- files ----
  /**
   * Opens path read-write, creating it with mode 0o666 if missing, never
   * following a symlink (ELOOP) and never blocking (a FIFO planted at the path).
   * Returns a file descriptor.
   */
  openSlot(path: string): number;
  /** Opens an existing path as openSlot does (read-write, no follow, no block), but never creates it (ENOENT). */
  openReadWrite(path: string): number;
  /** Opens an existing path for probing: read-write if allowed, else read-only; no follow, no block. */
  openExisting(path: string): { fd: number; writable: boolean };
  /**
   * Opens a new unnamed regular file in dir, read-write (Linux's O_TMPFILE): it
   * is in no directory, so no other process comes upon it there, no watch
   * hears of it, and it is gone once closed. Undefined where the runtime or the
   * filesystem has no such files.
   */
  openUnnamed?(dir: string): number | undefined;
  /** Non-blocking kernel lock on range; false when another open file description holds a conflicting one. */
  tryLock(fd: number, range: ByteRange, shared: boolean): boolean;
  unlock(fd: number, range: ByteRange): void;
  close(fd: number): void;
  fstat(fd: number): FileStat;
  /** lstat: the path itself, never what a symlink points to; undefined if it does not exist. */
  lstat(path: string): FileStat | undefined;
  fchmod(fd: number, mode: number): void;
  /** Writes bytes at offset 0 (it does not shorten the file: see truncate). */
  writeHead(fd: number, bytes: Uint8Array): void;
  truncate(fd: number, length: number): void;
  /** Reads up to max bytes from offset 0. */
  readHead(fd: number, max: number): Uint8Array;
  unlink(path: string): void;
  readdir(dir: string): string[];
  /** Removes an empty directory (ENOTEMPTY if it is not). */
  rmdir(path: string): void;
  /** Creates a directory (not its parents) and sets its mode exactly, umask notwithstanding. */
  mkdir(path: string, mode: number): void;
  /** True if the calling process may create files in dir (access(2) W_OK|X_OK). */
  canWrite(dir: string): boolean;
  /**
   * Calls onChange(filename) whenever an entry of dir is created, changed or
   * removed (filename may be undefined if the runtime cannot tell). Given a
   * file instead of a directory, it watches that file: a change, or its
   * removal. Returns a function that stops watching (a path that cannot be
   * watched gives one that does nothing). Watchers must not keep the process alive.
   */
  watch(dir: string, onChange: (filename: string | undefined) => void): () => void;
  /**
   * Watches the file now at path (the file, not the name: a file created at
   * that path later is not watched) and calls onChange when it changes or
   * loses its name. Each call makes a watch of its own, shared with no one and
   * stopped at once by the returned function. Returns undefined if the file
   * cannot be watched (no such file, no inotify here). Must not keep the
   * process alive.
   */
  watchFile(path: string, onChange: () => void): (() => void) | undefined;

  // ---- this process and others ----
  readonly pid: number;
  /** The parent of this process (the calling shell for a CLI). */
  readonly ppid: number;
  uid(): number;
  hostname(): string;
  /** The command line to record for this process. */
  commandLine(): string;
  /** Env var lookup: undefined if unset; throws if the runtime forbids reading it. */
  env(name: string): string | undefined;
  /** A per-user home directory, if known. */
  homeDir(): string | undefined;
  /** A token that changes when pid is reused (Linux: /proc/<pid>/stat starttime); undefined if pid does not exist or has exited (a zombie). */
  processStartTime(pid: number): number | undefined;
  /** Sends signal to pid; throws SystemError (ESRCH, EPERM). */
  kill(pid: number, signal: string): void;
  /**
   * Whether process pid holds the kernel lock of slot file `id` (Linux:
   * /proc/<pid>/fdinfo, proc-locks.ts), not merely has it open: see LockProof.
   */
  holdsLock(pid: number, id: FileId): LockProof;
  /** holdsLock for many locks in a row (a listing): each process's open files are read once. */
  holdsLockProver(): (pid: number, id: FileId) => LockProof;
  /**
   * The processes holding the kernel lock of slot file `id`, found without
   * trusting any record (Linux: /proc/<pid>/fdinfo). `hidden` counts processes
   * this one may not look at.
   */
  lockHolders(id: FileId): { pids: number[]; hidden: number };
  /** Lets the process exit even though timer (from setTimeout/setInterval) is pending. */
  unrefTimer(timer: unknown): void;
  /** CPU count from the affinity mask, and the cgroup CPU quota (0 = none). */
  cpuLimits(): { affinity: number; quotaUs: number; periodUs: number };
}

/**
 * openExistingWith is openExisting on every platform: read-write if allowed,
 * else read-only (a slot file another user made, a read-only file system).
 */
export function openExistingWith(readWrite: () => number, readOnly: () => number): { fd: number; writable: boolean } {
  try {
    return { fd: readWrite(), writable: true };
  } catch (err) {
    const code = errnoOf(err);
    if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS") throw err;
    return { fd: readOnly(), writable: false };
  }
}

/** errnoOf returns the errno name of a platform error (e.g. "ENOENT"), or undefined. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
