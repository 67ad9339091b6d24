// A lease on a server, kept alive, and the holder's own judgement of when it
// may have expired: the part every network backend shares. A server expires
// a lease no sooner than TTL after the last renewal it received, and a renewal
// is received no sooner than it was sent. So, measured on this process's
// monotonic clock from the *sending* of the last acknowledged renewal, the
// lease is certainly alive until TTL has passed. The holder declares the lock
// lost a margin before that, so that its command can be stopped while the
// lock is still its own. How a renewal is sent is the backend's business.
import { WaitlockError } from "./errors.ts";

/** Renewals per TTL: a lease survives two lost renewals before loss is declared. */
const RENEWALS_PER_TTL = 3;

export interface LeaseTiming {
  /** The TTL the server granted, in ms. */
  ttlMs: number;
  /** How long before the earliest possible expiry loss is declared. */
  marginMs: number;
  /** Between loss and that earliest expiry: SIGTERM first, SIGKILL after this grace. */
  graceMs: number;
  renewEveryMs: number;
}

/** leaseTiming derives the loss margin and kill grace from a granted TTL (seconds). */
export function leaseTiming(ttlSeconds: number): LeaseTiming {
  const ttlMs = ttlSeconds * 1000;
  const marginMs = Math.max(600, Math.min(3000, ttlMs / 4));
  return { ttlMs, marginMs, graceMs: Math.floor(marginMs / 2), renewEveryMs: Math.floor(ttlMs / RENEWALS_PER_TTL) };
}

const now = () => performance.now();

/**
 * Renews the lease once, giving up after timeoutMs: resolves true when the
 * server extended it, false when the server no longer knows it (expired,
 * revoked, or lost with the server's memory); rejects when there was no answer.
 */
export type Renew = (timeoutMs: number) => Promise<boolean>;

export interface KeeperOptions {
  ttlSeconds: number;
  /** Monotonic ms (performance.now()) at which the grant, or the last acknowledged renewal, was sent. */
  sentAt: number;
  renew: Renew;
  /** Why the lease is lost when a renewal finds it gone, e.g. "etcd no longer knows the lease (expired or revoked)". */
  goneWhy: string;
  /** Why the lease is lost when no renewal was acknowledged in time. */
  lateWhy?: string;
  unref?: (t: unknown) => void;
}

/** How much earlier than due a renewal may be sent, as a share of the renewal interval: renewals due close together go out on one tick. */
const RENEW_EARLY_SHARE = 1 / 8;

/**
 * Ticker is the one timer of every lease kept with the same unref function
 * (in practice: one per backend client), in place of two timers per lease:
 * it is armed for the earliest moment a lease of its set is due (to renew,
 * or to be judged lost) and, when it fires, does what is due and arms itself
 * for the next. A lock taken and released does no timer work unless it is
 * due before every lease already kept. An unref'd timer is left armed when
 * the last lease goes (it keeps nothing alive, and firing on an empty set
 * costs nothing); one that keeps the process alive is cleared.
 */
class Ticker {
  readonly #keepers = new Set<LeaseKeeper>();
  readonly #unref: (t: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Monotonic ms the timer is armed for (Infinity: not armed). */
  #at = Infinity;
  #unrefd = false;

  constructor(unref: (t: unknown) => void) {
    this.#unref = unref;
  }

  add(k: LeaseKeeper): void {
    this.#keepers.add(k);
    this.arm(k.dueAt);
  }

  delete(k: LeaseKeeper): void {
    this.#keepers.delete(k);
    if (this.#keepers.size === 0 && !this.#unrefd && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#at = Infinity;
    }
  }

