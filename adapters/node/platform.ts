// Platform for Node: fs for files; kernel locks and processes from the
// operating system's file (system.ts: system-linux.ts, OFD locks and /proc).
import * as fs from "node:fs";
import * as os from "node:os";
import { findHolders, holderProver, proveHolder } from "../proc-locks.ts";
import { openExistingWith, type ByteRange, type FileId, type FileStat, type LockProof, type Platform } from "../platform.ts";
import { nodeSystem, type NodeSystem } from "./system.ts";
import { WatchRegistry, type StartWatch } from "../watch-registry.ts";

const { O_RDWR, O_RDONLY, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** Linux's O_TMPFILE, which Node's fs.constants lacks: __O_TMPFILE (the same on x86-64 and arm64) with O_DIRECTORY (not). */
const O_TMPFILE = 0o20000000 | (fs.constants.O_DIRECTORY ?? 0);

function kindOf(st: fs.BigIntStats | fs.Stats): FileStat["kind"] {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "directory";
  if (st.isSymbolicLink()) return "symlink";
  return "other";
}

function toStat(st: fs.BigIntStats): FileStat {
  return {
    dev: st.dev, ino: st.ino, kind: kindOf(st), size: Number(st.size), uid: Number(st.uid), mode: Number(st.mode & 0o7777n), nlink: Number(st.nlink),
  };
}

/**
 * fromNumbers converts a plain (number) stat, or returns undefined if its device
 * or inode number may have lost precision (above 2^53: overlayfs with xino sets
 * high bits), when the caller must ask again with bigint: exact, but it costs
 * more (BigInts and Date objects for every field), and the hot path stats 4 times.
 */
function fromNumbers(st: fs.Stats): FileStat | undefined {
  if (st.ino > Number.MAX_SAFE_INTEGER || st.dev > Number.MAX_SAFE_INTEGER) return undefined;
  return {
    dev: BigInt(st.dev), ino: BigInt(st.ino), kind: kindOf(st), size: st.size, uid: st.uid, mode: st.mode & 0o7777, nlink: st.nlink,
  };
}

/** How long a directory's watch outlives its last listener, for the next wait of this process. */
const WATCH_LINGER_MS = 1000;

/** Node's watch: fs.watch (inotify), which never keeps the process alive. */
const startWatch: StartWatch = (path, onChange, onEnd) => {
  const watcher = fs.watch(path, { persistent: false }, (_event, name) => onChange(name ?? undefined));
  watcher.on("error", onEnd); // never let a failed watch crash the process
  return () => watcher.close();
};

export class NodePlatform implements Platform {
  readonly name = `node-${process.platform}`;
  readonly pid = process.pid;
  readonly ppid = process.ppid;
  readonly #watchers = new WatchRegistry(startWatch, WATCH_LINGER_MS, (t) => (t as { unref?: () => void }).unref?.());
  readonly #system: NodeSystem;
  #hostname?: string;

  /** system: the operating system's part (a parameter for tests of another system's refusal). */
  constructor(system: NodeSystem = nodeSystem()) {
    this.#system = system;
  }

  get unsupported(): string | undefined {
    return this.#system.unsupported;
  }

  openSlot(path: string): number {
    return fs.openSync(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o666);
  }

  openReadWrite(path: string): number {
    return fs.openSync(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK);
  }

  openExisting(path: string): { fd: number; writable: boolean } {
    return openExistingWith(() => this.openReadWrite(path), () => fs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK));
  }

  openUnnamed(dir: string): number | undefined {
    if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64") || !fs.constants.O_DIRECTORY) return undefined;
    try {
      return fs.openSync(dir, O_TMPFILE | O_RDWR, 0o600);
    } catch {
      return undefined; // a filesystem without unnamed files (EOPNOTSUPP), or none allowed here
    }
  }

  tryLock(fd: number, range: ByteRange, shared: boolean): boolean {
    return this.#system.tryLock(fd, range.offset, range.length, shared);
  }

  unlock(fd: number, range: ByteRange): void {
    this.#system.unlock(fd, range.offset, range.length);
  }

  close(fd: number): void {
    fs.closeSync(fd);
  }

  fstat(fd: number): FileStat {
    return fromNumbers(fs.fstatSync(fd)) ?? toStat(fs.fstatSync(fd, { bigint: true }));
  }

  lstat(path: string): FileStat | undefined {
    const quick = fs.lstatSync(path, { throwIfNoEntry: false });
    if (quick === undefined) return undefined;
    const st = fromNumbers(quick);
    if (st) return st;
    const exact = fs.lstatSync(path, { bigint: true, throwIfNoEntry: false });
    return exact && toStat(exact);
  }

  fchmod(fd: number, mode: number): void {
    fs.fchmodSync(fd, mode);
  }

  writeHead(fd: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, done);
  }

  truncate(fd: number, length: number): void {
    fs.ftruncateSync(fd, length);
  }

  readHead(fd: number, max: number): Uint8Array {
    const buf = Buffer.allocUnsafe(max);
    let got = 0;
    while (got < max) {
      const n = fs.readSync(fd, buf, got, max - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  }

  unlink(path: string): void {
    fs.unlinkSync(path);
  }

  readdir(dir: string): string[] {
    return fs.readdirSync(dir);
  }

  rmdir(path: string): void {
    fs.rmdirSync(path);
  }

  mkdir(path: string, mode: number): void {
    fs.mkdirSync(path, { mode });
    fs.chmodSync(path, mode); // mkdir applies the umask; a shared directory must really be 1777
  }

  canWrite(dir: string): boolean {
    try {
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }

  watch(dir: string, onChange: (filename: string | undefined) => void): () => void {
    try {
      return this.#watchers.add(dir, onChange);
    } catch {
      return () => undefined; // no inotify here: waiters rely on their poll
    }
  }

  watchFile(path: string, onChange: () => void): (() => void) | undefined {
    try {
      return startWatch(path, () => onChange(), () => undefined); // a failed watch costs promptness only: waiters poll
    } catch {
      return undefined;
    }
  }

  // process.getuid() is a surprisingly costly binding call on the hot path; a
  // process's real UID does not change under a library user.
  #uid?: number;
  uid(): number {
    return (this.#uid ??= process.getuid?.() ?? 0);
  }

  hostname(): string {
    return (this.#hostname ??= os.hostname());
  }

  // The command line a process started with (as Deno's platform keeps it): joined
  // once, not on every acquire.
  #commandLine?: string;
  commandLine(): string {
    return (this.#commandLine ??= process.argv.join(" "));
  }

  env(name: string): string | undefined {
    return process.env[name];
  }

  homeDir(): string | undefined {
    try {
      return os.homedir() || undefined;
    } catch {
      return undefined;
    }
  }

  processStartTime(pid: number): number | undefined {
    return this.#system.processStartTime(pid);
  }

  kill(pid: number, signal: string): void {
    process.kill(pid, signal);
  }

  holdsLock(pid: number, id: FileId): LockProof {
    return proveHolder(this.#system.proc, pid, id);
  }

  holdsLockProver(): (pid: number, id: FileId) => LockProof {
    return holderProver(this.#system.proc);
  }

  lockHolders(id: FileId): { pids: number[]; hidden: number } {
    return findHolders(this.#system.proc, id);
  }

  unrefTimer(timer: unknown): void {
    (timer as { unref?: () => void }).unref?.();
  }

  cpuLimits(): { affinity: number; quotaUs: number; periodUs: number } {
    return this.#system.cpuLimits();
  }
}
