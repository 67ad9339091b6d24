// One etcd lease kept alive: granted, adopted, renewed with keep-alives,
// revoked. When it may have expired is judged as for every network backend
// (lease-keeper.ts): on this process's monotonic clock, from the sending of
// the last acknowledged keep-alive, a margin before the TTL runs out.
import { WaitlockError } from "../errors.ts";
import { LeaseKeeper } from "../lease-keeper.ts";
import type { EtcdClient } from "./client.ts";

export { leaseTiming, type LeaseTiming } from "../lease-keeper.ts";

const now = () => performance.now();

/** The server answered, but too late for the lease to be of use: ask again. */
export class LateGrant extends WaitlockError {
  constructor(message: string) {
    super("EAGAIN", message);
  }
}

export class KeptLease extends LeaseKeeper {
  readonly id: string;
  readonly #client: EtcdClient;

  private constructor(client: EtcdClient, id: string, ttlSeconds: number, sentAt: number, unref: (t: unknown) => void) {
    super({
      ttlSeconds, sentAt, unref,
      renew: async (timeoutMs) => (await client.keepAlive(id, timeoutMs)) > 0,
      goneWhy: "etcd no longer knows the lease (expired or revoked)",
      lateWhy: "no keep-alive of the lease was acknowledged in time",
    });
    this.#client = client;
    this.id = id;
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
    lease.renewNow();
    return lease;
  }

  /** revoke ends the lease on the server (its keys go with it), waiting at most timeoutMs for the answer. Never declares loss. */
  async revoke(timeoutMs = 2000): Promise<void> {
    this.stop();
    await this.#client.revokeLease(this.id, timeoutMs);
  }

  /** abandon stops renewing without telling the server (the lease expires by itself). */
  abandon(): void {
    this.stop();
  }
}
