// LockBackend is what the public API (api.ts) needs from a place that keeps
// locks: the lock directory (file-backend.ts) or a server (etcd-backend.ts,
// redis-backend.ts).
// A network lock can be lost while held (its lease ran out), hands out fencing
// tokens, and waits on server events rather than polls: so waiting belongs to
// the backend, and a held slot carries a signal that aborts on loss.
import type { Platform } from "./platform.ts";
import { LockType } from "../assembly/codes.ts";
import type { LockRecord } from "./wasm-core.ts";

/** A network lock's lease when none is asked for, in seconds. */
export const DEFAULT_LEASE_SECONDS = 10;

/** Backends may answer at once (files) or over the network (a server): callers always await. */
export type Awaitable<T> = T | Promise<T>;

/** What a server backend needs of the runtime: who is asking, and how to signal itself. */
export type BackendHost = Pick<Platform, "hostname" | "uid" | "pid" | "kill" | "unrefTimer">;

/** What a holder or waiter on a server says about itself, kept with its entry for listings and --done answers. */
export interface HolderInfo {
  host: string;
  uid: number;
  pid: number;
  ownerPid: number;
  ownerStart: number;
  command: string;
}

/** lockTypeOf is the record type of a request of this shape, on every backend. */
export function lockTypeOf(r: { maxHolders: number; shared: boolean }): LockType {
  return r.shared ? LockType.Shared : r.maxHolders === 1 ? LockType.Mutex : LockType.Semaphore;
}

/** A request as a lock server's protocol takes it: the shape, the lease, and the record to keep. */
export interface ServerLockRequest {
  descriptor: string;
  maxHolders: number;
  shared: boolean;
  preferredSlot?: number;
  leaseSeconds: number;
  info: HolderInfo;
}

/** serverLockRequest turns req into what a server backend's protocol takes, with host saying who asks. */
export function serverLockRequest(req: SlotRequest, host: BackendHost): ServerLockRequest {
  return {
    descriptor: req.descriptor, maxHolders: req.maxHolders, shared: req.shared, preferredSlot: req.preferredSlot,
    leaseSeconds: req.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
    info: { host: host.hostname(), uid: host.uid(), pid: req.holderPid, ownerPid: req.ownerPid, ownerStart: req.ownerStart, command: req.command },
  };
}

/** What a caller wants to hold. Validated and normalised before it gets here. */
export interface SlotRequest {
  descriptor: string;
  maxHolders: number;
  preferredSlot?: number;
  /** A shared (read) lock: many shared holders, or one exclusive holder. */
  shared: boolean;
  /** The process to signal to end the lock (usually this one). */
  holderPid: number;
  /** The process whose life bounds the lock, and its start time. */
  ownerPid: number;
  ownerStart: number;
  command: string;
  /** Seconds a network backend's lease lasts without renewal (ignored by files). */
  leaseSeconds?: number;
}

/** How long and how to wait in LockBackend.acquire. */
export interface WaitOptions {
  /** performance.now() value after which waiting fails with ETIMEDOUT; Infinity waits forever. */
  deadline: number;
  /** Stops waiting (EABORTED). */
  signal?: AbortSignal;
  /** Mean interval of a safety poll, for backends that need one (files: holders killed without a trace). */
  pollMs?: number;
}

/** The lease behind a network hold, for a process that keeps it alive after the acquirer exits. */
export interface LeaseHandle {
  id: string;
  ttlMs: number;
  /** Milliseconds from now during which the lease is certainly alive on the server. */
  certainForMs(): number;
  /** How long before the lease can expire the holder declares loss; and the SIGTERM→SIGKILL grace. */
  marginMs: number;
  graceMs: number;
}

/**
 * Who sent a --done request, as the request says (a claim: anyone who may
 * write to the server can make one).
 */
export interface DoneFrom {
  host: string;
  pid: number;
}

/**
 * What a hold does about a --done request: called as the request arrives,
 * while its sender still waits for the answer (so the sender can still be
 * looked at); what it returns runs once the answer is written.
 */
export type DoneHandler = (signal: string, from: DoneFrom | undefined) => (() => void) | void;

/** selfSignalling: the DoneHandler of a hold this process keeps: once answered, it takes the request's signal. */
export function selfSignalling(host: Pick<BackendHost, "pid" | "kill">): DoneHandler {
  return (signal) => () => {
    try {
      host.kill(host.pid, signal);
    } catch {
      // an unknown signal name: nothing to do
    }
  };
}

/** doneFrom is the sender named by a request, if it names one in the expected shape. */
export function doneFrom(from: unknown): DoneFrom | undefined {
  const f = from as Partial<DoneFrom> | null | undefined;
  return f && typeof f.host === "string" && Number.isSafeInteger(f.pid) && f.pid! > 0 ? { host: f.host, pid: f.pid! } : undefined;
}

/**
 * A network hold passed from the process that acquired it to one that keeps
 * it (the foreground holder): enough to renew its lease and answer --done.
 */
export interface LeaseHandOff {
  descriptor: string;
  slot: number;
  /** LeaseHandle.id of the hold. */
  leaseId: string;
  ttlSeconds: number;
  /** Milliseconds from now during which the lease is certainly alive, as the handing process judged it. */
  certainForMs: number;
  /** The hold's fence, decimal. */
  fence: string;
  /** The record --done answers carry (its pid: the process keeping the lease). */
  info: HolderInfo;
}

