// The public library API, written once over a LockBackend. The Node and Deno
// entry points only choose the Platform and the WASM loader.
import { DEFAULT_LEASE_SECONDS, type HeldSlot, type LockBackend, type SlotInfo, type SlotRequest } from "./backend.ts";
import { parseBackendUrl } from "./backend-url.ts";
import { WaitlockError } from "./errors.ts";
import { FileBackend } from "./file-backend.ts";
import type { NetworkSupport } from "./http.ts";
import { eventsSetting, type EventSink, type EventSinkFactory } from "./events.ts";
import { resolveLockDir } from "./lock-dir.ts";
import { DEFAULT_POLL_MS } from "./poll-wait.ts";
import type { Platform } from "./platform.ts";
import { LazyServerBackend } from "./lazy-server-backend.ts";
import type { Core, LockRecord } from "./wasm-core.ts";
import { MAX_HOLDERS } from "../assembly/codes.ts";

/** The largest semaphore (each slot is a file), the same number the core enforces. */
export { MAX_HOLDERS };

export { DEFAULT_POLL_MS };
export type { NetworkSupport };
export { DEFAULT_LEASE_SECONDS };
/** How often a lock bound to another process checks that the owner still lives. */
const OWNER_CHECK_MS = 100;

export interface LockDirOption {
  /** The lock directory; default: WAITLOCK_DIR, else the first usable of /var/lock/waitlock, /tmp/waitlock, ~/.waitlock. */
  lockDir?: string;
  /**
   * Where locks live, as a URL: file:///DIR (same as lockDir), etcd://HOST:PORT[,…][/PREFIX],
   * etcds://… (TLS), redis://[USER:PASS@]HOST:PORT[/DB][?prefix=P], rediss://… (TLS).
   * Default: WAITLOCK_BACKEND, else the lock directory. Not with lockDir.
   */
  backend?: string;
}

export interface AcquireOptions extends LockDirOption {
  /** A counting semaphore of this many slots (default 1: a mutex). */
  maxHolders?: number;
  /** The slot to try first (e.g. the one this job used last time). */
  preferredSlot?: number;
  /** Milliseconds to wait; Infinity (the default for acquire) waits forever, 0 tries once. */
  timeout?: number;
  /** Stops waiting (rejects with code EABORTED). */
  signal?: AbortSignal;
  /** A shared (read) lock: any number of shared holders, or one exclusive holder. */
  shared?: boolean;
  /** A PID whose life bounds the lock: released soon after it exits (default: this process). */
  owner?: number;
  /** The command line recorded for listings (default: this process's). */
  command?: string;
  /** Mean interval of the safety poll in ms (default 50), for holders that die without a file event. */
  pollInterval?: number;
  /** Seconds a network lock's lease lasts without renewal (default 10; ignored by the lock directory). */
  lease?: number;
}

export interface CheckOptions extends LockDirOption {
  /** The slot count to ask about; default: the one the current holders took it with (1 if none). */
  maxHolders?: number;
  shared?: boolean;
}

export interface ListOptions extends LockDirOption {
  /** Only this descriptor. */
  descriptor?: string;
  /** Also stale and corrupt entries. */
  all?: boolean;
  /** Only stale and corrupt entries. */
  staleOnly?: boolean;
  /** Also find who really holds a lock when its record's holder does not (LockInfo.holders; default true); false only counts. */
  findHolders?: boolean;
}

export interface LockInfo extends SlotInfo {
  /** How long the holder has held it, by its record (held entries with a record only). */
  heldForMs?: number;
}

/** @internal Where a lock records its release (docs/METRICS.md), and since when it is held. */
export interface LockEvents {
  sink: EventSink;
  /** Date.now() when acquired. */
  acquiredAt: number;
}

