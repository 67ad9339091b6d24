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
// queue entry still exists and has never been granted (its mod revision is
// still its create revision: every grant rewrites the entry), and its revision
// is the fencing token: strictly greater than every earlier grant of every
// descriptor on that etcd. A holder that lets go hands its slot straight to
// the waiter(s) its release lets through, in the same transaction that
// removes it, so a waiter is woken already holding the lock.
import { doneFrom, type DoneHandler, type ServerLockRequest } from "../backend.ts";
import { WaitlockError, isWaitlockError } from "../errors.ts";
import { sleep } from "../sleep.ts";
import { setLongTimeout, type CancelTimer } from "../long-timer.ts";
import type { Compare, EtcdClient, KeyValue, Op, WatchEvent } from "./client.ts";
import { KeptLease, LateGrant } from "./lease.ts";
import { Follower } from "./follower.ts";
import { QueueView, disagreement, grantable, parseEntry, type EntryValue, type HolderInfo, type QueueEntry } from "./queue.ts";

export type { EntryValue, HolderInfo, QueueEntry };

/** A request as this protocol takes it (the same for every server backend). */
export type EtcdLockRequest = ServerLockRequest;

export interface EtcdHold {
  readonly slot: number;
  readonly fence: bigint;
  readonly lease: KeptLease;
  /** Rewrites the record kept with the grant (the queue entry is left alone). */
  rewrite(info: Partial<HolderInfo>): Promise<void>;
  /** Answers --done requests for this hold from any host through onRequest, while the hold lasts. */
  followDone(info: HolderInfo, onRequest: DoneHandler): void;
  /** Ends the hold: hands over to the next waiter(s) and revokes the lease, and with it every key of this holder. */
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
/**
 * How long a waiter that gives up (timeout, abort) waits for its lease's
 * revocation. Not long: its time is the caller's (`-t 2` is a promise), and a
 * lease not revoked runs out by itself, taking the queue entry with it.
 */
const GIVE_UP_REVOKE_MS = 300;

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

