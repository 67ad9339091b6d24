// Platform for Deno on Linux: the lock protocol of file-backend.ts on the same
// kernel locks Node takes, so a Deno process and a Node process exclude each
// other on the same slot file.
//
// - Slot files (opened, locked, read, written, closed) go through libc (libc.ts):
//   the lock must be an OFD lock like Node's, and Deno 2 has no raw fd for an FsFile.
//   Each such call first checks the Deno permission the equivalent Deno call
//   would need (FFI bypasses Deno's checks; the flags should still mean something).
// - Directory work (list, create, remove, watch) uses Deno's own APIs.
// - /proc and /sys are read through libc: Deno demands --allow-all for those
//   special files, and --allow-ffi already grants as much.
// macOS is out of scope: it would take flock(2) locks, as fs-native-extensions does there.
import { openExistingWith, type ByteRange, type FileId, type FileStat, type LockProof, type Platform, type SystemError } from "../platform.ts";
import * as libc from "./libc.ts";
import { unsupportedOs } from "../supported-os.ts";
import { WatchRegistry, type StartWatch } from "../watch-registry.ts";
import { readCgroupQuota, startTimeFrom } from "../proc.ts";
import { findHolders, holderProver, proveHolder, type ProcReader } from "../proc-locks.ts";
import { isNotCapable, Permissions } from "./permissions.ts";