/** A hold kept by adopting its lease (LockBackend.adopt). */
export interface AdoptedLease {
  /** Aborts with an ELOST WaitlockError when the lease may be gone. */
  readonly lost: AbortSignal;
  /** Ends the hold on the server. Never declares loss; idempotent. */
  release(): Promise<void>;
}

/** A slot this process holds. */
export interface HeldSlot {
  readonly slot: number;
  /**
   * The open files whose kernel locks are the hold, for handing to a child
   * process (foreground holder, exec): the slot file, then (for a shared hold)
   * this holder's reader record. Empty for backends without files.
   */
  readonly fds: readonly number[];
  /** The file holding this holder's record (its fd is the last of fds). */
  readonly recordPath?: string;
  /**
   * Set when acquiring took over a stale slot: the record its dead holder left,
   * or null if what it left was not a readable record.
   */
  readonly tookOver?: LockRecord | null;
  /**
   * A fencing token: strictly greater than the token of every earlier holder
   * of this descriptor. Undefined where the backend has none (files).
   */
  readonly fence?: bigint;
  /** Aborts, with a WaitlockError of code ELOST, if the hold is lost. Undefined where it cannot be (files). */
  readonly lost?: AbortSignal;
  /** The lease that keeps a network hold, undefined for files. */
  readonly lease?: LeaseHandle;
  /** Rewrites the holder's record (e.g. after handing the lock to another process). */
  rewrite(changes: Partial<Pick<SlotRequest, "holderPid" | "ownerPid" | "ownerStart" | "command">>): Awaitable<void>;
  /** Gives the slot up. Idempotent. */
  release(): Awaitable<void>;
}

export type SlotStatus = "active" | "stale" | "corrupt" | "foreign";

/** One entry of a listing: a slot (or a shared holder's record) and what it means. */
export interface SlotInfo {
  descriptor: string;
  slot: number;
  /** "slot" for an exclusive slot, "reader" for a shared holder, "waiter" for a queued request (network backends). */
  kind: "slot" | "reader" | "waiter";
  status: SlotStatus;
  /** Held exclusively, shared, or free, as the kernel lock says right now. */
  held: "exclusive" | "shared" | "free" | "unknown";
  /** The decoded record, when the file holds a valid one. */
  record?: LockRecord;
  /** Why the record could not be read, for corrupt or unknown entries. */
  problem?: string;
  /** Where this lives (a file path for the file backend, a key for a server). */
  location: string;
  /** The holder's fencing token, where the backend has them. */
  fence?: bigint;
  /** Milliseconds before the holder's lease runs out unless renewed (network backends). */
  leaseLeftMs?: number;
  /**
   * The processes that really hold the kernel lock, when the record's holder does
   * not (an --exec waitlock was SIGKILLed and its command, or a child of it, kept
   * the lock), found through the kernel rather than the record. Absent otherwise.
   */
  holders?: number[];
}

export interface ListFilter {
  /** Only this descriptor (exact match). */
  descriptor?: string;
  /** Include stale and corrupt entries too. */
  all?: boolean;
  /** Only stale and corrupt entries. */
  staleOnly?: boolean;
  /**
   * Also find the processes that really hold a lock when its record's holder
   * does not (SlotInfo.holders; default true). false skips that search of
   * /proc, for callers that only count (metrics).
   */
  findHolders?: boolean;
}

export interface LockBackend {
  /** A human description of where locks live, e.g. the lock directory. */
  readonly location: string;
  /** Tries once to take a slot of req, never waiting. */
  tryAcquire(req: SlotRequest): Awaitable<HeldSlot | undefined>;
  /**
   * Takes a slot of req, waiting as long as wait allows; rejects with
   * ETIMEDOUT at the deadline and EABORTED when wait.signal fires. A slot
   * taken at once may come back as it is, not in a promise (the lock
   * directory's uncontended case: a promise there is a measurable share).
   */
  acquire(req: SlotRequest, wait: WaitOptions): Awaitable<HeldSlot>;
  /** Whether a request of this shape could be granted right now. Never disturbs an acquirer. */
  check(req: Pick<SlotRequest, "descriptor" | "maxHolders" | "shared">): Awaitable<boolean>;
  list(filter: ListFilter): Awaitable<SlotInfo[]>;
  /** Sends signal to every verified holder of descriptor; returns the PIDs signalled. */
  signalHolders(descriptor: string, signal: string): Awaitable<number[]>;
  /**
   * Calls onChange when the locks of descriptor (of every descriptor, if
   * undefined) may have changed. Returns an unsubscribe function.
   */
  watch(descriptor: string | undefined, onChange: () => void): () => void;
  /**
   * Keeps a network hold made by another process alive from this one, and
   * calls onDone for each --done request that reaches it (network
   * backends only: a lock directory hands over open files instead). The
   * backend gets ready to renew (client loaded, connected) before it asks
   * handOff for the hold, so the other process judges the lease's certainty
   * as late as possible.
   */
  adopt?(handOff: () => Promise<LeaseHandOff>, onDone: DoneHandler): Promise<AdoptedLease>;
  /** Lets go of connections so the process may exit (held locks stay held). */
  close?(): void;
}
