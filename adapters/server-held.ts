// What the lock-server backends (etcd-backend.ts, redis-backend.ts) share
// whatever their protocol: a grant shown through the seam as a HeldSlot, and
// the value kept with every request, shown by a listing as a LockRecord.
import { lockTypeOf, type HeldSlot, type HolderInfo, type LeaseHandle } from "./backend.ts";
import type { LeaseKeeper } from "./lease-keeper.ts";
import type { LockRecord } from "./wasm-core.ts";

/** What every server protocol keeps with a request (as JSON): who asks, for what shape of lock. */
export interface ServerEntryValue extends HolderInfo {
  v: 1;
  mode: "exclusive" | "shared";
  maxHolders: number;
  queuedAt: number;
}

/** A grant as a server protocol makes it. */
export interface ServerHold {
  readonly slot: number;
  readonly fence: bigint;
  readonly lease: LeaseKeeper;
  /** Rewrites the record kept with the grant. */
  rewrite(info: Partial<HolderInfo>): Promise<void>;
  /** Ends the hold and hands what it frees to the next in line. */
  release(): Promise<void>;
}

/** A server grant as a HeldSlot: no files; a fence, and a lease that can be lost. */
export class ServerHeldSlot implements HeldSlot {
  readonly slot: number;
  readonly fence: bigint;
  readonly lease: LeaseHandle;
  readonly fds: readonly number[] = [];
  readonly #hold: ServerHold;
  #onEnd: (() => void)[] = [];
  #released = false;

  /** leaseId: how the protocol names the lease (etcd's lease ID, Redis's holder token). */
  constructor(hold: ServerHold, leaseId: string) {
    this.#hold = hold;
    this.slot = hold.slot;
    this.fence = hold.fence;
    const kept = hold.lease;
    const t = kept.timing;
    this.lease = {
      id: leaseId, ttlMs: t.ttlMs, marginMs: t.marginMs, graceMs: t.graceMs,
      certainForMs: () => kept.certainUntil - performance.now(),
    };
  }

  /** Aborts when the lease is judged lost (its signal is made when first asked for). */
  get lost(): AbortSignal {
    return this.#hold.lease.lost;
  }

  /** Released, or lost. */
  get ended(): boolean {
    return this.#released || this.#hold.lease.lostReason !== undefined;
  }

  /** Calls fn once the hold ends (released or lost). */
  onEnd(fn: () => void): void {
    this.#onEnd.push(fn);
    this.lost.addEventListener("abort", fn, { once: true });
  }

  rewrite(changes: Parameters<HeldSlot["rewrite"]>[0]): Promise<void> {
    const info: Partial<HolderInfo> = {};
    if (changes.holderPid !== undefined) info.pid = changes.holderPid;
    if (changes.ownerPid !== undefined) info.ownerPid = changes.ownerPid;
    if (changes.ownerStart !== undefined) info.ownerStart = changes.ownerStart;
    if (changes.command !== undefined) info.command = changes.command;
    return this.#hold.rewrite(info);
  }

  release(): Promise<void> {
    this.#released = true;
    for (const fn of this.#onEnd.splice(0)) fn();
    return this.#hold.release();
  }
}

/** recordOf: how a listing shows the entry of descriptor whose value is v (acquiredAt: when it was granted, if it was). */
export function recordOf(v: ServerEntryValue, descriptor: string, slot: number, acquiredAt: number | undefined): LockRecord {
  return {
    version: 1, type: lockTypeOf({ maxHolders: v.maxHolders, shared: v.mode === "shared" }), slot, maxHolders: v.maxHolders,
    holderPid: v.pid, ownerPid: v.ownerPid, ownerStart: v.ownerStart, uid: v.uid ?? -1,
    acquiredAt: acquiredAt ?? v.queuedAt, hostname: v.host, descriptor, command: v.command,
  };
}