function dirOf(path: string): string {
  const i = path.replace(/\/+$/, "").lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

const CODE_BY_CLASS: [new (...args: never[]) => Error, string][] = [
  [Deno.errors.NotFound, "ENOENT"],
  [Deno.errors.PermissionDenied, "EACCES"],
  [Deno.errors.AlreadyExists, "EEXIST"],
  [Deno.errors.NotADirectory, "ENOTDIR"],
  [Deno.errors.IsADirectory, "EISDIR"],
  [Deno.errors.FilesystemLoop, "ELOOP"],
  [Deno.errors.Interrupted, "EINTR"],
  [Deno.errors.WouldBlock, "EAGAIN"],
  [Deno.errors.Busy, "EBUSY"],
];

/**
 * withCode gives an error from a Deno API the errno `code` file-backend.ts
 * decides on. Deno's file errors carry one already; others (Deno.kill's) say
 * it at the start of their message ("ESRCH: No such process") or by their class.
 */
function withCode(err: unknown, syscall: string, path?: string): unknown {
  if (!(err instanceof Error) || typeof (err as { code?: unknown }).code === "string") return err;
  const named = /^(E[A-Z0-9]+):/.exec(err.message)?.[1];
  const code = named ?? CODE_BY_CLASS.find(([cls]) => err instanceof cls)?.[1];
  if (!code) return err;
  return Object.assign(libc.systemError(code, syscall, path), { cause: err });
}

/**
 * Deno's watch: Deno.watchFs. Its pending read keeps the process alive, so it
 * is closed as soon as its last waiter is done (no linger).
 */
const startWatch: StartWatch = (path, onChange, onEnd) => {
  const watcher = Deno.watchFs(path, { recursive: false });
  void (async () => {
    try {
      for await (const event of watcher) {
        // "access" is an open or a close without change, which every waiter's own
        // attempt causes: reacting to it would make waiters wake each other forever.
        if (event.kind === "access") continue;
        for (const name of event.paths.length > 0 ? event.paths.map(baseName) : [undefined]) onChange(name);
      }
    } catch {
      // the watch failed (path removed): onEnd below
    } finally {
      onEnd();
    }
  })();
  return () => watcher.close();
};

const latin1 = new TextDecoder("latin1");

/** ownCommandLine is this process's real command line, as ps shows it: "deno run --allow-… main.ts args". */
function ownCommandLine(): string {
  try {
    return new TextDecoder().decode(libc.readWhole("/proc/self/cmdline")).replace(/\0+$/, "").split("\0").join(" ");
  } catch {
    return ["deno", Deno.mainModule, ...Deno.args].join(" ");
  }
}

function readProcText(path: string): string {
  return latin1.decode(libc.readWhole(path));
}

const procReader: ProcReader = {
  listDir: (path) => libc.listDirectory(path),
  statFollow(path) {
    try {
      return libc.statPath(path, true); // follows the magic link to the open file
    } catch (err) {
      if ((err as SystemError).code === "ENOENT") return undefined;
      throw err;
    }
  },
  readText: readProcText,
};

export class DenoPlatform implements Platform {
  readonly name = `deno-${Deno.build.os}`;
  readonly unsupported: string | undefined;
  readonly pid = Deno.pid;
  readonly ppid = Deno.ppid;
  /** The permission checks, shared with the entry point (mod.ts) for its up-front checks. */
  readonly permissions = new Permissions();
  readonly #watchers = new WatchRegistry(startWatch, 0, (t) => this.unrefTimer(t));
  #hostname?: string;
  #commandLine?: string;

  /** os: the system to judge (a parameter for tests of another system's refusal). */
  constructor(os: string = Deno.build.os) {
    this.unsupported = unsupportedOs(os);
  }

  /** requireReadWrite checks both permissions for a file that will be opened read-write. */
  #requireReadWrite(path: string): void {
    this.permissions.requirePath("read", path, dirOf(path));
    this.permissions.requirePath("write", path, dirOf(path));
  }

  /** deno runs a Deno API call, turning a missing permission into a clear EPERM and other failures into errno codes. */
  #deno<T>(kind: "read" | "write", syscall: string, path: string, scope: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (isNotCapable(err)) throw this.permissions.denied(kind === "read" ? "--allow-read" : "--allow-write", `${kind} access to ${path}`, scope, err);
      throw withCode(err, syscall, path);
    }
  }

  // ---- files ----

  openSlot(path: string): number {
    this.#requireReadWrite(path);
    return libc.openFile(path, libc.OPEN_FLAGS.create, 0o666);
  }

  openReadWrite(path: string): number {
    this.#requireReadWrite(path);
    return libc.openFile(path, libc.OPEN_FLAGS.readWrite);
  }

  openExisting(path: string): { fd: number; writable: boolean } {
    this.#requireReadWrite(path);
    return openExistingWith(() => libc.openFile(path, libc.OPEN_FLAGS.readWrite), () => libc.openFile(path, libc.OPEN_FLAGS.readOnly));
  }

  openUnnamed(dir: string): number | undefined {
    // Only where access is granted already: a warm-up never asks the user.
    for (const name of ["read", "write"] as const) if (Deno.permissions.querySync({ name, path: dir }).state !== "granted") return undefined;
    try {
      return libc.openFile(dir, libc.OPEN_FLAGS.unnamed, 0o600);
    } catch {
      return undefined; // a filesystem without unnamed files (EOPNOTSUPP)
    }
  }

  tryLock(fd: number, range: ByteRange, shared: boolean): boolean {
    return libc.setLock(fd, shared ? libc.F_RDLCK : libc.F_WRLCK, range);
  }

  unlock(fd: number, range: ByteRange): void {
    libc.setLock(fd, libc.F_UNLCK, range);
  }

  close(fd: number): void {
    libc.closeFd(fd);
  }

  fstat(fd: number): FileStat {
    return libc.statFd(fd);
  }

  lstat(path: string): FileStat | undefined {
    // Through libc, not Deno.lstatSync: Deno reports dev and ino as doubles, and
    // inode numbers past 2^53 (overlayfs with xino) would compare equal by accident.
    this.permissions.requirePath("read", path, dirOf(path));
    try {
      return libc.statPath(path, false);
    } catch (err) {
      if ((err as SystemError).code === "ENOENT") return undefined;
      throw err;
    }
  }

  fchmod(fd: number, mode: number): void {
    libc.chmodFd(fd, mode);
  }

  writeHead(fd: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += libc.writeAt(fd, bytes.subarray(done), done);
  }

  truncate(fd: number, length: number): void {
    libc.truncateFd(fd, length);
  }

  readHead(fd: number, max: number): Uint8Array {
    const buf = new Uint8Array(max);
    let got = 0;
    while (got < max) {
      const n = libc.readAt(fd, buf.subarray(got), got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  }

  unlink(path: string): void {
    // Deno.removeSync unlinks a file (it would also remove an empty directory, but
    // the backend only ever unlinks a slot file it has just identified by inode).
    this.#deno("write", "unlink", path, dirOf(path), () => Deno.removeSync(path));
  }

  readdir(dir: string): string[] {
    return this.#deno("read", "scandir", dir, dir, () => Array.from(Deno.readDirSync(dir), (e) => e.name));
  }

  rmdir(path: string): void {
    // Deno.removeSync without `recursive` removes only an empty directory.
    this.#deno("write", "rmdir", path, dirOf(path), () => Deno.removeSync(path));
  }

  mkdir(path: string, mode: number): void {
    this.#deno("write", "mkdir", path, path, () => {
      Deno.mkdirSync(path, { mode });
      Deno.chmodSync(path, mode); // mkdir applies the umask; a shared directory must really be 1777
    });
  }

  canWrite(dir: string): boolean {
    this.permissions.requirePath("write", dir, dir);
    return libc.accessible(dir, libc.ACCESS_WRITE_SEARCH);
  }

  watch(dir: string, onChange: (filename: string | undefined) => void): () => void {
    try {
      return this.#watchers.add(dir, onChange);
    } catch {
      return () => undefined; // no watch here (no inotify, no permission): waiters rely on their poll
    }
  }

  watchFile(path: string, onChange: () => void): (() => void) | undefined {
    try {
      return startWatch(path, () => onChange(), () => undefined); // closed by its waiter as soon as it is done
    } catch {
      return undefined;
    }
  }

  // ---- this process and others ----

  uid(): number {
    return libc.getUid(); // what Node's process.getuid() returns; Deno.uid() would need --allow-sys
  }

  hostname(): string {
    return (this.#hostname ??= libc.getHostname()); // Deno.hostname() would need --allow-sys
  }

  commandLine(): string {
    return (this.#commandLine ??= ownCommandLine());
  }

  env(name: string): string | undefined {
    try {
      return Deno.env.get(name);
    } catch (err) {
      // Ignoring WAITLOCK_DIR or WAITLOCK_BACKEND would put this process's locks in
      // another place than Node's, where neither would see the other: refuse instead.
      if (isNotCapable(err)) throw this.permissions.denied("--allow-env", `reading the environment variable ${name}`, "WAITLOCK_BACKEND,WAITLOCK_DIR,HOME", err);
      throw err;
    }
  }

  homeDir(): string | undefined {
    try {
      return Deno.env.get("HOME") || undefined;
    } catch {
      // Without it the last automatic candidate is simply missing: the search can
      // then fail, but never pick a directory Node would not.
      return undefined;
    }
  }

  processStartTime(pid: number): number | undefined {
    try {
      return startTimeFrom(readProcText(`/proc/${pid}/stat`));
    } catch {
      return undefined;
    }
  }

  kill(pid: number, signal: string): void {
    try {
      Deno.kill(pid, signal as Deno.Signal);
    } catch (err) {
      if (isNotCapable(err)) throw this.permissions.denied("--allow-run", `sending ${signal} to PID ${pid}`, undefined, err);
      const coded = withCode(err, "kill") as { code?: string };
      // Deno reports a missing process as NotFound; errno calls it ESRCH.
      if (coded.code === "ENOENT") throw libc.systemError("ESRCH", "kill");
      throw coded;
    }
  }

  holdsLock(pid: number, id: FileId): LockProof {
    return proveHolder(procReader, pid, id);
  }

  holdsLockProver(): (pid: number, id: FileId) => LockProof {
    return holderProver(procReader);
  }

  lockHolders(id: FileId): { pids: number[]; hidden: number } {
    return findHolders(procReader, id);
  }

  unrefTimer(timer: unknown): void {
    if (typeof timer === "number") Deno.unrefTimer(timer);
  }

  cpuLimits(): { affinity: number; quotaUs: number; periodUs: number } {
    const affinity = libc.affinityCount() ?? navigator.hardwareConcurrency;
    return { affinity, ...readCgroupQuota(readProcText) };
  }
}
