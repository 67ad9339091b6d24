// LockBackend is what the public API (api.ts) needs from a place that keeps
// locks. The file backend (file-backend.ts) is the first; a distributed one
// (e.g. on Redis) can serve the same API by implementing this interface.
import type { LockRecord } from "./wasm-core.ts";

/** Backends may answer at once (files) or over the network (a server): callers always await. */
export type Awaitable<T> = T | Promise<T>;

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
  /** "slot" for a slot file, "reader" for a shared holder's record. */
  kind: "slot" | "reader";
  status: SlotStatus;
  /** Held exclusively, shared, or free, as the kernel lock says right now. */
  held: "exclusive" | "shared" | "free" | "unknown";
  /** The decoded record, when the file holds a valid one. */
  record?: LockRecord;
  /** Why the record could not be read, for corrupt or unknown entries. */
  problem?: string;
  /** Where this lives (a file path for the file backend). */
  location: string;
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
}

export interface LockBackend {
  /** A human description of where locks live, e.g. the lock directory. */
  readonly location: string;
  /**
   * Tries the slots of req once, without waiting. knownBusy carries what
   * earlier attempts learnt, so busy slots are tried last; it is updated.
   */
  tryAcquire(req: SlotRequest, knownBusy: Set<number>): Awaitable<HeldSlot | undefined>;
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
}
