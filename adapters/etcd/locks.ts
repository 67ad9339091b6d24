// The lock protocol on etcd, in one place (docs/ETCD.md describes it for
// people). Every waiter and holder of descriptor D owns one lease and, under
// the backend's prefix P:
//
//   P D/q/<lease>       its place in the queue, created once; etcd's create
//                       revision orders the queue (first come, first served)
//   P D/slot/<n>        an exclusive holder's slot, 0 … N−1
//   P D/read/<lease>    a shared holder's grant
//   P D/done            the last --done request (on its own short lease)
//   P D/ack/<id>/<lease> a holder's answer to request <id> (on the request's lease)
//
// all attached to its lease, so that a holder that dies (or loses touch for
// longer than the lease) leaves nothing behind. A request is granted when,
// among the queue entries created before its own, there are fewer than N
// (exclusive) or no exclusive ones (shared). New entries only ever queue
// behind, so once granted by that rule a request stays granted; the grant
// itself is a transaction that claims a free slot only while the request's
// queue entry still exists, and its revision is the fencing token: strictly
// greater than every earlier grant of every descriptor on that etcd.
import { WaitlockError, isWaitlockError } from "../errors.ts";
import { setLongTimeout, type CancelTimer } from "../long-timer.ts";
import type { EtcdClient, KeyValue, WatchEvent } from "./client.ts";
import { KeptLease, LateGrant } from "./lease.ts";

/** What a holder or waiter says about itself, kept with its keys for listings. */
export interface HolderInfo {
  host: string;
  uid: number;
  pid: number;
  ownerPid: number;
  ownerStart: number;
  command: string;
}

export interface EtcdLockRequest {
  descriptor: string;
  maxHolders: number;
  shared: boolean;
  preferredSlot?: number;
  leaseSeconds: number;
  info: HolderInfo;
}

/** The JSON value of a queue entry (and, with slot and acquiredAt, of a grant; its fence is the grant key's create revision). */
export interface EntryValue extends HolderInfo {
  v: 1;
  mode: "exclusive" | "shared";
  maxHolders: number;
  queuedAt: number;
  slot?: number;
  acquiredAt?: number;
}

export interface QueueEntry {
  lease: string;
  createRevision: bigint;
  value: EntryValue | undefined;
}

export interface EtcdHold {
  readonly slot: number;
  readonly fence: bigint;
  readonly lease: KeptLease;
  /** Rewrites the record kept with the grant (the queue entry is left alone). */
  rewrite(info: Partial<HolderInfo>): Promise<void>;
  /** Ends the hold: revokes the lease, and with it every key of this holder. */
  release(): Promise<void>;
}

/** A --done request as it travels: which holders (leases) it is for, and the signal they should take. */
export interface DoneRequest {
  id: string;
  signal: string;
  leases: string[];
  /** The request's own lease: answers are attached to it, so they outlive a holder that lets go at once. */
  lease: string;
  from: { host: string; pid: number };
}

/** How long a --done request waits for the holders' answers. */
const DONE_ANSWER_MS = 5000;

export interface WaitOptions {
  /** performance.now() value after which waiting fails with ETIMEDOUT; Infinity waits forever. */
  deadline: number;
  signal?: AbortSignal;
  /** Called once if the request has to wait (for status lines and "waiting" log events). */
  onWait?: () => void;
}

export class EtcdLocks {
  readonly #client: EtcdClient;
  readonly #prefix: string;
  readonly #unref: (t: unknown) => void;

  constructor(client: EtcdClient, prefix: string, unref: (t: unknown) => void = () => undefined) {
    this.#client = client;
    this.#prefix = prefix;
    this.#unref = unref;
  }

  /** Every key of descriptor lives under this prefix (descriptors cannot contain "/"). */
  base(descriptor: string): string {
    return `${this.#prefix}${descriptor}/`;
  }

