// waitlock for Deno: named mutexes and counting semaphores released when their
// holder dies, on the same kernel locks as the Node package, so Deno and Node
// processes exclude each other. Usage and permissions: docs/DENO.md.
//
// Permissions (Linux):
//   --allow-read --allow-write   the lock directory (and reading build/waitlock.wasm)
//   --allow-ffi                  libc's fcntl: the OFD locks Node takes
//   --allow-env                  WAITLOCK_BACKEND, WAITLOCK_DIR and HOME (--allow-env=WAITLOCK_BACKEND,WAITLOCK_DIR,HOME is enough;
//                                add WAITLOCK_EVENTS for it to be obeyed: unreadable, it counts as unset)
//   --allow-run                  only for signalHolders (Deno guards Deno.kill with it)
//   --allow-net                  only for locks on a server (backend: "etcd://…", "redis://…";
//                                Redis also needs --allow-env unscoped: its client reads the whole environment)
// Importing this module needs none of them; a missing one fails the first call
// that needs it with a WaitlockError (code "EPERM") naming the flag to add.
import { createWaitlock, type LockDirOption, type Waitlock } from "../api.ts";
import { parseBackendUrl } from "../backend-url.ts";
import { WaitlockError, isWaitlockError } from "../errors.ts";
import { autoCandidates, resolveLockDir } from "../lock-dir.ts";
import type { Core } from "../wasm-core.ts";
import { eventSinks } from "../event-sink.ts";
import { denoEventFiles } from "./events.ts";
import { loadLibc } from "./libc.ts";
import { denoNetwork } from "./network.ts";
import { DenoPlatform } from "./platform.ts";

const platform = new DenoPlatform();
const permissions = platform.permissions;

// core.ts reads build/waitlock.wasm as it loads. It is imported here, not
// statically, so that a missing --allow-read fails the first call, not the import.
let core: Core | undefined;
let coreError: unknown;
await import("./core.ts").then((m) => (core = m.core), (err: unknown) => (coreError = err));

/** coreLoadError explains why the WASM core could not be loaded. */
function coreLoadError(err: unknown): WaitlockError {
  if (err instanceof Deno.errors.NotCapable) {
    const path = /"([^"]+)"/.exec(err.message)?.[1] ?? "build/waitlock.wasm";
    return permissions.denied("--allow-read", `read access to ${path} (waitlock's WASM core)`, path, err);
  }
  return new WaitlockError("ESYSTEM", `cannot load waitlock's WASM core: ${(err as Error)?.message ?? err} (in a source checkout, run npm run build)`, { cause: err });
}

let instance: Waitlock | undefined;

/** ready returns this process's one Waitlock, once libc and the WASM core are loaded. */
function ready(): Waitlock {
  if (instance) return instance;
  loadLibc(); // EPERM naming --allow-ffi when it is missing
  if (!core) throw coreLoadError(coreError);
  return (instance = createWaitlock(platform, core, denoNetwork, eventSinks(platform, denoEventFiles)));
}

/**
 * checkAutoDirs walks the automatic lock directories in the order Node does,
 * requiring access to each until one is usable. A candidate this process may
 * not look at must fail loudly: skipping it where Node would use it would put
 * the two runtimes' locks in different directories.
 */
function checkAutoDirs(): void {
  for (const candidate of autoCandidates(platform)) {
    permissions.requirePath("read", candidate.path, candidate.path);
    permissions.requirePath("write", candidate.path, candidate.path);
    try {
      permissions.strict(() => resolveLockDir(platform, undefined, [candidate]));
      return; // this is the directory the operation will use
    } catch (err) {
      if (!isWaitlockError(err, "ENODIR")) throw err; // not usable: the next one, as Node would
    }
  }
}

const checkedDirs = new Set<string>();

/** A network backend the options (or WAITLOCK_BACKEND) name; Deno itself guards its use with --allow-net. */
function networkBackend(o: LockDirOption | undefined): boolean {
  const url = o?.backend ?? (o?.lockDir === undefined ? platform.env("WAITLOCK_BACKEND") : undefined);
  return !!url && !/^file:/i.test(url);
}

/** forDir checks, once per lock directory setting, that Deno allows everything an operation there needs. */
function forDir(o: LockDirOption | undefined): Waitlock {
  const w = ready();
  if (networkBackend(o)) return w;
  const lockDir = o?.backend !== undefined ? (parseBackendUrl(o.backend) as { dir: string }).dir : o?.lockDir;
  const explicit = lockDir || platform.env("WAITLOCK_DIR"); // EPERM naming --allow-env when it is missing
  const key = explicit ? `dir:${explicit}` : "auto";
  if (!checkedDirs.has(key)) {
    if (explicit) {
      permissions.requirePath("read", explicit, explicit);
      permissions.requirePath("write", explicit, explicit);
    } else {
      checkAutoDirs();
    }
    checkedDirs.add(key);
  }
  return w;
}

// Async functions, so that a refusal found up front rejects like every other failure.
export const acquire: Waitlock["acquire"] = async (descriptor, options) =>
  await forDir(options).acquire(descriptor, options);

export const tryAcquire: Waitlock["tryAcquire"] = async (descriptor, options) =>
  await forDir(options).tryAcquire(descriptor, options);

export const check: Waitlock["check"] = async (descriptor, options) =>
  await forDir(options).check(descriptor, options);

export const list: Waitlock["list"] = async (options) => await forDir(options).list(options);

export const signalHolders: Waitlock["signalHolders"] = async (descriptor, signal, options) => {
  const w = forDir(options);
  permissions.requireRun("signalling lock holders (Deno.kill)");
  return await w.signalHolders(descriptor, signal, options);
};

/** The whole API as one object, like the Node entry's `waitlock`. */
export const waitlock: Waitlock = {
  acquire,
  tryAcquire,
  check,
  list,
  signalHolders,
  get core(): Core {
    return ready().core;
  },
  platform,
  backend: (where) => forDir(typeof where === "string" ? { lockDir: where } : where).backend(where),
  close: () => instance?.close(),
};

export { Lock, MAX_HOLDERS, DEFAULT_POLL_MS, DEFAULT_LEASE_SECONDS } from "../api.ts";
export type { AcquireOptions, CheckOptions, ListOptions, LockDirOption, LockInfo, Waitlock } from "../api.ts";
export { WaitlockError, isWaitlockError, EXIT_CODES } from "../errors.ts";
export type { ErrorCode } from "../errors.ts";
export { LockType } from "../wasm-core.ts";
export type { LockRecord } from "../wasm-core.ts";