/** Lock is a held slot. Release it with release() or `await using`. */
export class Lock {
  readonly descriptor: string;
  /** The slot held, 0 … maxHolders − 1. */
  readonly slot: number;
  /** Where the lock lives (the lock directory). */
  readonly location: string;
  /**
   * A fencing token, strictly greater than every earlier holder's of this
   * descriptor: pass it to what the lock protects so it can refuse a stale
   * holder. Undefined on the lock directory, which has none.
   */
  readonly fence: bigint | undefined;
  readonly #held: HeldSlot;
  readonly #stopOwnerWatch: () => void;
  #releasing: Promise<void> | undefined;
  #never: AbortSignal | undefined;
  /** @internal Where this lock's release is recorded (undefined: not recorded). */
  readonly events: LockEvents | undefined;

  /** @internal Locks are made by acquire and tryAcquire. */
  constructor(descriptor: string, location: string, held: HeldSlot, stopOwnerWatch: () => void, events?: LockEvents) {
    this.descriptor = descriptor;
    this.slot = held.slot;
    this.location = location;
    this.#held = held;
    this.#stopOwnerWatch = stopOwnerWatch;
    this.fence = held.fence;
    this.events = events;
    if (events && held.lost) {
      held.lost.addEventListener("abort", () => {
        if (!this.released) events.sink.record("lost", descriptor, Date.now() - events.acquiredAt);
      }, { once: true });
    }
  }

  /**
   * Aborts with a WaitlockError of code ELOST if the lock is lost (a network
   * lock's lease ran out). A lock that cannot be lost gets a signal that never
   * aborts, made on first use: most callers never ask, and an AbortController
   * per lock is a measurable share of an uncontended acquire + release.
   */
  get signal(): AbortSignal {
    return this.#held.lost ?? (this.#never ??= new AbortController().signal);
  }