  /** arm makes sure the timer fires no later than at (monotonic ms). */
  arm(at: number): void {
    if (at >= this.#at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#at = at;
    const timer = setTimeout(() => this.#fire(timer), Math.max(0, at - now()));
    this.#timer = timer;
    this.#unref(timer);
    // Node's timers say whether they keep the process alive; a runtime's that do not are taken as kept alive.
    this.#unrefd = typeof (timer as { hasRef?: () => boolean }).hasRef === "function" && !(timer as { hasRef: () => boolean }).hasRef();
  }

  #fire(timer: ReturnType<typeof setTimeout>): void {
    if (this.#timer !== timer) return;
    this.#timer = undefined;
    this.#at = Infinity;
    const t = now();
    for (const k of [...this.#keepers]) k.tick(t);
    let next = Infinity;
    for (const k of this.#keepers) next = Math.min(next, k.dueAt);
    if (next < Infinity) this.arm(next);
  }
}

const tickers = new WeakMap<(t: unknown) => void, Ticker>();
/** What a keeper given no unref function uses: its timer keeps the process alive. */
const KEEP_ALIVE = (_t: unknown): void => undefined;

function tickerFor(unref: (t: unknown) => void): Ticker {
  let t = tickers.get(unref);
  if (!t) tickers.set(unref, (t = new Ticker(unref)));
  return t;
}

export class LeaseKeeper {
  readonly timing: LeaseTiming;
  readonly #renewOnce: Renew;
  readonly #goneWhy: string;
  readonly #lateWhy: string;
  /**
   * Made on first use of `lost`: an AbortController and its signal cost more
   * than the rest of a lease's set-up, and a lock taken and released quickly
   * is never asked. #lostReason is the judgement itself.
   */
  #lost: AbortController | undefined;
  #lostReason: WaitlockError | undefined;
  readonly #ticker: Ticker;
  /** Monotonic ms at which the last acknowledged renewal (or the grant) was sent. */
  #confirmedAt: number;
  /** Monotonic ms at which the next renewal is due (Infinity while one is on its way). */
  #renewAt: number;
  #stopped = false;

  constructor(o: KeeperOptions) {
    this.timing = leaseTiming(o.ttlSeconds);
    this.#renewOnce = o.renew;
    this.#goneWhy = o.goneWhy;
    this.#lateWhy = o.lateWhy ?? "no renewal of the lease was acknowledged in time";
    this.#confirmedAt = o.sentAt;
    this.#renewAt = now() + this.timing.renewEveryMs;
    this.#ticker = tickerFor(o.unref ?? KEEP_ALIVE);
    this.#ticker.add(this);
  }

  /** Aborts (reason: a WaitlockError with code ELOST) when the lease may be gone. */
  get lost(): AbortSignal {
    if (!this.#lost) {
      this.#lost = new AbortController();
      if (this.#lostReason) this.#lost.abort(this.#lostReason);
    }
    return this.#lost.signal;
  }

  /** The ELOST error once the lease is judged lost, else undefined (asks without making `lost`). */
  get lostReason(): WaitlockError | undefined {
    return this.#lostReason;
  }

  /** Monotonic ms (performance.now()) before which the lease is certainly alive on the server. */
  get certainUntil(): number {
    return this.#confirmedAt + this.timing.ttlMs;
  }

  /** Milliseconds until the holder must consider the lease lost. */
  get msUntilLoss(): number {
    return this.certainUntil - this.timing.marginMs - now();
  }

  /** @internal Monotonic ms at which this keeper next has something to do: renew, or declare the lease lost. */
  get dueAt(): number {
    if (this.#stopped) return Infinity;
    return Math.min(this.#renewAt, this.certainUntil - this.timing.marginMs);
  }

  /**
   * confirm records a renewal acknowledged by the server that was sent at
   * sentAt by someone other than this keeper (a waiter's own check-in).
   */
  confirm(sentAt: number): void {
    if (this.#stopped || sentAt <= this.#confirmedAt) return;
    this.#confirmedAt = sentAt; // the loss point only moves later: the ticker finds it when it fires
  }

  /** renewNow renews at once (e.g. a lease adopted from another process). */
  renewNow(): void {
    void this.#renew();
  }

  /** @internal Called by the ticker at monotonic ms t: declares loss, or renews, if due. */
  tick(t: number): void {
    if (this.#stopped) return;
    if (t >= this.certainUntil - this.timing.marginMs) return this.declareLost(this.#lateWhy);
    if (t >= this.#renewAt - this.timing.renewEveryMs * RENEW_EARLY_SHARE) void this.#renew();
  }

  #scheduleRenew(ms: number): void {
    if (this.#stopped) return;
    this.#renewAt = now() + ms;
    this.#ticker.arm(this.dueAt);
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    this.#renewAt = Infinity; // one renewal at a time
    const sentAt = now();
    try {
      // A renewal that would answer after the loss point is worthless: bound it.
      const alive = await this.#renewOnce(Math.max(200, Math.min(this.timing.renewEveryMs, this.msUntilLoss)));
      if (this.#stopped) return;
      if (!alive) return this.declareLost(this.#goneWhy);
      this.#confirmedAt = Math.max(this.#confirmedAt, sentAt);
      this.#scheduleRenew(this.timing.renewEveryMs);
    } catch {
      // Slow or unreachable: try again soon; the loss point decides, not one failure.
      this.#scheduleRenew(Math.min(500, this.timing.renewEveryMs / 2));
    }
  }

  /** declareLost stops renewing and aborts `lost` with an ELOST error saying why. */
  declareLost(why: string): void {
    if (this.#lostReason) return;
    this.stop();
    this.#lostReason = new WaitlockError("ELOST", `lock lost: ${why}`);
    this.#lost?.abort(this.#lostReason);
  }

  /** stop ends the renewals and the loss watch, without declaring anything. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#ticker.delete(this);
  }
}
