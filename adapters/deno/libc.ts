// The few libc calls the Deno platform makes through FFI, with their struct
// layouts and errno handling in one place.
//
// Why libc at all: Node takes open-file-description (OFD) locks (fcntl
// F_OFD_SETLK) through fs-native-extensions, and Deno's own FsFile.lock() is
// flock(2), which on Linux does not conflict with OFD locks. Two runtimes that
// must exclude each other have to take the same lock, so Deno calls fcntl
// itself. Deno 2 does not expose an FsFile's raw fd, so the files whose fds we
// lock are opened, read, written and closed through libc too.
//
// Linux with glibc only (x86_64 and aarch64): the locks are OFD locks, which
// other systems do not have (../supported-os.ts); libc() refuses elsewhere
// rather than guessing at layouts.
//
// Every layout used below is the same on x86_64 and aarch64 Linux: struct flock
// (32 bytes), struct statx (256 bytes, fixed by the kernel for all
// architectures) and struct dirent64. Only O_NOFOLLOW differs, see OPEN_FLAGS.
import { WaitlockError } from "../errors.ts";
import { unsupportedOs } from "../supported-os.ts";
import type { ByteRange, FileStat, SystemError } from "../platform.ts";

const SYMBOLS = {
  // open and fcntl are variadic in C. On x86_64 and aarch64 Linux a variadic int
  // or pointer argument is passed exactly like a fixed one, so a fixed
  // three-argument signature is a correct call.
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  // off_t is 64 bits on both architectures, so pread/pwrite/ftruncate take the full i64 offset.
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  // statx rather than fstat/lstat: its struct is the same on every architecture,
  // and glibc has exported it since 2.28 (fstat and lstat only since 2.33).
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  access: { parameters: ["buffer", "i32"], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  gethostname: { parameters: ["buffer", "usize"], result: "i32" },
  sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir64: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

// open(2) flags. O_NOFOLLOW is the one value that differs between the two
// architectures (asm-generic vs x86 headers).
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_CREAT = 0o100;
const O_APPEND = 0o2000;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const O_NOFOLLOW = Deno.build.arch === "aarch64" ? 0o100000 : 0o400000;
/** O_TMPFILE: __O_TMPFILE with O_DIRECTORY, which differs between the two as O_NOFOLLOW does. */
const O_TMPFILE = 0o20000000 | (Deno.build.arch === "aarch64" ? 0o40000 : 0o200000);

/** Flags for openFile: read-write (creating), read-write (existing), read-only or appending; never follow, never block, never leak into children. */
export const OPEN_FLAGS = {
  create: O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
  readWrite: O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
  readOnly: O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
  /** A new unnamed file in the directory given (Platform.openUnnamed). */
  unnamed: O_RDWR | O_TMPFILE | O_CLOEXEC,
  /** Appending (creating): the events file (pwrite on an O_APPEND file writes at its end, on Linux). */
  append: O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
  /** For /proc and /sys files, where the path goes through the /proc/self symlink. */
  readProc: O_RDONLY | O_CLOEXEC,
} as const;

const F_OFD_SETLK = 37;
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
const SEEK_SET = 0;

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

const W_OK = 2;
const X_OK = 1;
export const ACCESS_WRITE_SEARCH = W_OK | X_OK;

/** errno names by number (Linux, identical on x86_64 and aarch64). */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 9: "EBADF",
  11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV",
  19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE",
  26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 30: "EROFS", 36: "ENAMETOOLONG", 37: "ENOLCK",
  38: "ENOSYS", 40: "ELOOP", 75: "EOVERFLOW", 95: "EOPNOTSUPP", 116: "ESTALE", 122: "EDQUOT",
};

interface Loaded {
  sym: Symbols;
  /** This thread's errno (errno[0]), read straight after a failed call: nothing in between can change it. */
  errno: Int32Array;
}

let loaded: Loaded | undefined;

/** libc opens libc once, on first use, so importing the module needs no permission. */
function libc(): Loaded {
  if (loaded) return loaded;
  const unsupported = unsupportedOs(Deno.build.os);
  if (unsupported) throw new WaitlockError("ESYSTEM", unsupported);
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) {
      throw new WaitlockError("EPERM", "Deno did not allow loading libc through FFI, which waitlock needs to take the same kernel locks as Node: run deno with --allow-ffi (waitlock needs --allow-read --allow-write --allow-ffi --allow-env, and --allow-run for signalHolders)", { cause: err });
    }
    throw new WaitlockError("ESYSTEM", `cannot load glibc (libc.so.6) through FFI: ${(err as Error).message}`, { cause: err });
  }
  // errno is thread-local; Deno calls FFI symbols on the JS thread, so its address is fixed.
  const where = lib.symbols.__errno_location();
  if (where === null) throw new Error("libc __errno_location returned NULL");
  loaded = { sym: lib.symbols, errno: new Int32Array(Deno.UnsafePointerView.getArrayBuffer(where, 4)) };
  return loaded;
}

