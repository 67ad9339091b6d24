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

export class LeaseKeeper {
  readonly timing: LeaseTiming;
  readonly #renewOnce: Renew;
  readonly #goneWhy: string;
  readonly #lateWhy: string;
  readonly #lost = new AbortController();
  /** Monotonic ms at which the last acknowledged renewal (or the grant) was sent. */
  #confirmedAt: number;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #lossTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  readonly #unref: (t: unknown) => void;

  constructor(o: KeeperOptions) {
    this.timing = leaseTiming(o.ttlSeconds);
    this.#renewOnce = o.renew;
    this.#goneWhy = o.goneWhy;
    this.#lateWhy = o.lateWhy ?? "no renewal of the lease was acknowledged in time";
    this.#confirmedAt = o.sentAt;
    this.#unref = o.unref ?? (() => undefined);
    this.#armLoss();
    this.#scheduleRenew(this.timing.renewEveryMs);
  }

  /** Aborts (reason: a WaitlockError with code ELOST) when the lease may be gone. */
  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  /** Monotonic ms (performance.now()) before which the lease is certainly alive on the server. */
  get certainUntil(): number {
    return this.#confirmedAt + this.timing.ttlMs;
  }

  /** Milliseconds until the holder must consider the lease lost. */
  get msUntilLoss(): number {
    return this.certainUntil - this.timing.marginMs - now();
  }

  /**
   * confirm records a renewal acknowledged by the server that was sent at
   * sentAt by someone other than this keeper (a waiter's own check-in).
   */
  confirm(sentAt: number): void {
    if (this.#stopped || sentAt <= this.#confirmedAt) return;
    this.#confirmedAt = sentAt;
    this.#armLoss();
  }

  /** renewNow renews at once (e.g. a lease adopted from another process). */
  renewNow(): void {
    clearTimeout(this.#renewTimer);
    void this.#renew();
  }

  #armLoss(): void {
    clearTimeout(this.#lossTimer);
    this.#lossTimer = setTimeout(() => this.declareLost(this.#lateWhy), Math.max(0, this.msUntilLoss));
    this.#unref(this.#lossTimer);
  }

  #scheduleRenew(ms: number): void {
    if (this.#stopped) return;
    this.#renewTimer = setTimeout(() => void this.#renew(), ms);
    this.#unref(this.#renewTimer);
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    const sentAt = now();
    try {
      // A renewal that would answer after the loss point is worthless: bound it.
      const alive = await this.#renewOnce(Math.max(200, Math.min(this.timing.renewEveryMs, this.msUntilLoss)));
      if (this.#stopped) return;
      if (!alive) return this.declareLost(this.#goneWhy);
      this.#confirmedAt = Math.max(this.#confirmedAt, sentAt);
      this.#armLoss();
      this.#scheduleRenew(this.timing.renewEveryMs);
    } catch {
      // Slow or unreachable: try again soon; the loss timer decides, not one failure.
      this.#scheduleRenew(Math.min(500, this.timing.renewEveryMs / 2));
    }
  }

  /** declareLost stops renewing and aborts `lost` with an ELOST error saying why. */
  declareLost(why: string): void {
    if (this.#lost.signal.aborted) return;
    this.stop();
    this.#lost.abort(new WaitlockError("ELOST", `lock lost: ${why}`));
  }

  /** stop ends the renewals and the loss timer, without declaring anything. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#lossTimer);
  }
}
