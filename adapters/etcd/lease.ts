// One etcd lease kept alive, and the holder's own judgement of when it may
// have expired. etcd expires a lease no sooner than TTL after the last
// keep-alive it received; a keep-alive is received no sooner than it was sent.
// So, measured on this process's monotonic clock from the *sending* of the
// last acknowledged keep-alive, the lease is certainly alive until TTL has
// passed. The holder declares the lock lost a margin before that, so that its
// command can be stopped while the lock is still its own.
import { WaitlockError } from "../errors.ts";
import type { EtcdClient } from "./client.ts";

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

/** The server answered, but too late for the lease to be of use: ask again. */
export class LateGrant extends WaitlockError {
  constructor(message: string) {
    super("EAGAIN", message);
  }
}

export class KeptLease {
  readonly id: string;
  readonly timing: LeaseTiming;
  readonly #client: EtcdClient;
  readonly #lost = new AbortController();
  /** Monotonic ms at which the last acknowledged keep-alive (or the grant) was sent. */
  #confirmedAt: number;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #lossTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #unref: (t: unknown) => void;

  private constructor(client: EtcdClient, id: string, ttlSeconds: number, sentAt: number, unref: (t: unknown) => void) {
    this.#client = client;
    this.id = id;
    this.timing = leaseTiming(ttlSeconds);
    this.#confirmedAt = sentAt;
    this.#unref = unref;
    this.#armLoss();
    this.#scheduleRenew(this.timing.renewEveryMs);
  }

  /** grant asks for a lease of ttlSeconds (the server may grant more) and starts keeping it alive. */
  static async grant(client: EtcdClient, ttlSeconds: number, unref: (t: unknown) => void = () => undefined): Promise<KeptLease> {
    const sentAt = now();
    const { id, ttl } = await client.grantLease(ttlSeconds);
    const lease = new KeptLease(client, id, ttl, sentAt, unref);
    if (lease.msUntilLoss < lease.timing.renewEveryMs) {
      // The answer came so late (a server that was paused, say) that the lease may
      // be nearly over before it is used: give it back and say "try again".
      await lease.revoke().catch(() => lease.abandon());
      throw new LateGrant(`etcd took ${Math.round(now() - sentAt)} ms to grant a ${ttl} s lease`);
    }
    return lease;
  }

  /**
   * adopt keeps alive a lease another process granted (the foreground holder
   * takes over from waitlock), certain to be alive for certainForMs from now,
   * as that process judged it. It renews at once.
   */
  static adopt(client: EtcdClient, id: string, ttlSeconds: number, certainForMs: number, unref: (t: unknown) => void = () => undefined): KeptLease {
    const lease = new KeptLease(client, id, ttlSeconds, now() + certainForMs - ttlSeconds * 1000, unref);
    void lease.#renew();
    return lease;
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

  #armLoss(): void {
    clearTimeout(this.#lossTimer);
    this.#lossTimer = setTimeout(() => this.declareLost("no keep-alive of the lease was acknowledged in time"), Math.max(0, this.msUntilLoss));
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
      const ttl = await this.#client.keepAlive(this.id, Math.max(200, Math.min(this.timing.renewEveryMs, this.msUntilLoss)));
      if (this.#stopped) return;
      if (ttl <= 0) return this.declareLost("etcd no longer knows the lease (expired or revoked)");
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
    this.#stop();
    this.#lost.abort(new WaitlockError("ELOST", `lock lost: ${why}`));
  }

  #stop(): void {
    this.#stopped = true;
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#lossTimer);
  }

  /** revoke ends the lease on the server (its keys go with it). Never declares loss. */
  async revoke(): Promise<void> {
    this.#stop();
    await this.#client.revokeLease(this.id, 2000);
  }

  /** abandon stops renewing without telling the server (the lease expires by itself). */
  abandon(): void {
    this.#stop();
  }
}