  #value(req: EtcdLockRequest, extra: Partial<EntryValue> = {}): string {
    const v: EntryValue = {
      v: 1, mode: req.shared ? "shared" : "exclusive", maxHolders: req.maxHolders, queuedAt: Date.now(), preferredSlot: req.preferredSlot, ...req.info, ...extra,
    };
    return JSON.stringify(v);
  }

  /** The queue of descriptor in arrival order, and the revision it was read at. */
  async queue(descriptor: string): Promise<{ entries: QueueEntry[]; revision: bigint }> {
    const { kvs, revision } = await this.#client.range(`${this.base(descriptor)}q/`, { prefix: true, sortByCreate: true });
    return { entries: kvs.map((kv) => parseEntry(kv)), revision };
  }

  /** check: would a request of this shape be granted right now? Reads only. */
  async check(req: Pick<EtcdLockRequest, "descriptor" | "maxHolders" | "shared">): Promise<boolean> {
    const { entries } = await this.queue(req.descriptor);
    const problem = disagreement(req, entries);
    if (problem) throw new WaitlockError("EUSAGE", problem);
    return grantable(req, entries);
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
        if (lease && !done) await lease.revoke(GIVE_UP_REVOKE_MS).catch(() => lease!.abandon());
      }
    }
  }


  async #queueAndWait(req: EtcdLockRequest, lease: KeptLease, wait: WaitOptions | undefined): Promise<EtcdHold | undefined> {
    const d = req.descriptor;
    const base = this.base(d);
    const myKey = this.#queueKey(d, lease.id);
    const fast = await this.#uncontendedMutex(req, lease);
    if (fast) return fast;
    // Queue up (once: a retried request finds its key already there) and read the descriptor's keys.
    const entry = this.#value(req);
    const everything: Op = { range: { key: base, prefix: true, sortByCreate: true } };
    const enq = await this.#client.txn(
      [{ key: myKey, target: "CREATE", result: "EQUAL", value: 0n }],
      [{ put: { key: myKey, value: entry, lease: lease.id } }, everything],
      [everything],
    );
    const view = new QueueView(base, enq.results[enq.succeeded ? 1 : 0], enq.revision);
    const mine = view.entry(lease.id);
    if (!mine) throw new WaitlockError("EAGAIN", `etcd lost the queue entry of ${d} as it was made`);
    const problem = disagreement(req, view.entries().filter((e) => e !== mine));
    if (problem) throw new WaitlockError("EUSAGE", problem);

    const me: Queued = { rev: mine.createRevision, entry };
    // A grant handed over by a holder that let go since the read is found by #grant.
    if (grantable(req, view.ahead(lease.id)) || mine.modRevision !== mine.createRevision) return this.#grant(req, lease, me, view.taken());
    if (!wait) return undefined;
    wait.onWait?.();
    return this.#wait(req, lease, me, view, wait);
  }

  /**
   * #wait follows the descriptor's keys (a watch, no polling). Usually a
   * holder that lets go hands its slot to this request directly: the watch
   * then shows a grant key put on this request's lease, and the waiter holds
   * without another round trip (and keeps the same watch as holder).
   * Otherwise (a holder whose lease expired, a waiter ahead that gave up) it
   * claims a slot as soon as fewer than N entries remain ahead. Each waiter
   * gets every event of its descriptor, but only the one(s) an event lets
   * through go back to the server.
   */
  #wait(req: EtcdLockRequest, lease: KeptLease, me: Queued, view: QueueView, wait: WaitOptions): Promise<EtcdHold> {
    const d = req.descriptor;
    return new Promise<EtcdHold>((resolve, reject) => {
      const follower = new Follower(this.#client, this.base(d), view, this.#unref);
      // The watch does not keep the process alive (it outlives the wait when handed over): this does.
      const alive = setInterval(() => undefined, 1 << 30);
      let stopDeadline: CancelTimer | undefined;
      let done = false;
      let granting = false;
      const finish = (err: unknown, hold?: EtcdHold) => {
        if (done) return void hold?.release();
        done = true;
        clearInterval(alive);
        stopDeadline?.();
        wait.signal?.removeEventListener("abort", onAbort);
        lease.lost.removeEventListener("abort", onLost);
        if (!hold) follower.stop(); // a hold keeps the watch (handed over) or has its own (claimed)
        if (hold) resolve(hold);
        else reject(err);
      };
      /** Goes to the server (once) when the view says this request may hold. */
      follower.onChange = () => {
        if (granting || done) return;
        const mine = view.entry(lease.id);
        if (!mine) return finish(new WaitlockError("ELOST", `etcd dropped this waiter's place in the queue for ${d}`));
        const handed = view.grantOf(lease.id);
        if (handed) {
          granting = true;
          if (lease.lost.aborted) return finish(lease.lost.reason);
          return finish(undefined, this.#hold(req, lease, handed, follower));
        }
        // Granted, but the grant is not in view (read after a broken watch): #grant finds it.
        if (mine.modRevision === me.rev && !grantable(req, view.ahead(lease.id))) return;
        granting = true;
        // A claim of our own fails its compare if a releaser was first, and then finds that grant itself.
        follower.stop();
        this.#grant(req, lease, me, view.taken()).then((hold) => finish(undefined, hold), (err) => finish(err));
      };
      const onAbort = () => finish(new WaitlockError("EABORTED", `stopped waiting for ${d}: aborted`, { cause: wait.signal?.reason }));
      const onLost = () => finish(lease.lost.reason);
      if (wait.signal?.aborted) return onAbort();
      if (lease.lost.aborted) return onLost();
      wait.signal?.addEventListener("abort", onAbort, { once: true });
      lease.lost.addEventListener("abort", onLost, { once: true });
      stopDeadline = setLongTimeout(() => finish(new WaitlockError("ETIMEDOUT", `timed out waiting for ${d}`)), wait.deadline - performance.now());
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
      const readAnswers = async () => {
        const { kvs } = await this.#client.range(`${base}ack/${id}/`, { prefix: true });
        for (const kv of kvs) {
          try {
            answered.set(kv.key, JSON.parse(kv.value) as HolderInfo);
          } catch {
            // not an answer
          }
        }
      };
      const deadline = performance.now() + DONE_ANSWER_MS;
      while (performance.now() < deadline) {
        await readAnswers();
        if (answered.size >= request.leases.length) break;
        const still = (await this.#client.range(base, { prefix: true })).kvs.filter((kv) => /\/(slot|read)\/[0-9]+$/.test(kv.key) && request.leases.includes(kv.lease));
        if (still.length === 0) {
          // Every target let go (say, it had already ended). A holder writes its
          // answer before it lets go, so one that answered since the read above
          // and let go before the second read is heard now.
          await readAnswers();
          break;
        }
        await sleep(50);
      }
      return [...answered.values()];
    } finally {
      await this.#client.revokeLease(lease.id).catch(() => undefined);
    }
  }

  /**
   * followDone watches descriptor's --done requests for this holder's lease
   * and hands each to onRequest and answers it. It stops when
   * stop aborts. The connection does not keep the process alive.
   */
  followDone(descriptor: string, lease: string, info: HolderInfo, fromRevision: bigint, stop: AbortSignal, onRequest: DoneHandler): void {
    const base = this.base(descriptor);
    let revision = fromRevision;
    const onEvents = (events: WatchEvent[], rev: bigint) => {
      revision = rev;
      for (const e of events) if (e.type === "PUT") this.answerDone(descriptor, lease, info, e.kv, onRequest);
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

  /** answerDone hands one --done request (the value of P D/done) to onRequest if it is for lease, and answers it. */
  answerDone(descriptor: string, lease: string, info: HolderInfo, kv: KeyValue, onRequest: DoneHandler): void {
    let req: DoneRequest;
    try {
      req = JSON.parse(kv.value) as DoneRequest;
    } catch {
      return;
    }
    if (!Array.isArray(req.leases) || !req.leases.includes(lease) || typeof req.signal !== "string" || typeof req.lease !== "string") return;
    const then = onRequest(req.signal, doneFrom(req.from));
    void this.#client.put(`${this.base(descriptor)}ack/${req.id}/${lease}`, JSON.stringify(info), req.lease).catch(() => undefined)
      .finally(() => then?.());
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
    const base = this.base(d);
    const key = this.#slotKey(d, 0);
    const r = await this.#client.txn(
      [{ key: `${base}q/`, prefix: true, target: "VERSION", result: "EQUAL", value: 0n }, { key, target: "CREATE", result: "EQUAL", value: 0n }],
      [
        { put: { key: this.#queueKey(d, lease.id), value: this.#value(req), lease: lease.id } },
        { put: { key, value: this.#value(req, { slot: 0, acquiredAt: Date.now() }), lease: lease.id } },
        { range: { key: base, prefix: true, sortByCreate: true } },
      ],
    );
    if (!r.succeeded) return undefined;
    if (lease.lost.aborted) throw lease.lost.reason;
    const view = new QueueView(base, r.results[2], r.revision);
    return this.#hold(req, lease, view.grantOf(lease.id)!, new Follower(this.#client, base, view, this.#unref));
  }

  /**
   * #grant claims a slot (or a shared grant) while this request's queue entry
   * still exists and was never granted. The same transaction rewrites the
   * entry, which marks it granted: a holder handing its slot over compares
   * the entry's mod revision, so a request is granted once, by itself or by
   * a releaser. When the compare fails because a releaser was first, the
   * grant it made on this request's lease is picked up instead.
   */
  async #grant(req: EtcdLockRequest, lease: KeptLease, me: Queued, taken: Set<number>): Promise<EtcdHold> {
    const d = req.descriptor;
    const base = this.base(d);
    const myKey = this.#queueKey(d, lease.id);
    const unclaimed: Compare[] = [
      { key: myKey, target: "CREATE", result: "EQUAL", value: me.rev },
      { key: myKey, target: "MOD", result: "EQUAL", value: me.rev },
    ];
    const everything: Op = { range: { key: base, prefix: true, sortByCreate: true } };
    for (let attempt = 0; attempt < 2 * req.maxHolders + 2; attempt++) {
      const slot = req.shared ? 0 : pickSlot(req.maxHolders, taken, req.preferredSlot);
      if (slot === undefined) throw new WaitlockError("ESYSTEM", `etcd shows all ${req.maxHolders} slots of ${d} taken while this request was granted (keys changed by hand?)`);
      const key = req.shared ? this.#readKey(d, lease.id) : this.#slotKey(d, slot);
      const compare: Compare[] = req.shared ? unclaimed : [...unclaimed, { key, target: "CREATE", result: "EQUAL", value: 0n }];
      // The fence is this transaction's revision: the grant key's mod revision, so listings read it there.
      const r = await this.#client.txn(compare, [
        { put: { key, value: this.#value(req, { slot, acquiredAt: Date.now() }), lease: lease.id } },
        { put: { key: myKey, value: me.entry, lease: lease.id } },
        everything,
      ], [everything]);
      const view = new QueueView(base, r.results[r.succeeded ? 2 : 0], r.revision);
      const mine = view.entry(lease.id);
      if (!mine) throw new WaitlockError("ELOST", `etcd dropped this request's place in the queue for ${d}`);
      const grant = view.grantOf(lease.id);
      if (r.succeeded || mine.modRevision !== me.rev) {
        if (!grant) throw new WaitlockError("ESYSTEM", `etcd shows ${d}'s request granted but no grant on its lease (keys changed by hand?)`);
        if (lease.lost.aborted) throw lease.lost.reason; // granted on a lease already judged lost: the caller queues again
        return this.#hold(req, lease, grant, new Follower(this.#client, base, view, this.#unref));
      }
      taken = view.taken();
    }
    throw new WaitlockError("EAGAIN", `could not claim a slot of ${d}: slots kept changing`);
  }

  /**
   * #hold makes a hold of grant (a key on this request's lease). follower
   * keeps the hold's view of the descriptor current while it lasts, so that
   * letting go can hand over without reading the queue first, and brings the
   * --done requests it must answer.
   */
  #hold(req: EtcdLockRequest, lease: KeptLease, grant: KeyValue, follower: Follower): EtcdHold {
    const d = req.descriptor;
    const slots = `${this.base(d)}slot/`;
    const slot = grant.key.startsWith(slots) ? Number(grant.key.slice(slots.length)) : 0;
    const fence = grant.modRevision;
    const acquiredAt = parseEntry(grant).value?.acquiredAt ?? Date.now();
    follower.onChange = () => undefined;
    lease.lost.addEventListener("abort", () => follower.stop(), { once: true });
    return new Hold(this.#client, lease, grant.key, slot, fence, {
      encode: (info) => this.#value(req, { ...info, slot, acquiredAt, fence: String(fence) }),
      handOff: (mod) => {
        // A holder letting go answers no more --done requests. Its watch is
        // closed once the transaction is answered, not before it is sent:
        // closing it takes a while, which the next holder would wait for.
        follower.onChange = () => undefined;
        return this.#handOff(req, lease, grant.key, mod, follower.view).finally(() => follower.stop());
      },
      followDone: (info, onRequest) => {
        // Requests since the grant, including any that arrived with it.
        let answered = fence;
        const check = () => {
          const kv = follower.view.done;
          if (!kv || kv.modRevision <= answered) return;
          answered = kv.modRevision;
          this.answerDone(d, lease.id, info, kv, onRequest);
        };
        follower.onChange = check;
        check();
      },
    });
  }

  /**
   * #handOff is a holder letting go, in one transaction that removes its
   * queue entry and grant and grants the waiter(s) its leaving lets through,
   * on their leases (a slot key is put again, with the next holder's lease
   * and record, so the slot is never free in between). Those waiters learn it
   * from their watch and send nothing. The holder's view, kept by a watch,
   * says who waits, so the common cases cost one write: nobody waiting (the
   * caller's revoke does it all) or a hand-over. A view that is out of date
   * only makes the transaction's compares fail; revoking the lease then lets
   * the waiters claim by themselves, as when a holder dies.
   */
  async #handOff(req: EtcdLockRequest, lease: KeptLease, grantKey: string, grantMod: bigint, view: QueueView): Promise<void> {
    const d = req.descriptor;
    const slots = `${this.base(d)}slot/`;
    const next = view.successors(lease.id);
    if (next.length === 0) return;
    const mine = grantKey.startsWith(slots) ? Number(grantKey.slice(slots.length)) : undefined;
    const busy = view.taken();
    if (mine !== undefined) busy.delete(mine);
    const compare: Compare[] = [{ key: grantKey, target: "MOD", result: "EQUAL", value: grantMod }];
    const ops: Op[] = [{ delete: { key: this.#queueKey(d, lease.id) } }];
    const acquiredAt = Date.now();
    let reused = false;
    let exclusive = 0;
    for (const w of next) {
      const { fence: _, ...v } = w.value!;
      let key = this.#readKey(d, w.lease);
      let slot = 0;
      if (v.mode !== "shared") {
        // One exclusive grant per transaction, so that exclusive holders never share a fence.
        if (exclusive++ > 0) break;
        const pick = pickSlot(req.maxHolders, busy, v.preferredSlot);
        if (pick === undefined) break;
        busy.add(pick);
        slot = pick;
        key = this.#slotKey(d, slot);
        if (slot === mine) reused = true;
        else compare.push({ key, target: "CREATE", result: "EQUAL", value: 0n });
      }
      const queued = this.#queueKey(d, w.lease);
      compare.push({ key: queued, target: "MOD", result: "EQUAL", value: w.modRevision });
      ops.push({ put: { key, value: JSON.stringify({ ...v, slot, acquiredAt }), lease: w.lease } });
      ops.push({ put: { key: queued, value: JSON.stringify(v), lease: w.lease } });
    }
    if (ops.length === 1) return;
    if (!reused) ops.push({ delete: { key: grantKey } });
    await this.#client.txn(compare, ops);
  }
}

/** This request's queue entry: its create revision (its place) and the value it was written with. */
interface Queued {
  rev: bigint;
  entry: string;
}

/** pickSlot returns the preferred slot if free, else the lowest free one. */
export function pickSlot(maxHolders: number, taken: Set<number>, preferred?: number): number | undefined {
  if (preferred !== undefined && !taken.has(preferred)) return preferred;
  for (let s = 0; s < maxHolders; s++) if (!taken.has(s)) return s;
  return undefined;
}

/** What a hold asks of the protocol. */
interface HoldActions {
  /** The grant's value for a record with info. */
  encode(info: Partial<HolderInfo>): string;
  /** Lets go, handing over to whoever this release lets through (given the grant key's mod revision). */
  handOff(grantMod: bigint): Promise<void>;
  followDone(info: HolderInfo, onRequest: DoneHandler): void;
}

class Hold implements EtcdHold {
  #info: Partial<HolderInfo> = {};
  #released = false;
  /** The grant key's mod revision as this holder last wrote it: while it is unchanged, the grant is this holder's. */
  #mod: bigint;

  constructor(
    readonly client: EtcdClient,
    readonly lease: KeptLease,
    readonly key: string,
    readonly slot: number,
    readonly fence: bigint,
    readonly actions: HoldActions,
  ) {
    this.#mod = fence;
  }

  followDone(info: HolderInfo, onRequest: DoneHandler): void {
    this.actions.followDone(info, onRequest);
  }

  async rewrite(info: Partial<HolderInfo>): Promise<void> {
    this.#info = { ...this.#info, ...info };
    // Only while the grant is still ours: a lost lease must not resurrect the key.
    const r = await this.client.txn(
      [{ key: this.key, target: "MOD", result: "EQUAL", value: this.#mod }],
      [{ put: { key: this.key, value: this.actions.encode(this.#info), lease: this.lease.id } }],
    );
    if (r.succeeded) this.#mod = r.revision;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    // Hand over first (the next holder is woken holding the lock), then revoke whatever is left.
    if (!this.lease.lost.aborted) await this.actions.handOff(this.#mod).catch(() => undefined);
    try {
      await this.lease.revoke();
    } catch {
      // Unreachable: the lease expires on the server by itself; nobody can be granted before then.
      this.lease.abandon();
    }
  }
}