  #queueKey(d: string, lease: string) {
    return `${this.base(d)}q/${lease}`;
  }

  #slotKey(d: string, slot: number) {
    return `${this.base(d)}slot/${slot}`;
  }

  #readKey(d: string, lease: string) {
    return `${this.base(d)}read/${lease}`;
  }

  static parseEntry(kv: KeyValue): QueueEntry {
    let value: EntryValue | undefined;
    try {
      const parsed = JSON.parse(kv.value) as EntryValue;
      if (parsed && parsed.v === 1) value = parsed;
    } catch {
      value = undefined; // not ours, or damaged: listed as such, counted as a holder to stay safe
    }
    return { lease: kv.key.slice(kv.key.lastIndexOf("/") + 1), createRevision: kv.createRevision, value };
  }

  #value(req: EtcdLockRequest, extra: Partial<EntryValue> = {}): string {
    const v: EntryValue = {
      v: 1, mode: req.shared ? "shared" : "exclusive", maxHolders: req.maxHolders, queuedAt: Date.now(), ...req.info, ...extra,
    };
    return JSON.stringify(v);
  }

  /** disagreement names the first entry whose shape contradicts req (a usage error), if any. */
  static disagreement(req: Pick<EtcdLockRequest, "descriptor" | "maxHolders" | "shared">, entries: QueueEntry[]): string | undefined {
    for (const e of entries) {
      const v = e.value;
      if (!v) continue;
      if (v.maxHolders !== req.maxHolders) {
        return `${req.descriptor} is held or awaited as ${v.maxHolders === 1 ? "a mutex" : `a semaphore of ${v.maxHolders}`} (by PID ${v.pid} on ${v.host}), not ${req.maxHolders === 1 ? "a mutex" : `a semaphore of ${req.maxHolders}`}`;
      }
    }
    return undefined;
  }

  /** grantable says whether a request could be granted with these entries queued ahead of it. */
  static grantable(req: Pick<EtcdLockRequest, "maxHolders" | "shared">, ahead: Iterable<QueueEntry>): boolean {
    let count = 0;
    for (const e of ahead) {
      if (req.shared ? e.value?.mode !== "shared" : true) count++;
      if (req.shared ? count > 0 : count >= req.maxHolders) return false;
    }
    return true;
  }

  /** The queue of descriptor in arrival order, and the revision it was read at. */
  async queue(descriptor: string): Promise<{ entries: QueueEntry[]; revision: bigint }> {
    const { kvs, revision } = await this.#client.range(`${this.base(descriptor)}q/`, { prefix: true, sortByCreate: true });
    return { entries: kvs.map((kv) => EtcdLocks.parseEntry(kv)), revision };
  }

  /** check: would a request of this shape be granted right now? Reads only. */
  async check(req: Pick<EtcdLockRequest, "descriptor" | "maxHolders" | "shared">): Promise<boolean> {
    const { entries } = await this.queue(req.descriptor);
    const problem = EtcdLocks.disagreement(req, entries);
    if (problem) throw new WaitlockError("EUSAGE", problem);
    return EtcdLocks.grantable(req, entries);
  }

  /** tryAcquire takes the lock if it is free now and never waits (nor writes, when it is plainly busy). */
  async tryAcquire(req: EtcdLockRequest): Promise<EtcdHold | undefined> {
    if (!(await this.check(req))) return undefined;
    return this.#acquire(req, undefined);
  }

  /** acquire waits in the queue until granted, the deadline passes, or signal aborts. */
  acquire(req: EtcdLockRequest, wait: WaitOptions): Promise<EtcdHold> {
    return this.#acquire(req, wait) as Promise<EtcdHold>;
  }

  /**
   * #acquire queues with a fresh lease and waits. A waiter whose place is lost
   * (its lease ran out while the server was away) queues again with a new
   * lease, and one that cannot reach the server keeps trying, both until its
   * deadline (then ETIMEDOUT). Only the very first contact failing is EAGAIN:
   * a server that never answered is "unreachable", not "busy".
   */
  async #acquire(req: EtcdLockRequest, wait: WaitOptions | undefined): Promise<EtcdHold | undefined> {
    for (let attempt = 0; ; attempt++) {
      let lease: KeptLease | undefined;
      let done = false;
      try {
        lease = await KeptLease.grant(this.#client, req.leaseSeconds, this.#unref);
        const hold = await this.#queueAndWait(req, lease, wait);
        done = hold !== undefined;
        return hold;
      } catch (err) {
        const answered = attempt > 0 || lease !== undefined || err instanceof LateGrant;
        const again = wait && answered && isWaitlockError(err) && (err.code === "ELOST" || err.code === "EAGAIN");
        if (!again) throw err;
        if (wait.signal?.aborted) throw new WaitlockError("EABORTED", `stopped waiting for ${req.descriptor}: aborted`, { cause: wait.signal.reason });
        if (performance.now() >= wait.deadline) throw new WaitlockError("ETIMEDOUT", `timed out waiting for ${req.descriptor} (etcd: ${err.message})`);
        await sleep(Math.min(500, Math.max(0, wait.deadline - performance.now())), wait.signal);
      } finally {
        if (lease && !done) await lease.revoke().catch(() => lease!.abandon());
      }
    }
  }


  async #queueAndWait(req: EtcdLockRequest, lease: KeptLease, wait: WaitOptions | undefined): Promise<EtcdHold | undefined> {
    const d = req.descriptor;
    const myKey = this.#queueKey(d, lease.id);
    const q = `${this.base(d)}q/`;
    const slots = `${this.base(d)}slot/`;
    const fast = await this.#uncontendedMutex(req, lease);
    if (fast) return fast;
    // Queue up (once: a retried request finds its key already there) and read the queue and slots.
    const enq = await this.#client.txn(
      [{ key: myKey, target: "CREATE", result: "EQUAL", value: 0n }],
      [{ put: { key: myKey, value: this.#value(req), lease: lease.id } }, { range: { key: q, prefix: true, sortByCreate: true } }, { range: { key: slots, prefix: true } }],
      [{ range: { key: q, prefix: true, sortByCreate: true } }, { range: { key: slots, prefix: true } }],
    );
    const [queueKvs, slotKvs] = enq.succeeded ? [enq.results[1], enq.results[2]] : [enq.results[0], enq.results[1]];
    const entries = queueKvs.map((kv) => EtcdLocks.parseEntry(kv));
    const mine = entries.find((e) => e.lease === lease.id);
    if (!mine) throw new WaitlockError("EAGAIN", `etcd lost the queue entry of ${d} as it was made`);
    const problem = EtcdLocks.disagreement(req, entries.filter((e) => e !== mine));
    if (problem) throw new WaitlockError("EUSAGE", problem);

    const ahead = new Map(entries.filter((e) => e.createRevision < mine.createRevision).map((e) => [e.lease, e]));
    const taken = new Set(slotKvs.map((kv) => Number(kv.key.slice(slots.length))));
    if (EtcdLocks.grantable(req, ahead.values())) return this.#grant(req, lease, mine.createRevision, taken);
    if (!wait) return undefined;
    wait.onWait?.();
    return this.#wait(req, lease, mine.createRevision, ahead, taken, enq.revision, wait);
  }

  /**
   * #wait follows deletions under the descriptor (a watch, no polling) and
   * grants as soon as fewer than N entries remain ahead. Each waiter gets the
   * deletion events of its descriptor, but only the one(s) a deletion lets
   * through go back to the server.
   */
  #wait(req: EtcdLockRequest, lease: KeptLease, myRev: bigint, ahead: Map<string, QueueEntry>, taken: Set<number>, revision: bigint, wait: WaitOptions): Promise<EtcdHold> {
    const d = req.descriptor;
    const q = `${this.base(d)}q/`;
    const slots = `${this.base(d)}slot/`;
    return new Promise<EtcdHold>((resolve, reject) => {
      const stop = new AbortController();
      let stopDeadline: CancelTimer | undefined;
      let granting = false;
      const finish = (err: unknown, hold?: EtcdHold) => {
        if (stop.signal.aborted) return void hold?.release();
        stop.abort();
        stopDeadline?.();
        wait.signal?.removeEventListener("abort", onAbort);
        lease.lost.removeEventListener("abort", onLost);
        if (hold) resolve(hold);
        else reject(err);
      };
      const tryGrant = () => {
        if (granting || stop.signal.aborted || !EtcdLocks.grantable(req, ahead.values())) return;
        granting = true;
        this.#grant(req, lease, myRev, taken).then((hold) => finish(undefined, hold), (err) => finish(err));
      };
      const onEvents = (events: WatchEvent[], rev: bigint) => {
        revision = rev;
        for (const e of events) {
          if (e.type !== "DELETE") continue;
          if (e.kv.key.startsWith(q)) {
            const lease_ = e.kv.key.slice(q.length);
            if (lease_ === lease.id) return finish(new WaitlockError("ELOST", `etcd dropped this waiter's place in the queue for ${d}`));
            ahead.delete(lease_);
          } else if (e.kv.key.startsWith(slots)) {
            taken.delete(Number(e.kv.key.slice(slots.length)));
          }
        }
        tryGrant();
      };
      const follow = async () => {
        while (!stop.signal.aborted) {
          try {
            await this.#client.watch(this.base(d), { prefix: true, startRevision: revision + 1n, noPut: true, signal: stop.signal }, onEvents);
          } catch {
            if (stop.signal.aborted) return;
            // The stream broke (endpoint gone, compaction): read the queue afresh, then watch again.
            await sleep(200, stop.signal);
            try {
              const now = await this.queue(d);
              if (!now.entries.some((e) => e.lease === lease.id)) return finish(new WaitlockError("ELOST", `etcd dropped this waiter's place in the queue for ${d}`));
              ahead.clear();
              for (const e of now.entries) if (e.createRevision < myRev) ahead.set(e.lease, e);
              revision = now.revision;
              tryGrant();
            } catch {
              // still unreachable: the deadline or the lease decides
            }
          }
        }
      };
      const onAbort = () => finish(new WaitlockError("EABORTED", `stopped waiting for ${d}: aborted`, { cause: wait.signal?.reason }));
      const onLost = () => finish(lease.lost.reason);
      if (wait.signal?.aborted) return onAbort();
      if (lease.lost.aborted) return onLost();
      wait.signal?.addEventListener("abort", onAbort, { once: true });
      lease.lost.addEventListener("abort", onLost, { once: true });
      stopDeadline = setLongTimeout(() => finish(new WaitlockError("ETIMEDOUT", `timed out waiting for ${d}`)), wait.deadline - performance.now());
      void follow();
      tryGrant(); // a deletion may have landed between the read and the watch
    });
  }

  /**
   * requestDone asks every current holder of descriptor, wherever it runs, to
   * take signal, and returns the holders that answered (each signals only the
   * process keeping its own lease: no PID from the network is ever trusted).
   */
  async requestDone(descriptor: string, signal: string, from: DoneRequest["from"]): Promise<HolderInfo[]> {
    const base = this.base(descriptor);
    const held = (await this.#client.range(base, { prefix: true })).kvs.filter((kv) => /\/(slot|read)\/[0-9]+$/.test(kv.key));
    if (held.length === 0) return [];
    const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    const lease = await this.#client.grantLease(Math.ceil(DONE_ANSWER_MS / 1000) + 5); // leaves nothing behind
    const request: DoneRequest = { id, signal, leases: [...new Set(held.map((kv) => kv.lease))], lease: lease.id, from };
    try {
      await this.#client.put(`${base}done`, JSON.stringify(request), lease.id);
      const answered = new Map<string, HolderInfo>();
      const deadline = performance.now() + DONE_ANSWER_MS;
      while (performance.now() < deadline) {
        const { kvs } = await this.#client.range(`${base}ack/${id}/`, { prefix: true });
        for (const kv of kvs) {
          try {
            answered.set(kv.key, JSON.parse(kv.value) as HolderInfo);
          } catch {
            // not an answer
          }
        }
        if (answered.size >= request.leases.length) break;
        const still = (await this.#client.range(base, { prefix: true })).kvs.filter((kv) => /\/(slot|read)\/[0-9]+$/.test(kv.key) && request.leases.includes(kv.lease));
        if (still.length === 0) break; // every target let go (say, it had already ended)
        await sleep(50);
      }
      return [...answered.values()];
    } finally {
      await this.#client.revokeLease(lease.id).catch(() => undefined);
    }
  }

  /**
   * followDone watches descriptor's --done requests for this holder's lease
   * and, for each, writes an answer and calls onRequest(signal). It stops when
   * stop aborts. The connection does not keep the process alive.
   */
  followDone(descriptor: string, lease: string, info: HolderInfo, fromRevision: bigint, stop: AbortSignal, onRequest: (signal: string) => void): void {
    const base = this.base(descriptor);
    let revision = fromRevision;
    const onEvents = (events: WatchEvent[], rev: bigint) => {
      revision = rev;
      for (const e of events) {
        if (e.type !== "PUT") continue;
        let req: DoneRequest;
        try {
          req = JSON.parse(e.kv.value) as DoneRequest;
        } catch {
          continue;
        }
        if (!Array.isArray(req.leases) || !req.leases.includes(lease) || typeof req.signal !== "string" || typeof req.lease !== "string") continue;
        void this.#client.put(`${base}ack/${req.id}/${lease}`, JSON.stringify(info), req.lease).catch(() => undefined)
          .finally(() => onRequest(req.signal));
      }
    };
    const follow = async () => {
      while (!stop.aborted) {
        try {
          await this.#client.watch(`${base}done`, { startRevision: revision + 1n, signal: stop, background: true }, onEvents);
        } catch {
          await sleep(500, stop, this.#unref); // server away: watch again from the last revision seen
        }
      }
    };
    void follow();
  }

  /**
   * #uncontendedMutex is the common case in one transaction instead of two:
   * nobody queued and slot 0 free, so queue and grant at once (the queue entry
   * is still made: those who come later queue behind it). Undefined when the
   * mutex is not free; the caller then queues as usual.
   */
  async #uncontendedMutex(req: EtcdLockRequest, lease: KeptLease): Promise<EtcdHold | undefined> {
    if (req.shared || req.maxHolders !== 1) return undefined;
    const d = req.descriptor;
    const q = `${this.base(d)}q/`;
    const key = this.#slotKey(d, 0);
    const acquiredAt = Date.now();
    const r = await this.#client.txn(
      [{ key: q, prefix: true, target: "VERSION", result: "EQUAL", value: 0n }, { key, target: "CREATE", result: "EQUAL", value: 0n }],
      [{ put: { key: this.#queueKey(d, lease.id), value: this.#value(req), lease: lease.id } }, { put: { key, value: this.#value(req, { slot: 0, acquiredAt }), lease: lease.id } }],
    );
    if (!r.succeeded) return undefined;
    if (lease.lost.aborted) throw lease.lost.reason;
    return new Hold(this.#client, lease, key, 0, r.revision, (info) => this.#value(req, { ...info, slot: 0, acquiredAt }));
  }

  /** #grant claims a slot (or a shared grant) while this request's queue entry still exists. */
  async #grant(req: EtcdLockRequest, lease: KeptLease, myRev: bigint, taken: Set<number>): Promise<EtcdHold> {
    const d = req.descriptor;
    const myKey = this.#queueKey(d, lease.id);
    const slots = `${this.base(d)}slot/`;
    const stillQueued = { key: myKey, target: "CREATE" as const, result: "EQUAL" as const, value: myRev };
    for (let attempt = 0; attempt < 2 * req.maxHolders + 2; attempt++) {
      const slot = req.shared ? 0 : pickSlot(req.maxHolders, taken, req.preferredSlot);
      if (slot === undefined) throw new WaitlockError("ESYSTEM", `etcd shows all ${req.maxHolders} slots of ${d} taken while this request was granted (keys changed by hand?)`);
      const key = req.shared ? this.#readKey(d, lease.id) : this.#slotKey(d, slot);
      const acquiredAt = Date.now();
      const compare = req.shared ? [stillQueued] : [stillQueued, { key, target: "CREATE" as const, result: "EQUAL" as const, value: 0n }];
      // The fence is this transaction's revision: the grant key's create revision, so listings read it there.
      const r = await this.#client.txn(compare, [{ put: { key, value: this.#value(req, { slot, acquiredAt }), lease: lease.id } }], [
        { range: { key: myKey } },
        { range: { key: slots, prefix: true } },
      ]);
      if (r.succeeded) {
        if (lease.lost.aborted) throw lease.lost.reason; // granted on a lease already judged lost: the caller queues again
        return new Hold(this.#client, lease, key, slot, r.revision, (info) => this.#value(req, { ...info, slot, acquiredAt }));
      }
      if (r.results[0].length === 0) throw new WaitlockError("ELOST", `etcd dropped this request's place in the queue for ${d}`);
      taken.clear();
      for (const kv of r.results[1]) taken.add(Number(kv.key.slice(slots.length)));
    }
    throw new WaitlockError("EAGAIN", `could not claim a slot of ${d}: slots kept changing`);
  }
}

/** pickSlot returns the preferred slot if free, else the lowest free one. */
export function pickSlot(maxHolders: number, taken: Set<number>, preferred?: number): number | undefined {
  if (preferred !== undefined && !taken.has(preferred)) return preferred;
  for (let s = 0; s < maxHolders; s++) if (!taken.has(s)) return s;
  return undefined;
}

/** sleep resolves after ms, or at once when signal aborts. */
function sleep(ms: number, signal?: AbortSignal, unref: (t: unknown) => void = () => undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    unref(t);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}

class Hold implements EtcdHold {
  #info: Partial<HolderInfo> = {};
  #released = false;

  constructor(
    readonly client: EtcdClient,
    readonly lease: KeptLease,
    readonly key: string,
    readonly slot: number,
    readonly fence: bigint,
    readonly encode: (info: Partial<HolderInfo>) => string,
  ) {}

  async rewrite(info: Partial<HolderInfo>): Promise<void> {
    this.#info = { ...this.#info, ...info };
    // Only while the grant is still ours: a lost lease must not resurrect the key.
    await this.client.txn(
      [{ key: this.key, target: "CREATE", result: "EQUAL", value: this.fence }],
      [{ put: { key: this.key, value: this.encode(this.#info), lease: this.lease.id } }],
    );
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    try {
      await this.lease.revoke();
    } catch {
      // Unreachable: the lease expires on the server by itself; nobody can be granted before then.
      this.lease.abandon();
    }
  }
}
