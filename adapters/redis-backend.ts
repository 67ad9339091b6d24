// LockBackend on Redis: the library's and CLI's view of the protocol in
// redis/locks.ts. Maps requests and listings between the two, and owns the
// connections (one client per backend URL).
import { selfSignalling, serverLockRequest, type AdoptedLease, type BackendHost, type DoneHandler, type HeldSlot, type LeaseHandOff, type ListFilter, type LockBackend, type SlotInfo, type SlotRequest, type WaitOptions } from "./backend.ts";
import type { RedisTarget } from "./backend-url.ts";
import type { NetworkSupport } from "./http.ts";
import { RedisClient } from "./redis/client.ts";
import { RedisLocks, later, type ListedEntry, type RedisHold, type RedisLockRequest } from "./redis/locks.ts";
import { ServerHeldSlot, recordOf } from "./server-held.ts";

export class RedisBackend implements LockBackend {
  readonly location: string;
  readonly #client: RedisClient;
  readonly #locks: RedisLocks;
  readonly #host: BackendHost;

  constructor(target: RedisTarget, net: NetworkSupport, host: BackendHost) {
    this.location = target.display;
    this.#host = host;
    this.#client = RedisClient.connect(target, net, (t) => host.unrefTimer(t));
    this.#locks = new RedisLocks(this.#client, target.prefix);
  }

  #request(req: SlotRequest): RedisLockRequest {
    return serverLockRequest(req, this.#host);
  }

  async tryAcquire(req: SlotRequest): Promise<HeldSlot | undefined> {
    const r = this.#request(req);
    const hold = await this.#locks.tryAcquire(r);
    return hold && this.#held(r, hold);
  }

  async acquire(req: SlotRequest, wait: WaitOptions): Promise<HeldSlot> {
    const r = this.#request(req);
    return this.#held(r, await this.#locks.acquire(r, { deadline: wait.deadline, signal: wait.signal }));
  }

  /**
   * #held wraps a grant and has it answer --done from any host, as
   * etcd-backend.ts does: from a moment after it is returned, off the path to
   * the caller (a request heard meanwhile is remembered and answered then),
   * and not at all if it has ended by then.
   */
  #held(r: RedisLockRequest, hold: RedisHold): ServerHeldSlot {
    const held = new ServerHeldSlot(hold, hold.lease.token);
    later(() => {
      if (!held.ended) held.onEnd(this.#locks.followDone(r.descriptor, hold.lease.token, r.info, selfSignalling(this.#host)));
    }, this.#locks.unrefTimer);
    return held;
  }

  check(req: Pick<SlotRequest, "descriptor" | "maxHolders" | "shared">): Promise<boolean> {
    return this.#locks.check(req);
  }

  async list(filter: ListFilter): Promise<SlotInfo[]> {
    if (filter.staleOnly) return []; // leases leave nothing stale behind
    const holders: SlotInfo[] = [];
    const waiters: SlotInfo[] = [];
    for (const d of await this.#locks.list(filter.descriptor)) {
      const info = (e: ListedEntry): SlotInfo => {
        const v = e.value;
        const record = v && recordOf(v, d.descriptor, e.slot, e.acquiredAt);
        const where = e.kind === "slot" ? `slot ${e.slot}` : e.kind === "reader" ? `reader ${e.token}` : `waiter ${e.token}`;
        return {
          descriptor: d.descriptor, slot: e.slot, kind: e.kind, status: v ? "active" : "corrupt",
          held: e.kind === "waiter" ? "free" : e.kind === "reader" ? "shared" : "exclusive",
          record, problem: v ? undefined : "not a waitlock entry", location: `${this.location} ${this.#locks.base(d.descriptor)} ${where}`,
          fence: e.fence, leaseLeftMs: e.leaseLeftMs,
        };
      };
      holders.push(...d.holders.map(info));
      waiters.push(...d.waiters.map(info));
    }
    return [...holders, ...waiters]; // descriptors in order, slots in order, waiters in queue order
  }

  /** Asks the holders on every host to take signal; returns the PIDs that answered (on their own hosts). */
  async signalHolders(descriptor: string, signal: string): Promise<number[]> {
    const answered = await this.#locks.requestDone(descriptor, signal, { host: this.#host.hostname(), pid: this.#host.pid });
    return answered.map((h) => h.pid);
  }

  watch(descriptor: string | undefined, onChange: () => void): () => void {
    return this.#locks.watch(descriptor, onChange);
  }

  async adopt(handOff: () => Promise<LeaseHandOff>, onDone: DoneHandler): Promise<AdoptedLease> {
    // Load ioredis and connect before taking the hold: its lease is then renewed at once.
    await this.#client.run((r) => r.ping()).catch(() => undefined); // unreachable: the first renewal says so
    const h = await handOff();
    const lease = this.#locks.adopt(h.descriptor, h.leaseId, h.ttlSeconds, h.certainForMs);
    const stopDone = this.#locks.followDone(h.descriptor, h.leaseId, h.info, onDone);
    lease.lost.addEventListener("abort", stopDone, { once: true });
    let released = false;
    return {
      lost: lease.lost,
      release: async () => {
        if (released) return;
        released = true;
        lease.stop();
        stopDone();
        await this.#locks.release(h.descriptor, h.leaseId).catch(() => undefined); // unreachable: it runs out by itself
      },
    };
  }

  close(): void {
    this.#client.close();
  }
}
