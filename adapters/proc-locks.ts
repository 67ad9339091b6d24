// Who holds a slot's kernel lock, read from Linux /proc/<pid>/fdinfo, written
// once for the Node and Deno platforms (each supplies its own way to read /proc).
//
// This is what stands between a record, which any local user can forge (slot
// files are 0666), and a signal sent to the PID it names: a process counts as a
// holder only if the kernel says one of its open files carries the slot's lock.
// Having the file open proves nothing (anyone may open it to read). /proc/locks
// does not do either: it shows OFD locks with pid -1. fdinfo lists exactly the
// locks owned by that open file description (OFD) or by that process through
// it (POSIX), with the lock's inode and byte range.
import { errnoOf, type FileId, type LockProof } from "./platform.ts";
import { startTimeFrom } from "./proc.ts";

/** One `lock:` line of /proc/<pid>/fdinfo/<fd>, in the layout of /proc/locks. */
export interface FdinfoLock {
  /** OFDLCK, POSIX, FLOCK, LEASE…: only OFDLCK and POSIX locks exclude waitlock's. */
  kind: string;
  access: string; // READ or WRITE
  /** The device as /proc prints it (hex major:minor of the filesystem's superblock). */
  major: number;
  minor: number;
  ino: bigint;
  /** First and last byte, inclusive; end is undefined for "EOF" (to the end of any file). */
  start: bigint;
  end: bigint | undefined;
}

// "lock:\t1: OFDLCK ADVISORY  WRITE -1 fe:00:2146661 0 1": id, kind, mode, access,
// pid (-1 for OFD locks), major:minor:inode (hex, hex, decimal), start, end or EOF.
const LOCK_LINE = /^lock:\s+\d+:\s+(\S+)\s+\S+\s+(\S+)\s+-?\d+\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s+(\d+)\s+(\d+|EOF)\s*$/;

/** locksIn parses the `lock:` lines of an fdinfo text; lines of any other shape are not locks this protocol takes. */
export function locksIn(fdinfo: string): FdinfoLock[] {
  const locks: FdinfoLock[] = [];
  for (const line of fdinfo.split("\n")) {
    const m = LOCK_LINE.exec(line);
    if (!m) continue;
    locks.push({
      kind: m[1], access: m[2], major: parseInt(m[3], 16), minor: parseInt(m[4], 16), ino: BigInt(m[5]),
      start: BigInt(m[6]), end: m[7] === "EOF" ? undefined : BigInt(m[7]),
    });
  }
  return locks;
}

/** GATE and HELD (file-backend.ts): the bytes every holder keeps locked. */
const SLOT_BYTES = [0, 1] as const;

function covers(lock: FdinfoLock, byte: number): boolean {
  const b = BigInt(byte);
  return lock.start <= b && (lock.end === undefined || lock.end >= b);
}

/**
 * holdsSlot tells whether the locks of one open file (its fdinfo) make it a
 * holder of the slot file `ino`: a holder keeps both GATE (byte 0) and HELD
 * (byte 1), an acquirer that has not finished has GATE only, and a probe only
 * ever has HELD, for two syscalls; so neither is taken for a holder. The device
 * is not compared: fdinfo only lists locks on this very open file (whose dev and
 * inode the caller has checked by stat), and btrfs or overlayfs print another
 * device number here than stat reports, which would hide every holder there.
 */
export function holdsSlot(fdinfo: string, ino: bigint, bytes: readonly number[] = SLOT_BYTES): boolean {
  const locks = locksIn(fdinfo).filter((l) => (l.kind === "OFDLCK" || l.kind === "POSIX") && l.ino === ino);
  return bytes.every((byte) => locks.some((l) => covers(l, byte)));
}

/** How a runtime reads /proc; each function throws an error with an errno `code`. */
export interface ProcReader {
  listDir(path: string): string[];
  /** stat(2), following /proc/<pid>/fd/<n> to the open file; undefined if gone. */
  statFollow(path: string): FileId | undefined;
  readText(path: string): string;
}