/** loadLibc opens libc now (for a permission check up front). */
export function loadLibc(): void {
  libc();
}

/** systemError builds an error shaped like Node's: code "ENOENT", errno -2, syscall, path. */
export function systemError(code: string, syscall: string, path?: string, errno?: number): SystemError {
  const where = path === undefined ? syscall : `${syscall} '${path}'`;
  return Object.assign(new Error(`${code}: ${where}`), { code, errno: errno === undefined ? undefined : -errno, syscall, path });
}

/** lastError turns the errno of the call that just failed into a SystemError. */
function lastError(syscall: string, path?: string): SystemError {
  const n = libc().errno[0];
  return systemError(ERRNO_NAMES[n] ?? `E${n}`, syscall, path, n);
}

const EINTR = 4;

/** call runs a libc call returning -1 on failure, retrying while a signal interrupts it. */
function call(syscall: string, path: string | undefined, fn: () => number | bigint): number {
  for (;;) {
    const r = Number(fn());
    if (r !== -1) return r;
    if (libc().errno[0] !== EINTR) throw lastError(syscall, path);
  }
}

const encoder = new TextEncoder();

/** cString encodes a path for C; a NUL inside would silently cut it short, so it is refused. */
function cString(path: string, syscall: string): Uint8Array {
  if (path.includes("\0")) throw systemError("EINVAL", syscall, path.replaceAll("\0", "\\0"));
  return encoder.encode(path + "\0");
}

export function openFile(path: string, flags: number, mode = 0): number {
  const { sym } = libc();
  const cpath = cString(path, "open");
  return call("open", path, () => sym.open(cpath, flags, mode));
}

export function closeFd(fd: number): void {
  // Never retry close on EINTR: on Linux the fd is already gone and may be reused.
  const { sym } = libc();
  if (sym.close(fd) === -1) throw lastError("close");
}

/**
 * setLock applies an OFD lock (or F_UNLCK) to range with F_OFD_SETLK, never
 * waiting. Returns false when another open file description holds a
 * conflicting lock (EAGAIN, EACCES or EBUSY, as fs-native-extensions treats them).
 */
export function setLock(fd: number, type: number, range: ByteRange): boolean {
  const { sym } = libc();
  const flock = new Uint8Array(32); // zeroed: l_pid must be 0 for OFD locks
  const view = new DataView(flock.buffer);
  view.setInt16(0, type, true); // l_type
  view.setInt16(2, SEEK_SET, true); // l_whence
  view.setBigInt64(8, BigInt(range.offset), true); // l_start
  view.setBigInt64(16, BigInt(range.length), true); // l_len
  try {
    call("fcntl", undefined, () => sym.fcntl(fd, F_OFD_SETLK, flock));
    return true;
  } catch (err) {
    const code = (err as SystemError).code;
    if (type !== F_UNLCK && (code === "EAGAIN" || code === "EACCES" || code === "EBUSY")) return false;
    throw err;
  }
}

/** makedev packs a device number the way glibc's st_dev does, so ids look like Node's. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** parseStatx reads what Platform needs from a struct statx; ino and dev stay exact 64-bit values. */
function parseStatx(buf: Uint8Array): FileStat {
  const v = new DataView(buf.buffer);
  const mode = v.getUint16(0x1c, true);
  const type = mode & S_IFMT;
  return {
    dev: makedev(v.getUint32(0x88, true), v.getUint32(0x8c, true)),
    ino: v.getBigUint64(0x20, true),
    kind: type === S_IFREG ? "file" : type === S_IFDIR ? "directory" : type === S_IFLNK ? "symlink" : "other",
    size: Number(v.getBigUint64(0x28, true)),
    uid: v.getUint32(0x14, true),
    mode: mode & 0o7777,
    nlink: v.getUint32(0x10, true),
  };
}

