// The lock protocol on Redis, in one place (docs/REDIS.md describes it for
// people; the scripts it calls, and the layout of a descriptor's keys, are in
// scripts.ts). Every request to lock descriptor D is a random token with a
// lease on the server's clock. Under the backend's prefix P, with
// B = P D ":":
//
//   B state, B queue, B expiry   the descriptor's holders, waiters and leases
//   B wake:TOKEN                 a list its waiter blocks on; whoever frees a
//                                slot for it pushes the grant there
//   B done, B ack:ID             --done requests and their answers (short-lived)
//   P #fence  the fence counter;  P #index  descriptors in use;
//   channels P #events (every change) and P #done (--done requests)
//
// A release (or a sweep of run-out leases, done by every script) grants the
// waiters at the head of the queue inside the same script and wakes only
// them; a waiter blocks in BLPOP on its own list and checks in about once a
// second, which renews its place, catches a wake-up it missed and sweeps.
import { WaitlockError, isWaitlockError } from "../errors.ts";
import { sleep } from "../sleep.ts";
import { LeaseKeeper } from "../lease-keeper.ts";
import { setLongTimeout } from "../long-timer.ts";
import { doneFrom, type DoneHandler, type HolderInfo, type ServerLockRequest } from "../backend.ts";
import type { ServerEntryValue } from "../server-held.ts";
import { NoAnswer, type RedisClient, type ScriptName } from "./client.ts";

/** A request as this protocol takes it (the same for every server backend). */
export type RedisLockRequest = ServerLockRequest;

/** A request's record, as stored after its header in B state (slot, fence and times live in the header and B expiry). */
export type EntryValue = ServerEntryValue;

export interface RedisHold {
  readonly slot: number;
  readonly fence: bigint;
  /** Server ms at which the grant was made. */
  readonly acquiredAt: number;
  readonly lease: TokenLease;
  /** Rewrites the record kept with the grant. */
  rewrite(info: Partial<HolderInfo>): Promise<void>;
  /** Ends the hold (compare-and-delete) and hands the slot to the next waiter. */
  release(): Promise<void>;
}

export interface WaitOptions {
  /** performance.now() value after which waiting fails with ETIMEDOUT; Infinity waits forever. */
  deadline: number;
  signal?: AbortSignal;
}

/** One descriptor as a listing reads it, at the server's time `now`. */
export interface ListedDescriptor {
  descriptor: string;
  maxHolders: number;
  holders: ListedEntry[];
  /** In queue order. */
  waiters: ListedEntry[];
}

export interface ListedEntry {
  token: string;
  kind: "slot" | "reader" | "waiter";
  slot: number;
  fence?: bigint;
  /** Server ms of the grant (holders). */
  acquiredAt?: number;
  leaseLeftMs: number;
  value: EntryValue | undefined;
}

/** A --done request as it travels: the holders (tokens) it is for, and the signal they should take. */
export interface DoneRequest {
  id: string;
  descriptor: string;
  signal: string;
  tokens: string[];
  from: { host: string; pid: number };
}

/** How often a waiter checks in at most (and so how late a missed wake-up is noticed). */
const CHECK_IN_MS = 1000;
/**
 * How long the release of a hold already judged lost, or of a request given
 * up, may keep the caller (it is only tidying up: the lease runs out on the
 * server anyway). A server that answers at all answers in a few ms; a paused
 * one must not stretch a --timeout by more than this.
 */
const LOST_RELEASE_MS = 1000;
const GIVE_UP_RELEASE_MS = 300;
/** The longest a waiter's check-in may take (the client's own bound on any request). */
const REQUEST_BOUND_MS = 3000;
/**
 * How long a first request whose answer was lost is asked again before the
 * server counts as unreachable (exit 75): a server paused for a few seconds
 * just after taking it is not unreachable, one silent for this long is. With
 * start-up and giving the request back, 75 still comes within 10 s.
 */
const FIRST_CONTACT_MS = 8000;
/** The pause before asking again. */
const ASK_AGAIN_MS = 200;
/** How long a --done request waits for the holders' answers. */
const DONE_ANSWER_MS = 5000;
/** How many --done answers a process remembers having given (a request is answered once per hold). */
const MAX_REMEMBERED = 1000;
/** How long a --done request (and its answers) stay readable on the server. */
const DONE_KEEP_MS = 10_000;