  /** Resolves with the ELOST error if the lock is lost; never settles for a lock that cannot be. */
  get lost(): Promise<WaitlockError> {
    const signal = this.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(signal.reason as WaitlockError);
      signal.addEventListener("abort", () => resolve(signal.reason as WaitlockError), { once: true });
    });
  }

  /** The lease behind a network lock (for a process that keeps it alive), undefined for files. */
  get lease(): HeldSlot["lease"] {
    return this.#held.lease;
  }

  get released(): boolean {
    return this.#releasing !== undefined;
  }

  /**
   * The open files whose kernel locks are this hold (slot file, then a shared
   * holder's record file), for handing to a child process; empty once released.
   */
  get fds(): readonly number[] {
    return this.released ? [] : this.#held.fds;
  }

  /** The record of the dead holder whose stale slot this lock took over (null: unreadable), if any. */
  get tookOver(): LockRecord | null | undefined {
    return this.#held.tookOver;
  }

  /** The file that holds this holder's record, if the backend uses files. */
  get recordPath(): string | undefined {
    return this.#held.recordPath;
  }

  /** Rewrites the record (e.g. when another process takes over as holder). */
  async updateRecord(changes: Parameters<HeldSlot["rewrite"]>[0]): Promise<void> {
    if (this.released) throw new WaitlockError("EUSAGE", `lock ${this.descriptor} is already released`);
    await this.#held.rewrite(changes);
  }

  /**
   * release gives the slot up. Calling it again starts nothing new and
   * settles with the first call: on a server, once the slot is handed on.
   */
  release(): Promise<void> {
    if (this.#releasing) return this.#releasing;
    // #releasing is set before anything that could call back in, and the release
    // starts at once: not a microtask turn later, on the way to the next holder.
    let settle!: (ended: void | Promise<void>) => void;
    let fail!: (err: unknown) => void;
    this.#releasing = new Promise<void>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    try {
      this.#stopOwnerWatch();
      const ended = this.#held.release();
      // A hold that ends at once (a file's) settles now: no promise chained for it.
      if (ended instanceof Promise) {
        settle(ended.then(() => this.#recordRelease()));
      } else {
        this.#recordRelease();
        settle();
      }
    } catch (err) {
      fail(err);
    }
    return this.#releasing;
  }

  #recordRelease(): void {
    const e = this.events;
    if (e && !this.#held.lost?.aborted) e.sink.record("released", this.descriptor, Date.now() - e.acquiredAt);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

function usage(message: string): WaitlockError {
  return new WaitlockError("EUSAGE", message);
}

function isWholeNumber(v: unknown, min: number, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

export interface Waitlock {
  acquire(descriptor: string, options?: AcquireOptions): Promise<Lock>;
  tryAcquire(descriptor: string, options?: Omit<AcquireOptions, "timeout" | "signal">): Promise<Lock | undefined>;
  check(descriptor: string, options?: CheckOptions): Promise<boolean>;
  list(options?: ListOptions): Promise<LockInfo[]>;
  signalHolders(descriptor: string, signal?: string, options?: LockDirOption): Promise<number[]>;
  /** The WASM core this instance uses (validation, records, CPU math). */
  readonly core: Core;
  readonly platform: Platform;
  /** The backend a lockDir or backend option names (resolving the default directory). */
  backend(where?: string | LockDirOption): LockBackend;
  /** Lets go of every server connection made so far (held locks stay held), so the process may exit. */
  close(): void;
}

function nothingToStop(): void {}

/** createWaitlock builds the API for one runtime. */
export function createWaitlock(platform: Platform, core: Core, net?: NetworkSupport, events?: EventSinkFactory): Waitlock {
  /** Server backends by URL, each made once (parsing the URL only then); the lock directory's are below. */
  const servers = new Map<string, LazyServerBackend>();
  const sinks = new Map<LockBackend, EventSink | undefined>();
  const unsupported = platform.unsupported;
  let selfStart: number | undefined; // this process's start time never changes: read /proc once

  // The lock directory's backends by the option, and by WAITLOCK_DIR when there
  // is none: looked up by the string as given (a key built per call is a
  // measurable share of an uncontended acquire + release).
  const byLockDir = new Map<string, LockBackend>();
  const byEnvDir = new Map<string, LockBackend>();

  function fileBackend(lockDir?: string): LockBackend {
    const made = lockDir ? byLockDir : byEnvDir;
    const key = lockDir || (platform.env("WAITLOCK_DIR") ?? "");
    let b = made.get(key);
    if (!b) {
      b = new FileBackend(platform, core, resolveLockDir(platform, lockDir));
      made.set(key, b);
    }
    return b;
  }

  /** backend: the backend option, else WAITLOCK_BACKEND, else the lock directory (option, WAITLOCK_DIR, default). */
  function backend(where: string | LockDirOption = {}): LockBackend {
    // Every operation starts here: on a system without the locks waitlock needs, refuse before touching anything.
    if (unsupported !== undefined) throw new WaitlockError("ESYSTEM", unsupported);
    const o: LockDirOption = typeof where === "string" ? { lockDir: where } : where;
    if (o.backend !== undefined && o.lockDir !== undefined) throw usage("give either backend or lockDir, not both");
    const url = o.backend ?? (o.lockDir === undefined ? platform.env("WAITLOCK_BACKEND") || undefined : undefined);
    if (url === undefined) return fileBackend(o.lockDir);
    if (typeof url !== "string") throw usage("backend must be a URL string");
    const made = servers.get(url);
    if (made) return made;
    const target = parseBackendUrl(url, (n) => platform.env(n));
    if (target.kind === "file") return fileBackend(target.dir);
    if (!net) throw new WaitlockError("EUSAGE", `this runtime cannot reach ${target.display} (no network support)`);
    const b = new LazyServerBackend(target, net, platform);
    servers.set(url, b);
    return b;
  }

  let lastValid: string | undefined; // a process asks for the same descriptor again and again: check it once

  function checkDescriptor(descriptor: unknown): string {
    if (typeof descriptor !== "string") throw usage("descriptor must be a string");
    if (descriptor === lastValid) return descriptor;
    const problem = core.descriptorProblem(descriptor);
    if (problem) throw usage(`invalid descriptor ${JSON.stringify(descriptor.length > 60 ? descriptor.slice(0, 60) + "…" : descriptor)}: ${problem}`);
    lastValid = descriptor;
    return descriptor;
  }

  function checkMaxHolders(n: unknown = 1): number {
    if (!isWholeNumber(n, 1, MAX_HOLDERS)) throw usage(`maxHolders must be a whole number from 1 to ${MAX_HOLDERS}, not ${String(n)}`);
    return n;
  }

  function request(descriptor: string, o: AcquireOptions): SlotRequest {
    const maxHolders = checkMaxHolders(o.maxHolders);
    if (o.preferredSlot !== undefined && !isWholeNumber(o.preferredSlot, 0, maxHolders - 1)) {
      throw usage(`preferredSlot must be a slot from 0 to ${maxHolders - 1}, not ${String(o.preferredSlot)}`);
    }
    if (o.shared && maxHolders !== 1) throw usage("a shared lock cannot also be a semaphore (maxHolders must be 1)");
    const ownerPid = o.owner ?? platform.pid;
    if (!isWholeNumber(ownerPid, 1, 0xffffffff)) throw usage(`owner must be a process ID, not ${String(o.owner)}`);
    const ownerStart = ownerPid === platform.pid
      ? (selfStart ??= platform.processStartTime(ownerPid))
      : platform.processStartTime(ownerPid);
    if (ownerStart === undefined && ownerPid !== platform.pid) throw usage(`owner PID ${ownerPid} is not running`);
    return {
      descriptor: checkDescriptor(descriptor), maxHolders, preferredSlot: o.preferredSlot, shared: !!o.shared,
      holderPid: platform.pid, ownerPid, ownerStart: ownerStart ?? 0,
      command: o.command ?? platform.commandLine(),
      leaseSeconds: checkLease(o.lease),
    };
  }

  function checkLease(seconds: unknown = DEFAULT_LEASE_SECONDS): number {
    if (!(typeof seconds === "number" && Number.isInteger(seconds) && seconds >= 1 && seconds <= 86400)) {
      throw usage(`lease must be a whole number of seconds from 1 to 86400, not ${String(seconds)}`);
    }
    return seconds;
  }

  /** watchOwner releases the lock once its owner (another process) is gone. */
  function watchOwner(req: SlotRequest, release: () => Promise<void>): () => void {
    const timer = setInterval(() => {
      if (platform.processStartTime(req.ownerPid) !== req.ownerStart) {
        clearInterval(timer);
        void release().catch(() => undefined);
      }
    }, OWNER_CHECK_MS);
    platform.unrefTimer(timer); // the lock lives with this process; it must not keep it alive
    return () => clearInterval(timer);
  }

  /**
   * sinkOf: where b's events are recorded (docs/METRICS.md), decided once per
   * backend: WAITLOCK_EVENTS=off, nowhere; a directory there, in it; else a lock
   * directory's own. Undefined when the runtime records nothing.
   */
  function sinkOf(b: LockBackend): EventSink | undefined {
    if (!events) return undefined;
    if (sinks.has(b)) return sinks.get(b);
    let sink: EventSink | undefined;
    try {
      let value: string | undefined;
      try {
        value = platform.env("WAITLOCK_EVENTS");
      } catch {
        value = undefined; // not allowed to read it (Deno): as if unset
      }
      const setting = eventsSetting(value);
      const dir = "off" in setting ? undefined : setting.dir ?? (b instanceof FileBackend ? b.location : undefined);
      sink = dir === undefined ? undefined : events(dir);
    } catch {
      sink = undefined; // recording must never make a lock operation fail
    }
    sinks.set(b, sink);
    return sink;
  }

  function wrap(b: LockBackend, req: SlotRequest, held: HeldSlot, waitedMs: number): Lock {
    let lock: Lock | undefined = undefined;
    // A lock this process owns needs no watch (nor closures made for one: this is the hot path).
    const stop = req.ownerPid === platform.pid ? nothingToStop : watchOwner(req, () => lock!.release());
    const sink = sinkOf(b);
    if (sink) {
      sink.record("acquired", req.descriptor, waitedMs);
      if (held.tookOver !== undefined) sink.record("stale", req.descriptor, 0);
    }
    lock = new Lock(req.descriptor, b.location, held, stop, sink && { sink, acquiredAt: Date.now() });
    return lock;
  }

  async function acquire(descriptor: string, options: AcquireOptions = {}): Promise<Lock> {
    const req = request(descriptor, options);
    const timeout = options.timeout ?? Infinity;
    if (!(typeof timeout === "number" && timeout >= 0)) throw usage(`timeout must be a number of milliseconds >= 0 or Infinity, not ${String(timeout)}`);
    if (options.signal?.aborted) {
      throw new WaitlockError("EABORTED", `not waiting for ${req.descriptor}: aborted`, { cause: options.signal.reason });
    }
    const b = backend(options);
    // Where events go is decided (once per backend) before any waiting, not
    // between a release and the next holder's return.
    const sink = sinkOf(b);
    let held: HeldSlot | undefined;
    const started = performance.now();
    if (timeout === 0) {
      held = await b.tryAcquire(req);
    } else {
      try {
        const got = b.acquire(req, { deadline: started + timeout, signal: options.signal, pollMs: options.pollInterval });
        if (got instanceof Promise) {
          sink?.warm?.(req.descriptor); // it waits: record its grant's event once for nothing meanwhile
          held = await got;
        } else {
          held = got; // a slot taken at once: no turn of the event loop
        }
      } catch (err) {
        if (err instanceof WaitlockError && err.code === "ETIMEDOUT") {
          sink?.record("timeout", req.descriptor, performance.now() - started);
          throw new WaitlockError("ETIMEDOUT", `timed out after ${timeout / 1000} s waiting for ${req.descriptor}`, { cause: err });
        }
        throw err;
      }
    }
    if (!held) {
      sink?.record("conflict", req.descriptor, 0);
      const what = req.maxHolders > 1 ? `all ${req.maxHolders} slots of ${req.descriptor} are held` : `${req.descriptor} is held by another process`;
      throw new WaitlockError("EBUSY", what);
    }
    return wrap(b, req, held, performance.now() - started);
  }

  async function tryAcquire(descriptor: string, options: Omit<AcquireOptions, "timeout" | "signal"> = {}): Promise<Lock | undefined> {
    const req = request(descriptor, options);
    const b = backend(options);
    const held = await b.tryAcquire(req);
    if (!held) sinkOf(b)?.record("conflict", req.descriptor, 0);
    return held && wrap(b, req, held, 0);
  }

  async function check(descriptor: string, options: CheckOptions = {}): Promise<boolean> {
    const d = checkDescriptor(descriptor);
    const b = backend(options);
    // Without maxHolders, the question is about the lock as its holders take it: their records say N.
    const maxHolders = options.maxHolders === undefined && !options.shared ? await heldAs(b, d) : checkMaxHolders(options.maxHolders);
    return b.check({ descriptor: d, maxHolders, shared: !!options.shared });
  }

  /** heldAs: the slot count descriptor's holders and waiters took it with (1 when none says). */
  async function heldAs(b: LockBackend, descriptor: string): Promise<number> {
    for (const e of await b.list({ descriptor })) {
      const n = e.record?.maxHolders;
      if (e.status === "active" && n !== undefined && isWholeNumber(n, 1, MAX_HOLDERS)) return n;
    }
    return 1;
  }

  async function list(options: ListOptions = {}): Promise<LockInfo[]> {
    if (options.descriptor !== undefined) checkDescriptor(options.descriptor);
    const now = Date.now();
    return (await backend(options).list(options)).map((e) => {
      const heldForMs = e.record && e.status === "active" && e.kind !== "waiter" ? Math.max(0, now - e.record.acquiredAt) : undefined;
      return heldForMs === undefined ? e : { ...e, heldForMs };
    });
  }

  async function signalHolders(descriptor: string, signal = "SIGTERM", options: LockDirOption = {}): Promise<number[]> {
    return backend(options).signalHolders(checkDescriptor(descriptor), signal);
  }

  function close(): void {
    for (const b of servers.values()) b.close(); // the lock directory holds no connections
  }

  return { acquire, tryAcquire, check, list, signalHolders, core, platform, backend, close };
}