function isDenied(err: unknown): boolean {
  const errno = errnoOf(err);
  return errno === "EACCES" || errno === "EPERM";
}

/** proveHolder tells whether process pid holds the slot file id's lock (see LockProof). */
export function proveHolder(proc: ProcReader, pid: number, id: FileId): LockProof {
  if (!Number.isSafeInteger(pid) || pid <= 0) return "gone";
  let fds: string[];
  try {
    fds = proc.listDir(`/proc/${pid}/fd`);
  } catch (err) {
    return isDenied(err) ? "cannot-see" : "gone";
  }
  for (const n of fds) {
    try {
      const st = proc.statFollow(`/proc/${pid}/fd/${n}`);
      if (!st || st.dev !== id.dev || st.ino !== id.ino) continue;
      if (holdsSlot(proc.readText(`/proc/${pid}/fdinfo/${n}`), id.ino)) return "holds";
    } catch (err) {
      if (isDenied(err)) return "cannot-see";
      // closed meanwhile: look at the next one
    }
  }
  return hasExited(proc, pid) ? "gone" : "does-not-hold";
}

/**
 * holderProver answers proveHolder's question for many locks in a row (a
 * listing), reading each process's open files once: proveHolder alone reads
 * all of /proc/PID/fd per question, so one process holding N locks cost N²
 * stats. The answers are a snapshot of when a process was first asked about.
 */
export function holderProver(proc: ProcReader): (pid: number, id: FileId) => LockProof {
  const byPid = new Map<number, Map<string, string[]> | LockProof>();
  return (pid, id) => {
    if (!Number.isSafeInteger(pid) || pid <= 0) return "gone";
    let fds = byPid.get(pid);
    if (fds === undefined) byPid.set(pid, (fds = openFiles(proc, pid)));
    if (typeof fds === "string") return fds;
    for (const n of fds.get(`${id.dev}:${id.ino}`) ?? []) {
      try {
        if (holdsSlot(proc.readText(`/proc/${pid}/fdinfo/${n}`), id.ino)) return "holds";
      } catch (err) {
        if (isDenied(err)) return "cannot-see";
        // closed meanwhile: look at the next one
      }
    }
    return hasExited(proc, pid) ? "gone" : "does-not-hold";
  };
}

/** openFiles: pid's fds by the file each has open ("dev:ino"), or why they cannot be read. */
function openFiles(proc: ProcReader, pid: number): Map<string, string[]> | LockProof {
  let fds: string[];
  try {
    fds = proc.listDir(`/proc/${pid}/fd`);
  } catch (err) {
    return isDenied(err) ? "cannot-see" : "gone";
  }
  const byFile = new Map<string, string[]>();
  for (const n of fds) {
    try {
      const st = proc.statFollow(`/proc/${pid}/fd/${n}`);
      if (!st) continue;
      const key = `${st.dev}:${st.ino}`;
      const same = byFile.get(key);
      if (same) same.push(n);
      else byFile.set(key, [n]);
    } catch (err) {
      if (isDenied(err)) return "cannot-see";
      // closed meanwhile
    }
  }
  return byFile;
}

/** hasExited: pid is a zombie (it has no open files left) or vanished meanwhile. */
function hasExited(proc: ProcReader, pid: number): boolean {
  try {
    return startTimeFrom(proc.readText(`/proc/${pid}/stat`)) === undefined;
  } catch {
    return true;
  }
}

/**
 * findHolders lists the processes that hold the slot file id's lock, found
 * without trusting any record. `hidden` counts processes this one may not look
 * at; processes hidden from /proc altogether (hidepid=invisible, another PID
 * namespace) are not counted, since nothing here can know of them.
 */
export function findHolders(proc: ProcReader, id: FileId): { pids: number[]; hidden: number } {
  const pids: number[] = [];
  let hidden = 0;
  for (const entry of proc.listDir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const proof = proveHolder(proc, Number(entry), id);
    if (proof === "holds") pids.push(Number(entry));
    else if (proof === "cannot-see") hidden++;
  }
  return { pids, hidden };
}
