// Platform for Node: fs for files, fs-native-extensions for kernel locks (OFD
// locks on Linux, flock on macOS), /proc for processes.
import * as fs from "node:fs";
import * as os from "node:os";
import { kernelLocks } from "./kernel-locks.ts";
import { readCgroupQuota, startTimeFrom } from "../proc.ts";
import type { ByteRange, FileId, FileStat, Platform } from "../platform.ts";

const { O_RDWR, O_RDONLY, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

function kindOf(st: fs.BigIntStats): FileStat["kind"] {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "directory";
  if (st.isSymbolicLink()) return "symlink";
  return "other";
}

function toStat(st: fs.BigIntStats): FileStat {
  return { dev: st.dev, ino: st.ino, kind: kindOf(st), size: Number(st.size), uid: Number(st.uid), mode: Number(st.mode & 0o7777n) };
}

/** One inotify watch per directory, shared by every waiter of this process. */
class DirectoryWatchers {
  readonly #byDir = new Map<string, { watcher: fs.FSWatcher; listeners: Set<(name: string | undefined) => void> }>();

  add(dir: string, listener: (name: string | undefined) => void): () => void {
    let entry = this.#byDir.get(dir);
    if (!entry) {
      const listeners = new Set<(name: string | undefined) => void>();
      const watcher = fs.watch(dir, { persistent: false }, (_event, name) => {
        for (const l of listeners) l(name ?? undefined);
      });
      // A watch that fails (directory removed, inotify limit) only costs promptness:
      // waiters still poll. Never let it crash the process.
      watcher.on("error", () => this.#drop(dir));
      entry = { watcher, listeners };
      this.#byDir.set(dir, entry);
    }
    entry.listeners.add(listener);
    return () => {
      const e = this.#byDir.get(dir);
      if (!e || !e.listeners.delete(listener) || e.listeners.size > 0) return;
      this.#drop(dir);
    };
  }

  #drop(dir: string): void {
    const e = this.#byDir.get(dir);
    if (!e) return;
    this.#byDir.delete(dir);
    e.watcher.close();
  }
}

/**
 * holdsGate tells whether an fdinfo text shows an OFD lock that covers byte 0:
 * "lock:\t1: OFDLCK ADVISORY  WRITE -1 fe:00:2179186 0 1" (start 0, end 1).
 * Probes lock byte 1 only, so a prober is never taken for a holder.
 */
function holdsGate(fdinfo: string): boolean {
  return /^lock:\s+\d+:\s+OFDLCK\s+\S+\s+(?:READ|WRITE)\s+\S+\s+\S+\s+0\s/m.test(fdinfo);
}

/** readText reads a small text file (/proc, /sys); throws if missing. */
function readText(path: string): string {
  return fs.readFileSync(path, "latin1");
}

export class NodePlatform implements Platform {
  readonly name = `node-${process.platform}`;
  readonly pid = process.pid;
  readonly ppid = process.ppid;
  readonly #watchers = new DirectoryWatchers();
  #hostname?: string;

  openSlot(path: string): number {
    return fs.openSync(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o666);
  }

  openReadWrite(path: string): number {
    return fs.openSync(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK);
  }

  openExisting(path: string): { fd: number; writable: boolean } {
    try {
      return { fd: this.openReadWrite(path), writable: true };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS") throw err;
      return { fd: fs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK), writable: false };
    }
  }

  tryLock(fd: number, range: ByteRange, shared: boolean): boolean {
    return kernelLocks.tryLock(fd, range.offset, range.length, shared);
  }

  unlock(fd: number, range: ByteRange): void {
    kernelLocks.unlock(fd, range.offset, range.length);
  }

  close(fd: number): void {
    fs.closeSync(fd);
  }

  fstat(fd: number): FileStat {
    return toStat(fs.fstatSync(fd, { bigint: true }));
  }

  lstat(path: string): FileStat | undefined {
    const st = fs.lstatSync(path, { bigint: true, throwIfNoEntry: false });
    return st && toStat(st);
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

  // process.getuid() is a surprisingly costly binding call on the hot path; a
  // process's real UID does not change under a library user.
  #uid?: number;
  uid(): number {
    return (this.#uid ??= process.getuid?.() ?? 0);
  }

  hostname(): string {
    return (this.#hostname ??= os.hostname());
  }

  commandLine(): string {
    return process.argv.join(" ");
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
    try {
      return startTimeFrom(readText(`/proc/${pid}/stat`));
    } catch {
      return undefined; // no such process
    }
  }

  kill(pid: number, signal: string): void {
    process.kill(pid, signal);
  }

  holdsOpen(pid: number, id: FileId): boolean | "unknown" {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === "EACCES" || code === "EPERM" ? "unknown" : false;
    }
    for (const n of fds) {
      try {
        const st = fs.statSync(`/proc/${pid}/fd/${n}`, { bigint: true, throwIfNoEntry: false });
        if (st && st.dev === id.dev && st.ino === id.ino) return true;
      } catch {
        // closed meanwhile, or not ours to stat
      }
    }
    return false;
  }

  lockHolders(id: FileId): { pids: number[]; hidden: number } {
    const pids: number[] = [];
    let hidden = 0;
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let fds: string[];
      try {
        fds = fs.readdirSync(`/proc/${entry}/fd`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EACCES") hidden++;
        continue; // gone, or not ours to look at
      }
      for (const n of fds) {
        try {
          const st = fs.statSync(`/proc/${entry}/fd/${n}`, { bigint: true, throwIfNoEntry: false });
          if (!st || st.dev !== id.dev || st.ino !== id.ino) continue;
          if (holdsGate(fs.readFileSync(`/proc/${entry}/fdinfo/${n}`, "latin1"))) {
            pids.push(Number(entry));
            break;
          }
        } catch {
          // closed meanwhile
        }
      }
    }
    return { pids, hidden };
  }

  unrefTimer(timer: unknown): void {
    (timer as { unref?: () => void }).unref?.();
  }

  cpuLimits(): { affinity: number; quotaUs: number; periodUs: number } {
    return { affinity: os.availableParallelism(), ...readCgroupQuota(readText) };
  }
}