const EMPTY_PATH = new Uint8Array(1);

export function statFd(fd: number): FileStat {
  const { sym } = libc();
  const buf = new Uint8Array(256);
  call("fstat", undefined, () => sym.statx(fd, EMPTY_PATH, AT_EMPTY_PATH, STATX_BASIC_STATS, buf));
  return parseStatx(buf);
}

/** statPath stats path itself (follow=false, like lstat) or what it points to (follow=true, like stat). */
export function statPath(path: string, follow: boolean): FileStat {
  const { sym } = libc();
  const cpath = cString(path, follow ? "stat" : "lstat");
  const buf = new Uint8Array(256);
  const flags = follow ? 0 : AT_SYMLINK_NOFOLLOW;
  call(follow ? "stat" : "lstat", path, () => sym.statx(AT_FDCWD, cpath, flags, STATX_BASIC_STATS, buf));
  return parseStatx(buf);
}

/** readAt reads up to buf.length bytes at offset; returns how many (0 at end of file). */
export function readAt(fd: number, buf: Uint8Array, offset: number): number {
  const { sym } = libc();
  return call("read", undefined, () => sym.pread(fd, buf, BigInt(buf.length), BigInt(offset)));
}

/** writeAt writes some of bytes at offset; returns how many. */
export function writeAt(fd: number, bytes: Uint8Array, offset: number): number {
  const { sym } = libc();
  return call("write", undefined, () => sym.pwrite(fd, bytes, BigInt(bytes.length), BigInt(offset)));
}

export function truncateFd(fd: number, length: number): void {
  const { sym } = libc();
  call("ftruncate", undefined, () => sym.ftruncate(fd, BigInt(length)));
}

export function chmodFd(fd: number, mode: number): void {
  const { sym } = libc();
  call("fchmod", undefined, () => sym.fchmod(fd, mode));
}

/** accessible is access(2): true if the real user may use path in the given way. */
export function accessible(path: string, mode: number): boolean {
  const { sym } = libc();
  return sym.access(cString(path, "access"), mode) === 0;
}

export function getUid(): number {
  return libc().sym.getuid();
}

/** getHostname is gethostname(2), the very call behind Node's os.hostname(), so records compare equal. */
export function getHostname(): string {
  const { sym } = libc();
  const buf = new Uint8Array(256);
  call("gethostname", undefined, () => sym.gethostname(buf, BigInt(buf.length - 1)));
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
}

/** affinityCount is the number of CPUs this process may run on (what Node's os.availableParallelism() reports). */
export function affinityCount(): number | undefined {
  const { sym } = libc();
  const mask = new Uint8Array(128); // 1024 CPUs, glibc's cpu_set_t
  if (sym.sched_getaffinity(0, BigInt(mask.length), mask) !== 0) return undefined;
  let n = 0;
  for (let b of mask) for (; b; b &= b - 1) n++;
  return n || undefined;
}

/** readWhole reads a small file (a /proc or /sys entry) completely. */
export function readWhole(path: string): Uint8Array {
  const fd = openFile(path, OPEN_FLAGS.readProc);
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(4096);
      const n = readAt(fd, chunk, total);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    return bytes;
  } finally {
    closeFd(fd);
  }
}

/** listDirectory lists a directory's entry names through opendir/readdir64 (used for /proc/<pid>/fd). */
export function listDirectory(path: string): string[] {
  const { sym, errno } = libc();
  const dir = sym.opendir(cString(path, "opendir"));
  if (dir === null) throw lastError("opendir", path);
  try {
    const names: string[] = [];
    for (;;) {
      errno[0] = 0; // readdir64 returns NULL both at the end and on error; only errno tells them apart
      const entry = sym.readdir64(dir);
      if (entry === null) {
        if (errno[0] !== 0) throw lastError("readdir", path);
        break;
      }
      const name = new Deno.UnsafePointerView(entry).getCString(19); // struct dirent64: d_name at offset 19
      if (name !== "." && name !== "..") names.push(name);
    }
    return names;
  } finally {
    sym.closedir(dir);
  }
}
