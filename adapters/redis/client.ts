// Connections to one Redis server through ioredis, made the way a lock needs
// them: on demand, each request bounded in time, never reconnecting or
// queueing by itself (a request either reaches the server or fails at once,
// and the protocol decides what to try next, as with etcd's HTTP), and never
// keeping the process alive while idle. Three kinds: the main connection for
// scripts, a pool of connections for a waiter blocked in BLPOP, and one
// subscriber for --done requests and --list --watch.
//
// ioredis is loaded on first use (it costs tens of ms to load), through the
// runtime's NetworkSupport, so nothing of it is paid by the lock directory.
import type { Redis, RedisOptions } from "ioredis";
import type { RedisTarget } from "../backend-url.ts";
import { WaitlockError } from "../errors.ts";
import type { NetworkSupport, TlsFiles } from "../http.ts";
import { ACQUIRE, CHECK, LIST, RELEASE, RENEW, REWRITE } from "./scripts.ts";

/** What the runtime's loader returns: the ioredis module (its named export is all we use). */
export interface IoRedisModule {
  Redis: typeof Redis;
}

/** The protocol's scripts, by the name ioredis defines them under, and how many KEYS each takes. */
const SCRIPTS = {
  waitlockAcquire: [ACQUIRE, 2],
  waitlockRenew: [RENEW, 2],
  waitlockRelease: [RELEASE, 2],
  waitlockRewrite: [REWRITE, 2],
  waitlockCheck: [CHECK, 2],
  waitlockList: [LIST, 1],
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type ScriptFn = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** The first TCP (and TLS) connection: bounded well inside the 10 s an unreachable server may cost. */
const CONNECT_TIMEOUT_MS = 3000;
/** One request; a renewal bounds its own tighter. */
const REQUEST_TIMEOUT_MS = 3000;
/** How long a blocked BLPOP may overrun its own timeout before the connection is judged dead (a paused server). */
const BLOCK_GRACE_MS = 1500;
const MAX_IDLE_BLOCKING = 4;
const RESUBSCRIBE_MS = 500;

/** Transport failures: the server did not answer (exit 75 on first contact, retried while waiting). */
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOTFOUND|EAI_AGAIN|Connection is closed|Stream isn't writeable|connect ETIMEDOUT|socket hang up/i;
/** TLS handshakes that failed: a refusal (exit 5), not an outage. */
const TLS_REFUSED = /certificate|ERR_TLS|ERR_SSL|SSL routines|self[- ]signed|UNABLE_TO_|DEPTH_ZERO|wrong version number|EPROTO/i;
/** The server is there but not taking locks right now (loading, a replica, out of memory…). */
const BUSY_SERVER = /^(LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|OOM|CLUSTERDOWN)\b/;

/**
 * NoAnswer: a request went out on a connection the server had answered (its
 * handshake at least), and no answer came in time. Unlike a connection that
 * never opened, the server may have acted on it: the request was taken and
 * only its reply was lost (a pause, or a link that failed in between).
 */
export class NoAnswer extends WaitlockError {
  constructor(message: string) {
    super("EAGAIN", message);
  }
}

/**
 * RedisClient owns the connections to one server. Every error it throws is a
 * WaitlockError naming the endpoint, never a credential.
 */
export class RedisClient {
  readonly target: RedisTarget;
  readonly #load: () => Promise<IoRedisModule>;
  readonly #tls: TlsFiles | undefined;
  readonly #unref: (t: unknown) => void;
  #module: Promise<IoRedisModule> | undefined;
  readonly #main: Link;
  readonly #idle: Link[] = [];
  /** The connections blocked in BLPOP, by the key each blocks on. */
  readonly #blocked = new Map<string, Link>();
  #subscriber: Subscriber | undefined;
  #closed = false;

  /** connect makes a client for target, reading its TLS files (rediss://) at once: a bad path fails before any contact. */
  static connect(target: RedisTarget, net: NetworkSupport, unref: (t: unknown) => void = () => undefined): RedisClient {
    let tls: TlsFiles | undefined;
    if (target.scheme === "rediss") {
      tls = {};
      for (const name of ["ca", "cert", "key"] as const) {
        const path = target.tls[name];
        if (path !== undefined) tls[name] = net.readText(path);
      }
    }
    if (!net.loadRedis) throw new WaitlockError("EUSAGE", `this runtime cannot reach ${target.display} (no Redis client)`);
    return new RedisClient(target, net.loadRedis, tls, unref);
  }

  private constructor(target: RedisTarget, load: () => Promise<IoRedisModule>, tls: TlsFiles | undefined, unref: (t: unknown) => void) {
    this.target = target;
    this.#load = load;
    this.#tls = tls;
    this.#unref = unref;
    this.#main = new Link(this);
  }

  /** The server, host:port: for messages (never with credentials). */
  get endpoint(): string {
    return this.target.endpoint;
  }

  unref(timer: unknown): void {
    this.#unref(timer);
  }

  async module(): Promise<IoRedisModule> {
    this.#module ??= this.#load().catch((err: unknown) => {
      this.#module = undefined;
      throw err instanceof WaitlockError ? err : new WaitlockError("ESYSTEM", `cannot load the Redis client (ioredis): ${(err as Error)?.message ?? err}`, { cause: err });
    });
    return this.#module;
  }

  /** The options of every connection: no reconnecting, no offline queue, nothing hidden that could hang. */
  options(): RedisOptions {
    const t = this.target;
    const tls = this.#tls && { ...this.#tls, servername: /^[0-9.:]+$/.test(t.host) ? undefined : t.host };
    return {
      host: t.host, port: t.port, db: t.db, username: t.user, password: t.password, tls,
      protocol: 2, lazyConnect: true, enableReadyCheck: false, enableOfflineQueue: false, maxRetriesPerRequest: 0,
      retryStrategy: () => null, autoResubscribe: false, autoResendUnfulfilledCommands: false,
      // connectionName also makes every connection's handshake a request the server must
      // answer before ioredis calls it ready: a request sent on a ready connection went to a
      // server that was answering (NoAnswer relies on this).
      connectTimeout: CONNECT_TIMEOUT_MS, keepAlive: 10_000, connectionName: "waitlock",
      // A connection given up is destroyed at once, failing what is pending on it: by
      // default ioredis half-closes and waits 2 s, which a paused server never answers.
      disconnectTimeout: 0,
    };
  }

  /** script runs one of the protocol's scripts on the main connection. */
  script(name: ScriptName, keys: string[], args: (string | number)[], timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
    return this.#main.run((r) => (r as unknown as Record<ScriptName, ScriptFn>)[name](...keys, ...args), timeoutMs);
  }

  /** run sends plain commands on the main connection. */
  run<T>(fn: (r: Redis) => Promise<T>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
    return this.#main.run(fn, timeoutMs);
  }

  /**
   * blpop blocks on key for up to timeoutMs on a connection of its own (a
   * blocked connection can serve nothing else) and returns the value popped,
   * or null. unblock(key) ends the block at once.
   */
  async blpop(key: string, timeoutMs: number): Promise<string | null> {
    this.#closed = false;
    const link = this.#idle.pop() ?? new Link(this);
    this.#blocked.set(key, link);
    let reusable = false;
    try {
      const seconds = (Math.max(10, timeoutMs) / 1000).toFixed(3);
      const r = await link.run((c) => c.blpop(key, seconds), timeoutMs + BLOCK_GRACE_MS);
      reusable = true;
      return r ? r[1] : null;
    } finally {
      // No longer the link registered: unblock closed it meanwhile.
      const unblocked = this.#blocked.get(key) !== link;
      if (!unblocked) this.#blocked.delete(key);
      if (reusable && !unblocked && !this.#closed && this.#idle.length < MAX_IDLE_BLOCKING) this.#idle.push(link);
      else link.drop();
    }
  }

  /**
   * unblock ends the blpop on key at once, by closing its connection. A map
   * entry, where an abort listener per block would be added and removed on
   * every wake-up: removing one is tens of µs on the path to the grant.
   */
  unblock(key: string): void {
    const link = this.#blocked.get(key);
    if (!link) return;
    this.#blocked.delete(key);
    link.drop();
  }

  /** subscriber is the one connection that follows pub/sub channels (made on first use). */
  subscriber(): Subscriber {
    this.#subscriber ??= new Subscriber(this);
    return this.#subscriber;
  }

  /** close drops every connection; later requests open new ones (and a later subscription subscribes again). */
  close(): void {
    this.#closed = true;
    this.#main.drop();
    for (const l of this.#idle.splice(0)) l.drop();
    for (const l of this.#blocked.values()) l.drop();
    this.#blocked.clear();
    this.#subscriber?.close();
  }

  /**
   * error turns what ioredis reports into a WaitlockError: unreachable →
   * EAGAIN, AUTH or TLS refused → EPERM, anything else the server said →
   * ESYSTEM. cause is what a connection last reported (the real reason behind
   * a "Connection is closed").
   */
  error(err: unknown, cause?: unknown): WaitlockError {
    if (err instanceof WaitlockError) return err;
    const where = `redis at ${this.endpoint}`;
    const text = (e: unknown) => String((e as Error)?.message ?? e).split("\n")[0];
    const code = (e: unknown) => String((e as { code?: unknown })?.code ?? "");
    for (const e of cause === undefined ? [err] : [cause, err]) {
      const msg = text(e);
      if (/^(WRONGPASS|NOAUTH|NOPERM)\b/.test(msg) || /invalid (username-)?password/i.test(msg)) {
        const who = this.target.user === undefined ? "" : ` as user ${JSON.stringify(this.target.user)}`;
        return new WaitlockError("EPERM", `${where} refused access${who}: ${msg}`, { cause: e });
      }
      if (TLS_REFUSED.test(msg) || TLS_REFUSED.test(code(e))) return new WaitlockError("EPERM", `TLS refused by ${where}: ${msg}`, { cause: e });
      if (BUSY_SERVER.test(msg)) return new WaitlockError("EAGAIN", `${where} cannot take locks now: ${msg}`, { cause: e });
    }
    const transport = [cause, err].find((e) => e !== undefined && (UNREACHABLE.test(text(e)) || UNREACHABLE.test(code(e))));
    if (transport !== undefined) {
      const why = code(transport) || text(transport);
      return new WaitlockError("EAGAIN", `cannot reach ${where} (${why})`, { cause: err });
    }
    return new WaitlockError("ESYSTEM", `${where}: ${text(err)}`, { cause: err });
  }
}

/** A request on a connection: when it is late, and how to fail it then. */
interface Pending {
  lateAt: number;
  timeoutMs: number;
  /** Sent on a ready connection (ioredis is ready once the server has answered the handshake). */
  sent: boolean;
  fail: ((err: WaitlockError) => void) | undefined;
}

/**
 * Link is one connection, opened on first use and again after it broke. It
 * keeps the process alive only while a request is in flight.
 */
class Link {
  readonly #client: RedisClient;
  #redis: Redis | undefined;
  #opening: Promise<Redis> | undefined;
  #inFlight = 0;
  #lastError: unknown;
  /** Requests on their way, each with the moment it is late, and the one timer that watches them. */
  readonly #pending = new Set<Pending>();
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #watchAt = Infinity;

  constructor(client: RedisClient) {
    this.#client = client;
  }

  async #open(): Promise<Redis> {
    const { Redis } = await this.#client.module();
    const r = new Redis(this.#client.options());
    for (const [name, [lua, numberOfKeys]] of Object.entries(SCRIPTS)) r.defineCommand(name, { lua, numberOfKeys });
    this.#lastError = undefined;
    r.on("error", (err: unknown) => (this.#lastError = err)); // kept for the message; also keeps ioredis from printing it
    r.on("end", () => {
      if (this.#redis === r) this.#redis = undefined;
    });
    try {
      await r.connect();
    } catch (err) {
      r.disconnect();
      throw this.#client.error(err, this.#lastError);
    }
    return r;
  }

  async #ready(): Promise<Redis> {
    if (this.#redis && this.#redis.status === "ready") return this.#redis;
    if (this.#redis) this.drop();
    this.#opening ??= this.#open().then(
      (r) => {
        this.#opening = undefined;
        this.#redis = r;
        return r;
      },
      (err: unknown) => {
        this.#opening = undefined;
        throw err;
      },
    );
    return this.#opening;
  }

  #hold(r: Redis, on: boolean): void {
    const stream = r.stream as { ref?: () => void; unref?: () => void } | undefined;
    try {
      if (on) stream?.ref?.();
      else stream?.unref?.();
    } catch {
      // a runtime without ref/unref on sockets: the connection then keeps the process alive until close()
    }
  }

  /**
   * run sends fn's requests, failing with EAGAIN (and dropping the connection)
   * if no answer comes within timeoutMs. One watchdog timer per connection
   * bounds every request on it: a request adds no timer of its own.
   */
  async run<T>(fn: (r: Redis) => Promise<T>, timeoutMs: number): Promise<T> {
    this.#inFlight++;
    // Connected (nearly always): no detour through #ready, which cost microtask turns on every
    // request, and the request is written first. Its deadline and the socket's ref follow, off
    // the path to the server: in a process that was idle they cost tens of µs before the write.
    let r = this.#redis?.status === "ready" ? this.#redis : undefined;
    const p: Pending = { lateAt: 0, timeoutMs, sent: r !== undefined, fail: undefined };
    try {
      let work = r && fn(r);
      p.lateAt = performance.now() + timeoutMs;
      if (!r || !work) {
        r = await this.#bounded(this.#ready(), p);
        p.sent = true;
        work = fn(r);
      }
      this.#hold(r, true);
      return await this.#bounded(work, p);
    } catch (err) {
      const e = this.#client.error(err, this.#lastError);
      if (e.code === "EAGAIN" || e.code === "EPERM") this.drop();
      throw e;
    } finally {
      this.#pending.delete(p);
      if (--this.#inFlight === 0 && r && this.#redis === r) this.#hold(r, false);
    }
  }

  /** #bounded settles as work does, or fails once p is late (the watchdog says so). */
  #bounded<T>(work: Promise<T>, p: Pending): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      p.fail = reject;
      this.#pending.add(p);
      this.#watch(p.lateAt);
      work.then(resolve, reject);
    });
  }

  /**
   * #watch makes sure the watchdog fires no later than at. It never keeps the
   * process alive: a request in flight does that through its socket (#hold).
   */
  #watch(at: number): void {
    if (at >= this.#watchAt) return;
    if (this.#watchdog !== undefined) clearTimeout(this.#watchdog);
    this.#watchAt = at;
    this.#watchdog = setTimeout(() => this.#late(), Math.max(0, at - performance.now()));
    this.#client.unref(this.#watchdog);
  }

  /** #late fails every request that is late and drops the connection: a server that does not answer (paused, cut off) must not keep requests queued behind them. */
  #late(): void {
    this.#watchdog = undefined;
    this.#watchAt = Infinity;
    const t = performance.now();
    let next = Infinity;
    const late: Pending[] = [];
    for (const p of this.#pending) {
      if (p.lateAt <= t) late.push(p);
      else next = Math.min(next, p.lateAt);
    }
    if (late.length) this.drop();
    for (const p of late) {
      this.#pending.delete(p);
      const why = `cannot reach redis at ${this.#client.endpoint} (no answer within ${Math.round(p.timeoutMs)} ms)`;
      p.fail?.(p.sent ? new NoAnswer(why) : new WaitlockError("EAGAIN", why));
    }
    if (next < Infinity) this.#watch(next);
  }

  /** drop closes the connection (pending requests fail); the next request opens a new one. */
  drop(): void {
    const r = this.#redis;
    this.#redis = undefined;
    r?.disconnect();
    void this.#opening?.then((o) => o.disconnect(), () => undefined);
  }
}

/**
 * Subscriber follows pub/sub channels on a connection of its own. When the
 * connection breaks it subscribes again (until closed) and says so through
 * onReady, so that a listener can look for what it may have missed.
 */
export class Subscriber {
  readonly #client: RedisClient;
  readonly #handlers = new Map<string, Set<(message: string) => void>>();
  readonly #onReady = new Map<string, Set<() => void>>();
  /** The channels the current connection asked for, and those the server has confirmed. */
  readonly #subscribed = new Set<string>();
  readonly #confirmed = new Set<string>();
  #redis: Redis | undefined;
  #ready = false;
  #starting = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(client: RedisClient) {
    this.#client = client;
  }

  /**
   * on calls handler with each message on channel, and onReady each time the
   * subscription to channel is (re)established. Returns a function that stops
   * both (the channel stays subscribed, and the connection open: it keeps
   * nothing alive, and a process that locks in a loop would otherwise pay a
   * new connection for every lock; close() ends it).
   */
  on(channel: string, handler: (message: string) => void, onReady?: () => void): () => void {
    this.#closed = false; // a backend used again after close() follows again
    if (!this.#handlers.has(channel)) this.#handlers.set(channel, new Set());
    this.#handlers.get(channel)!.add(handler);
    if (onReady) {
      if (!this.#onReady.has(channel)) this.#onReady.set(channel, new Set());
      this.#onReady.get(channel)!.add(onReady);
    }
    if (!this.#redis) this.#start();
    else if (this.#confirmed.has(channel)) onReady?.();
    else if (this.#ready) this.#sync(this.#redis);
    // else: connecting, or asked for: its listeners are told when the server confirms
    return () => {
      this.#handlers.get(channel)?.delete(handler);
      if (onReady) this.#onReady.get(channel)?.delete(onReady);
    };
  }

  #start(): void {
    if (this.#starting || this.#redis || this.#closed) return;
    this.#starting = true;
    void this.#subscribe().finally(() => (this.#starting = false));
  }

  /** #sync subscribes r to every channel not yet subscribed, then tells their listeners. */
  #sync(r: Redis): void {
    const missing = [...this.#handlers.keys()].filter((c) => !this.#subscribed.has(c));
    if (missing.length === 0) return;
    for (const c of missing) this.#subscribed.add(c);
    r.subscribe(...missing).then(
      () => {
        if (this.#redis !== r) return;
        for (const c of missing) this.#confirmed.add(c);
        for (const c of missing) for (const f of [...(this.#onReady.get(c) ?? [])]) f();
      },
      () => r.disconnect(), // the end handler subscribes again
    );
  }

  async #subscribe(): Promise<void> {
    let r: Redis | undefined;
    try {
      const { Redis } = await this.#client.module();
      if (this.#closed) return;
      r = new Redis(this.#client.options());
      const self = r;
      r.on("error", () => undefined); // the close that follows is what matters
      r.on("message", (channel: string, message: string) => {
        for (const h of [...(this.#handlers.get(channel) ?? [])]) h(message);
      });
      r.on("end", () => {
        if (this.#redis !== self) return;
        this.#redis = undefined;
        this.#ready = false;
        this.#retry();
      });
      this.#redis = r;
      this.#subscribed.clear();
      this.#confirmed.clear();
      await r.connect();
      (r.stream as { unref?: () => void } | undefined)?.unref?.(); // a subscription never keeps the process alive
      if (this.#closed) return this.#stop();
      this.#ready = true;
      this.#sync(r);
    } catch {
      if (this.#redis === r) {
        this.#redis = undefined;
        this.#ready = false;
        r?.disconnect();
        this.#retry();
      }
    }
  }

  #retry(): void {
    if (this.#closed || this.#handlers.size === 0) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#start(), RESUBSCRIBE_MS);
    this.#client.unref(this.#timer);
  }

  #stop(): void {
    clearTimeout(this.#timer);
    const r = this.#redis;
    this.#redis = undefined;
    this.#ready = false;
    r?.disconnect();
  }

  close(): void {
    this.#closed = true;
    this.#stop();
  }
}