const now = () => performance.now();

const deferred: (() => void)[] = [];

/**
 * soon runs a function once the current turn of the event loop is over:
 * setImmediate where the runtime has it (Node, Deno), which costs less than
 * a timer and comes sooner, else a timer of 0 ms.
 */
const host = globalThis as { setImmediate?: (fn: () => void) => unknown };
const soon = typeof host.setImmediate === "function" ? (fn: () => void) => host.setImmediate!(fn) : (fn: () => void) => setTimeout(fn, 0);

/**
 * later runs fn a moment from now, once the current turn (and every promise
 * it settles) is over: work a grant does not need before it reaches the caller
 * (tidying up after a wait, following --done requests) stays off the path
 * from the wake-up to the caller. One callback for all that is queued
 * meanwhile; it never keeps the process alive (what it runs would then be moot).
 */
export function later(fn: () => void, unref: (t: unknown) => void): void {
  deferred.push(fn);
  if (deferred.length === 1) unref(soon(runDeferred));
}

function runDeferred(): void {
  for (const fn of deferred.splice(0)) {
    try {
      fn();
    } catch {
      // tidying up: one failure must not stop the rest
    }
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** Random bytes drawn 4 KB at a time (getRandomValues per token, or randomUUID and stripping its dashes, cost a few times more). */
const pool = new Uint8Array(4096);
let drawn = pool.length;

/** A token nobody else will draw: 128 random bits, as 32 hex digits. */
function newToken(): string {
  if (drawn === pool.length) {
    crypto.getRandomValues(pool);
    drawn = 0;
  }
  let t = "";
  for (const end = drawn + 16; drawn < end; drawn++) t += HEX[pool[drawn]];
  return t;
}

/** The server answered, but too late for the lease to be of use: ask again. */
class LateGrant extends WaitlockError {
  constructor(message: string) {
    super("EAGAIN", message);
  }
}

/** sameFields: a and b have the same own enumerable fields, with the same (===) values. */
function sameFields(a: object, b: object): boolean {
  const x = a as Record<string, unknown>, y = b as Record<string, unknown>;
  for (const k in x) if (x[k] !== y[k] || !Object.hasOwn(y, k)) return false;
  for (const k in y) if (!Object.hasOwn(x, k)) return false;
  return true;
}

function parseEntry(json: string | undefined): EntryValue | undefined {
  try {
    const v = JSON.parse(json ?? "") as EntryValue;
    return v && v.v === 1 ? v : undefined;
  } catch {
    return undefined; // not ours, or damaged: listed as such
  }
}

/** A grant as the scripts report it: {'held', slot, fence, at}. */
function parseHeld(reply: unknown[]): { slot: number; fence: bigint; at: number } {
  return { slot: Number(reply[1]), fence: BigInt(String(reply[2])), at: Number(reply[3]) };
}

/** The lease of one token, renewed by compare-and-extend (it ends the moment the server forgets the token). */
export class TokenLease extends LeaseKeeper {
  readonly token: string;
  readonly descriptor: string;

  constructor(locks: RedisLocks, descriptor: string, token: string, ttlSeconds: number, sentAt: number) {
    super({
      ttlSeconds, sentAt, unref: locks.unrefTimer, // one function per client: its leases share one timer
      renew: async (timeoutMs) => (await locks.renew(descriptor, token, ttlSeconds, timeoutMs))[0] !== "gone",
      goneWhy: "redis no longer knows this holder (its lease ran out, or the server lost its data)",
    });
    this.token = token;
    this.descriptor = descriptor;
  }
}

export class RedisLocks {
  readonly client: RedisClient;
  readonly #prefix: string;
  readonly #done: DoneDesk;
  /** Makes a timer not keep the process alive (the same function for every lease of this client). */
  readonly unrefTimer = (t: unknown): void => this.client.unref(t);

  constructor(client: RedisClient, prefix: string) {
    this.client = client;
    this.#prefix = prefix;
    this.#done = new DoneDesk(this);
  }

  get prefix(): string {
    return this.#prefix;
  }

  /** Every key of descriptor starts with this (descriptors contain neither ":" nor "#"). */
  base(descriptor: string): string {
    return `${this.#prefix}${descriptor}:`;
  }

  #script(name: ScriptName, d: string, args: (string | number)[], timeoutMs?: number): Promise<unknown[]> {
    return this.client.script(name, [this.base(d), this.#prefix], [d, ...args], timeoutMs) as Promise<unknown[]>;
  }

  #value(req: RedisLockRequest): EntryValue {
    return { v: 1, mode: req.shared ? "shared" : "exclusive", maxHolders: req.maxHolders, queuedAt: Date.now(), ...req.info };
  }

  /** The JSON of req.info without its opening brace, for the last info seen (a process asks with the same one again and again). */
  #infoJson: { info: HolderInfo; tail: string } | undefined;

  /**
   * #record is JSON.stringify(value) for a value made by #value from info:
   * the part that comes from info is encoded once while info stays the same,
   * which saves most of an encoding per request.
   */
  #record(value: EntryValue, info: HolderInfo): string {
    let c = this.#infoJson;
    if (!c || !sameFields(c.info, info)) {
      const json = JSON.stringify(info);
      this.#infoJson = c = { info: { ...info }, tail: json === "{}" ? "}" : `,${json.slice(1)}` };
    }
    return `{"v":1,"mode":"${value.mode}","maxHolders":${value.maxHolders},"queuedAt":${value.queuedAt}${c.tail}`;
  }

  /** mismatch is the usage error for a request whose shape contradicts the descriptor's (reply {'mismatch', n, record}). */
  static mismatch(req: Pick<RedisLockRequest, "descriptor" | "maxHolders">, reply: unknown[]): WaitlockError {
    const n = Number(reply[1]);
    const v = parseEntry(String(reply[2] ?? ""));
    const shape = (m: number) => (m === 1 ? "a mutex" : `a semaphore of ${m}`);
    const by = v ? ` (by PID ${v.pid} on ${v.host})` : "";
    return new WaitlockError("EUSAGE", `${req.descriptor} is held or awaited as ${shape(n)}${by}, not ${shape(req.maxHolders)}`);
  }

  /** renew extends token's lease (compare-and-extend); the reply says whether it holds, waits, or is gone. */
  renew(descriptor: string, token: string, ttlSeconds: number, timeoutMs?: number): Promise<unknown[]> {
    return this.#script("waitlockRenew", descriptor, [token, ttlSeconds * 1000], timeoutMs);
  }

  /** release drops token, holding or waiting, and grants what it freed to the next in line. */
  async release(descriptor: string, token: string, timeoutMs?: number): Promise<boolean> {
    return Number(await this.#script("waitlockRelease", descriptor, [token], timeoutMs)) === 1;
  }

  /** check: would a request of this shape be granted right now? Reads only. */
  async check(req: Pick<RedisLockRequest, "descriptor" | "maxHolders" | "shared">): Promise<boolean> {
    const r = await this.#script("waitlockCheck", req.descriptor, [req.shared ? "s" : "x", req.maxHolders]);
    if (r[0] === "mismatch") throw RedisLocks.mismatch(req, r);
    return r[0] === "free";
  }

  /** tryAcquire takes the lock if it is free now and never waits (and writes nothing when it is busy). */
  tryAcquire(req: RedisLockRequest): Promise<RedisHold | undefined> {
    return this.#acquire(req, undefined);
  }

  /** acquire waits in the queue until granted, the deadline passes, or signal aborts. */
  acquire(req: RedisLockRequest, wait: WaitOptions): Promise<RedisHold> {
    return this.#acquire(req, wait) as Promise<RedisHold>; // waiting, it returns a hold or throws
  }

  /**
   * #acquire asks with a fresh token and, if it may wait, waits. A waiter
   * whose place is lost (its lease ran out while the server was away, or the
   * server restarted empty) queues again with a new token, and one that
   * cannot reach the server keeps trying, both until its deadline (then
   * ETIMEDOUT). Only first contact failing is EAGAIN: a server that never
   * answered is "unreachable", not "busy".
   */
  async #acquire(req: RedisLockRequest, wait: WaitOptions | undefined): Promise<RedisHold | undefined> {
    const d = req.descriptor;
    const firstContactEnd = now() + FIRST_CONTACT_MS;
    for (let attempt = 0; ; attempt++) {
      const token = newToken();
      let lease: TokenLease | undefined;
      let done = false;
      /** The server may know token (a request it took went unanswered): to be given back if we give up. */
      let maybeKnown = false;
      const value = this.#value(req);
      try {
        const args = [token, req.shared ? "s" : "x", req.maxHolders, req.preferredSlot ?? -1, req.leaseSeconds * 1000, this.#record(value, req.info), wait ? 1 : 0];
        const until = attempt === 0 ? Math.min(firstContactEnd, wait?.deadline ?? Infinity) : wait!.deadline;
        const { reply: r, sentAt } = await this.#ask(d, args, until, wait?.signal, () => (maybeKnown = true));
        if (r[0] === "mismatch") throw RedisLocks.mismatch(req, r);
        if (r[0] === "busy") return undefined;
        lease = new TokenLease(this, d, token, req.leaseSeconds, sentAt);
        if (lease.msUntilLoss < lease.timing.renewEveryMs) {
          // Answered so late (a server that was paused, say) that the lease may be
          // nearly over before it is used: give it back and ask again.
          throw new LateGrant(`redis took ${Math.round(now() - sentAt)} ms to answer a request for ${d}`);
        }
        const hold = r[0] === "held" ? this.#hold(req, value, lease, parseHeld(r)) : await this.#wait(req, value, lease, wait!);
        done = true;
        return hold;
      } catch (err) {
        const answered = attempt > 0 || lease !== undefined;
        const again = wait && answered && isWaitlockError(err) && (err.code === "ELOST" || err.code === "EAGAIN");
        if (!again) throw err;
        if (wait.signal?.aborted) throw new WaitlockError("EABORTED", `stopped waiting for ${d}: aborted`, { cause: wait.signal.reason });
        if (now() >= wait.deadline) throw new WaitlockError("ETIMEDOUT", `timed out waiting for ${d} (redis: ${err.message})`);
        await sleep(Math.min(500, Math.max(0, wait.deadline - now())), wait.signal);
      } finally {
        if ((lease || maybeKnown) && !done) {
          lease?.stop();
          // Out of the queue, or the grant given back if one came meanwhile. If
          // unreachable: the lease runs out on the server by itself, so giving
          // up is not delayed by more than a moment.
          await this.release(d, token, GIVE_UP_RELEASE_MS).catch(() => undefined);
        }
      }
    }
  }

  /**
   * #ask sends an acquire request and returns the reply and when it was sent.
   * A request that went unanswered (NoAnswer: the server took it, or may
   * have) is asked again with the same token until `until`: the script
   * answers a token it already knows with where it stands, so the request
   * keeps its place in the queue and no ghost of it waits ahead of us. Once
   * the server may know the token, failures to reach it are retried too.
   */
  async #ask(d: string, args: (string | number)[], until: number, signal: AbortSignal | undefined, taken: () => void): Promise<{ reply: unknown[]; sentAt: number }> {
    let unanswered = false;
    for (;;) {
      const sentAt = now();
      try {
        const timeoutMs = unanswered ? Math.max(100, Math.min(REQUEST_BOUND_MS, until - sentAt)) : undefined;
        return { reply: await this.#script("waitlockAcquire", d, args, timeoutMs), sentAt };
      } catch (err) {
        if (err instanceof NoAnswer) {
          unanswered = true;
          taken();
        }
        if (!unanswered || !isWaitlockError(err, "EAGAIN") || now() + ASK_AGAIN_MS >= until) throw err;
        await sleep(ASK_AGAIN_MS, signal).catch(() => undefined);
        if (signal?.aborted) throw new WaitlockError("EABORTED", `stopped waiting for ${d}: aborted`, { cause: signal.reason });
      }
    }
  }

  /**
   * #wait blocks on the waiter's own list, where the script that frees a slot
   * for it pushes the grant. Between blocks (at least every CHECK_IN_MS, and
   * when the first lease of the descriptor runs out if this waiter is next) it
   * checks in: renews its place, sweeps run-out leases (which may grant it),
   * and reads a grant whose wake-up it missed.
   */
  async #wait(req: RedisLockRequest, value: EntryValue, lease: TokenLease, wait: WaitOptions): Promise<RedisHold> {
    const d = req.descriptor;
    const wake = `${this.base(d)}wake:${lease.token}`;
    // Stops a block at once: the caller aborts, the lease is judged lost, or the deadline passes.
    const stop = new AbortController();
    const onStop = () => {
      stop.abort();
      this.client.unblock(wake);
    };
    wait.signal?.addEventListener("abort", onStop, { once: true });
    lease.lost.addEventListener("abort", onStop, { once: true });
    const stopDeadline = setLongTimeout(onStop, wait.deadline - now());
    let blockMs = CHECK_IN_MS;
    try {
      for (;;) {
        if (wait.signal?.aborted) throw new WaitlockError("EABORTED", `stopped waiting for ${d}: aborted`, { cause: wait.signal.reason });
        if (lease.lostReason) throw lease.lostReason;
        const left = wait.deadline - now();
        if (left <= 0) throw new WaitlockError("ETIMEDOUT", `timed out waiting for ${d}`);
        try {
          const popped = await this.client.blpop(wake, Math.min(left, blockMs));
          if (popped) {
            const [slot, fence, at] = popped.split(" ");
            return this.#hold(req, value, lease, { slot: Number(slot), fence: BigInt(fence), at: Number(at) });
          }
        } catch (err) {
          if (stop.signal.aborted) continue; // said at the top of the loop
          if (!isWaitlockError(err, "EAGAIN")) throw err;
          await sleep(200, stop.signal); // the server is away: check in below, the lease decides
        }
        if (now() >= wait.deadline || stop.signal.aborted) continue;
        const sentAt = now();
        let r: unknown[];
        try {
          // Bounded by the deadline too: a server that does not answer must not hold a waiter past it.
          r = await this.renew(d, lease.token, req.leaseSeconds, Math.max(100, Math.min(REQUEST_BOUND_MS, wait.deadline - now())));
        } catch (err) {
          if (!isWaitlockError(err, "EAGAIN")) throw err;
          blockMs = CHECK_IN_MS;
          continue;
        }
        if (r[0] === "gone") throw new WaitlockError("ELOST", `redis dropped this waiter's place in the queue for ${d}`);
        lease.confirm(sentAt);
        if (r[0] === "held") return this.#hold(req, value, lease, parseHeld(r));
        // Next in line: look again just after the first lease runs out (a holder that died).
        const untilFirstExpiry = Number(r[2]);
        blockMs = Number(r[1]) === 0 ? Math.max(5, Math.min(CHECK_IN_MS, untilFirstExpiry + 5)) : CHECK_IN_MS;
      }
    } finally {
      // Not needed before the grant is returned (a stop that comes meanwhile finds nothing to stop).
      later(() => {
        stopDeadline();
        wait.signal?.removeEventListener("abort", onStop);
        lease.lost.removeEventListener("abort", onStop);
      }, this.unrefTimer);
    }
  }

  /** #hold makes a grant of req (whose record is value) on lease. */
  #hold(req: RedisLockRequest, value: EntryValue, lease: TokenLease, g: { slot: number; fence: bigint; at: number }): RedisHold {
    if (lease.lostReason) throw lease.lostReason; // granted on a lease already judged lost: the caller queues again
    const d = req.descriptor;
    let released = false;
    return {
      slot: g.slot, fence: g.fence, acquiredAt: g.at, lease,
      rewrite: async (info) => {
        Object.assign(value, info);
        await this.#script("waitlockRewrite", d, [lease.token, JSON.stringify(value)]);
      },
      release: async () => {
        if (released) return;
        released = true;
        const lost = lease.lostReason !== undefined;
        lease.stop();
        // Unreachable: the lease runs out on the server by itself; nobody is granted before then.
        // After a loss the server has most likely forgotten the token: do not wait long to hear it.
        await this.release(d, lease.token, lost ? LOST_RELEASE_MS : undefined).catch(() => undefined);
      },
    };
  }

  /**
   * adopt keeps alive the lease of a hold another process made (foreground
   * mode), certain for certainForMs from now as that process judged it. It
   * renews at once.
   */
  adopt(descriptor: string, token: string, ttlSeconds: number, certainForMs: number): TokenLease {
    const lease = new TokenLease(this, descriptor, token, ttlSeconds, now() + certainForMs - ttlSeconds * 1000);
    lease.renewNow();
    return lease;
  }

  /** list reads the holders and waiters of one descriptor, or of all, with the server's view of their leases. */
  async list(descriptor?: string): Promise<ListedDescriptor[]> {
    const r = (await this.client.script("waitlockList", [this.#prefix], [descriptor ?? ""])) as unknown[];
    const serverNow = Number(r[0]);
    const out: ListedDescriptor[] = [];
    for (const item of r.slice(1) as [string, string[], string[], string[]][]) {
      const [d, stateFlat, expiryFlat, queue] = item;
      const state = new Map<string, string>();
      for (let i = 0; i + 1 < stateFlat.length; i += 2) state.set(stateFlat[i], stateFlat[i + 1]);
      const expiry = new Map<string, number>();
      for (let i = 0; i + 1 < expiryFlat.length; i += 2) expiry.set(expiryFlat[i], Number(expiryFlat[i + 1]));
      const left = (token: string) => (expiry.get(token) ?? 0) - serverNow;
      /** A token's state: the header fields and the record. */
      const entry = (token: string) => {
        const v = state.get(`t${token}`) ?? "";
        const nl = v.indexOf("\n");
        return { f: (nl >= 0 ? v.slice(0, nl) : v).split(" "), value: nl >= 0 ? parseEntry(v.slice(nl + 1)) : undefined };
      };
      const holders: ListedEntry[] = [];
      for (const field of state.keys()) {
        if (!field.startsWith("t")) continue;
        const token = field.slice(1);
        const { f, value } = entry(token);
        if (f[0] !== "H" || left(token) <= 0) continue;
        holders.push({
          token, kind: f[2] === "s" ? "reader" : "slot", slot: Number(f[3]), fence: BigInt(f[4]), acquiredAt: Number(f[5]),
          leaseLeftMs: left(token), value,
        });
      }
      holders.sort((a, b) => a.slot - b.slot || (a.fence! < b.fence! ? -1 : 1));
      const waiters = queue.filter((t) => left(t) > 0).map((token): ListedEntry => ({
        token, kind: "waiter", slot: 0, leaseLeftMs: left(token), value: entry(token).value,
      }));
      if (holders.length || waiters.length) out.push({ descriptor: d, maxHolders: Number(state.get("n")) || 1, holders, waiters });
    }
    return out.sort((a, b) => (a.descriptor < b.descriptor ? -1 : a.descriptor > b.descriptor ? 1 : 0));
  }

  /** watch calls onChange whenever a script changes descriptor (any, if undefined). Returns a function that stops. */
  watch(descriptor: string | undefined, onChange: () => void): () => void {
    return this.client.subscriber().on(`${this.#prefix}#events`, (d) => {
      if (descriptor === undefined || d === descriptor) onChange();
    }, onChange);
  }

  /**
   * requestDone asks every current holder of descriptor, wherever it runs, to
   * take signal, and returns the holders that answered (each signals only the
   * process keeping its own lease: no PID from the network is ever trusted).
   */
  async requestDone(descriptor: string, signal: string, from: DoneRequest["from"]): Promise<HolderInfo[]> {
    const [listed] = await this.list(descriptor);
    const tokens = listed?.holders.map((h) => h.token) ?? [];
    if (tokens.length === 0) return [];
    const base = this.base(descriptor);
    const request: DoneRequest = { id: newToken(), descriptor, signal, tokens, from };
    const ack = `${base}ack:${request.id}`;
    const json = JSON.stringify(request);
    await this.client.run((r) => r.multi().set(`${base}done`, json, "PX", DONE_KEEP_MS).publish(`${this.#prefix}#done`, json).exec());
    const answered = new Map<string, HolderInfo>();
    try {
      const heard = (answers: string[]) => {
        for (const a of answers) {
          try {
            const { token, info } = JSON.parse(a) as { token: string; info: HolderInfo };
            if (tokens.includes(token)) answered.set(token, info);
          } catch {
            // not an answer
          }
        }
      };
      const deadline = now() + DONE_ANSWER_MS;
      while (now() < deadline) {
        const [answers, states] = await this.client.run((r) => Promise.all([r.lrange(ack, 0, -1), r.hmget(`${base}state`, ...tokens.map((t) => `t${t}`))]));
        heard(answers);
        if (answered.size >= tokens.length) break;
        if (states.every((s) => s === null)) {
          // Every target let go (say, it had already ended). A holder writes its
          // answer before it lets go, so one that did both between the two reads
          // above is heard now.
          heard(await this.client.run((r) => r.lrange(ack, 0, -1)));
          break;
        }
        await sleep(50);
      }
      return [...answered.values()];
    } finally {
      await this.client.run((r) => r.del(ack)).catch(() => undefined);
    }
  }

  /**
   * followDone answers --done requests for token (a hold of this process) and
   * hands each to onRequest and answers it. Returns a function that stops.
   */
  followDone(descriptor: string, token: string, info: HolderInfo, onRequest: DoneHandler): () => void {
    return this.#done.follow(descriptor, token, info, onRequest);
  }

  /** answerDone records this holder's answer to a request (kept as long as the request). */
  async answerDone(request: DoneRequest, token: string, info: HolderInfo): Promise<void> {
    const ack = `${this.base(request.descriptor)}ack:${request.id}`;
    await this.client.run((r) => r.multi().rpush(ack, JSON.stringify({ token, info })).pexpire(ack, DONE_KEEP_MS).exec());
  }

  /** lastDone reads the last --done request of descriptor still kept, if any. */
  async lastDone(descriptor: string): Promise<DoneRequest | undefined> {
    const json = await this.client.run((r) => r.get(`${this.base(descriptor)}done`));
    return json ? DoneDesk.parse(json) : undefined;
  }
}

/**
 * DoneDesk is where a process hears --done requests for the holds it keeps:
 * one subscription to P #done for all of them. A request published while the
 * subscription was being made is read back from B done once it is ready, and
 * one that arrives just before its hold is registered here (the grant's reply
 * and the message travel on different connections) is remembered for a while.
 */
class DoneDesk {
  readonly #locks: RedisLocks;
  readonly #follows = new Map<string, { descriptor: string; info: HolderInfo; onRequest: DoneHandler }>();
  readonly #recent: { at: number; request: DoneRequest }[] = [];
  /** Requests answered (id/token), the oldest first, to answer each once. */
  readonly #answered = new Set<string>();
  #subscribed = false;

  constructor(locks: RedisLocks) {
    this.#locks = locks;
  }

  static parse(json: string): DoneRequest | undefined {
    try {
      const r = JSON.parse(json) as DoneRequest;
      const ok = r && typeof r.id === "string" && typeof r.descriptor === "string" && typeof r.signal === "string" && Array.isArray(r.tokens);
      return ok ? r : undefined;
    } catch {
      return undefined;
    }
  }

  follow(descriptor: string, token: string, info: HolderInfo, onRequest: DoneHandler): () => void {
    this.#follows.set(token, { descriptor, info, onRequest });
    // Subscribed once, for the life of the client: a process that locks in a loop pays nothing here.
    this.#subscribed ||= (this.#locks.client.subscriber().on(`${this.#locks.prefix}#done`, (json) => this.#heard(json), () => this.#catchUp()), true);
    for (const { request } of this.#fresh()) this.#handle(request);
    return () => void this.#follows.delete(token);
  }

  /** The requests heard in the last DONE_KEEP_MS. */
  #fresh(): { at: number; request: DoneRequest }[] {
    const since = now() - DONE_KEEP_MS;
    while (this.#recent.length && this.#recent[0].at < since) this.#recent.shift();
    return this.#recent;
  }

  #heard(json: string): void {
    const request = DoneDesk.parse(json);
    if (!request) return;
    this.#fresh().push({ at: now(), request });
    this.#handle(request);
  }

  /** Once (re)subscribed: the last request of each descriptor followed, in case it came while nobody listened. */
  #catchUp(): void {
    for (const d of new Set([...this.#follows.values()].map((f) => f.descriptor))) {
      void this.#locks.lastDone(d).then((r) => r && this.#handle(r), () => undefined);
    }
  }

  #handle(request: DoneRequest): void {
    for (const token of request.tokens) {
      const f = this.#follows.get(token);
      const key = `${request.id}/${token}`;
      if (!f || f.descriptor !== request.descriptor || this.#answered.has(key)) continue;
      this.#answered.add(key);
      if (this.#answered.size > MAX_REMEMBERED) this.#answered.delete(this.#answered.values().next().value!);
      const then = f.onRequest(request.signal, doneFrom(request.from));
      void this.#locks.answerDone(request, token, f.info).catch(() => undefined).finally(() => then?.());
    }
  }
}
