// One error type for the whole library. Its `code` is stable (tests and callers
// match on it, never on messages) and maps to exactly one CLI exit code.

export type ErrorCode =
  | "EBUSY" // the lock is held and the caller asked not to wait
  | "ETIMEDOUT" // waited as long as allowed
  | "EUSAGE" // bad descriptor, option or number: the caller's mistake
  | "ESYSTEM" // an unexpected system error
  | "EPERM" // permission denied (files, signals)
  | "ENODIR" // the lock directory is missing, not a directory, or unusable
  | "ECORRUPT" // bytes that are not a lock record
  | "EAGAIN" // temporary failure: try again later
  | "EABORTED" // the caller's AbortSignal fired
  | "ELOST"; // a held lock was lost (its lease may have expired): stop using what it protects

/**
 * signalExit is the exit status of a process ended by signal number signum,
 * as shells report it: the one rule behind every signal exit waitlock reports
 * (its own, interrupted while waiting or holding; its command's, with --exec;
 * and EABORTED's, an interrupt by another name).
 */
export function signalExit(signum: number): number {
  return 128 + signum;
}

const SIGINT = 2;

/** Exit codes of the CLI, one per error code (the README's exit table). */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  EBUSY: 1,
  ETIMEDOUT: 2,
  EUSAGE: 3,
  ESYSTEM: 4,
  ECORRUPT: 4,
  EPERM: 5,
  ENODIR: 6,
  EAGAIN: 75,
  EABORTED: signalExit(SIGINT),
  ELOST: 7,
};

/**
 * WaitlockError is the only error the library throws on purpose. One for an
 * AbortSignal (EABORTED) is named "AbortError", as Node's own AbortSignal-aware
 * APIs name theirs, and carries the signal's reason as its cause.
 */
export class WaitlockError extends Error {
  override readonly name: "WaitlockError" | "AbortError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = code === "EABORTED" ? "AbortError" : "WaitlockError";
  }

  /** The CLI exit code for this error. */
  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** isWaitlockError tells whether err is a WaitlockError, optionally with a given code. */
export function isWaitlockError(err: unknown, code?: ErrorCode): err is WaitlockError {
  return err instanceof WaitlockError && (code === undefined || err.code === code);
}

const ERRNO_TEXT: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  ELOOP: "is a symbolic link (never followed)",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EMFILE: "too many open files in this process",
  ENFILE: "too many open files in the system",
  EINTR: "interrupted",
  ESTALE: "stale NFS file handle",
  ENOLCK: "no locks available",
  ENXIO: "not a regular file (no such device or address)",
  EIO: "I/O error",
  ESRCH: "no such process",
};

const ERRNO_CODE: Record<string, ErrorCode> = {
  EACCES: "EPERM",
  EPERM: "EPERM",
  EROFS: "EPERM",
  ENOENT: "ENODIR",
  ENOTDIR: "ENODIR",
  ENOSPC: "EAGAIN",
  EDQUOT: "EAGAIN",
  EMFILE: "EAGAIN",
  ENFILE: "EAGAIN",
  EINTR: "EAGAIN",
  ESTALE: "EAGAIN",
  ENOLCK: "EAGAIN",
  EAGAIN: "EAGAIN",
};

/**
 * fromSystemError turns a failed system call into a WaitlockError whose code
 * follows the errno (permission → EPERM, missing directory → ENODIR, resources
 * that come back → EAGAIN) and whose message says what was being done.
 */
export function fromSystemError(err: unknown, doing: string): WaitlockError {
  if (err instanceof WaitlockError) return err;
  const errno = (err as { code?: unknown } | null)?.code;
  if (typeof errno !== "string") return new WaitlockError("ESYSTEM", `${doing}: ${String(err)}`, { cause: err });
  const text = ERRNO_TEXT[errno] ?? (err as Error).message ?? errno;
  return new WaitlockError(ERRNO_CODE[errno] ?? "ESYSTEM", `${doing}: ${text} (${errno})`, { cause: err });
}
