// LockBackend on etcd: the library's and CLI's view of the protocol in
// etcd/locks.ts. Maps requests and listings between the two, and owns the
// client (one per backend URL).
import { selfSignalling, serverLockRequest, type AdoptedLease, type BackendHost, type DoneHandler, type HeldSlot, type LeaseHandOff, type ListFilter, type LockBackend, type SlotInfo, type SlotRequest, type WaitOptions } from "./backend.ts";
import type { EtcdTarget } from "./backend-url.ts";
import { EtcdClient } from "./etcd/client.ts";
import { KeptLease } from "./etcd/lease.ts";
import { EtcdLocks, type EtcdHold, type EtcdLockRequest } from "./etcd/locks.ts";
import { fenceOf, parseEntry } from "./etcd/queue.ts";
import type { NetworkSupport } from "./http.ts";
import { ServerHeldSlot, recordOf } from "./server-held.ts";

export type { NetworkSupport };

export class EtcdBackend implements LockBackend {
  readonly location: string;
  readonly #client: EtcdClient;
  readonly #locks: EtcdLocks;
  readonly #p: BackendHost;
  readonly #prefix: string;

  constructor(target: EtcdTarget, net: NetworkSupport, platform: BackendHost) {
    this.location = target.display;
    this.#p = platform;
    this.#prefix = target.prefix;
    this.#client = EtcdClient.connect(target, net);
    this.#locks = new EtcdLocks(this.#client, target.prefix, (t) => platform.unrefTimer(t));
  }

  #request(req: SlotRequest): EtcdLockRequest {
    return serverLockRequest(req, this.#p);
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
   * #held wraps a grant and has it answer --done: a request from any host makes
   * this process (the one keeping the lease) take the signal, as `--done` on
   * the lock directory signals the verified local holder.
   */
  #held(r: EtcdLockRequest, hold: EtcdHold): ServerHeldSlot {
    hold.followDone(r.info, selfSignalling(this.#p));
    return new ServerHeldSlot(hold, hold.lease.id);
  }

  check(req: Pick<SlotRequest, "descriptor" | "maxHolders" | "shared">): Promise<boolean> {
    return this.#locks.check(req);
  }

  async list(filter: ListFilter): Promise<SlotInfo[]> {
    if (filter.staleOnly) return []; // leases leave nothing stale behind
    const base = filter.descriptor === undefined ? this.#prefix : this.#locks.base(filter.descriptor);
    const { kvs } = await this.#client.range(base, { prefix: true, sortByCreate: true });
    // A queue entry whose lease also holds a grant is that holder, not a waiter.
    const holding = new Set(kvs.filter((kv) => !/\/q\/[0-9]+$/.test(kv.key)).map((kv) => kv.lease));
    const holders: SlotInfo[] = [];
    const waiters: SlotInfo[] = [];
    const leases = new Map<SlotInfo, string>();
    for (const kv of kvs) {
      const m = /^([A-Za-z0-9._-]{1,255})\/(q|slot|read)\/([0-9]+)$/.exec(kv.key.slice(this.#prefix.length));
      if (!m) continue; // not a waitlock key
      const [, descriptor, kind] = m;
      if (kind === "q" && holding.has(kv.lease)) continue;
      const v = parseEntry(kv).value;
      const record = v && recordOf(v, descriptor, v.slot ?? 0, v.acquiredAt);
      const info: SlotInfo = {
        descriptor, slot: kind === "slot" ? Number(m[3]) : 0, kind: kind === "read" ? "reader" : kind === "slot" ? "slot" : "waiter",
        status: v ? "active" : "corrupt", held: kind === "q" ? "free" : kind === "read" ? "shared" : "exclusive",
        record, problem: v ? undefined : "not a waitlock entry", location: `${this.location} ${kv.key}`,
        fence: kind === "q" ? undefined : fenceOf(kv),
      };
      (kind === "q" ? waiters : holders).push(info);
      if (kind !== "q") leases.set(info, kv.lease);
    }
    await Promise.all([...leases].map(async ([info, lease]) => {
      const ttl = await this.#client.leaseTimeToLive(lease).catch(() => -1);
      if (ttl >= 0) info.leaseLeftMs = ttl * 1000;
    }));
    const order = (a: SlotInfo, b: SlotInfo) => (a.descriptor < b.descriptor ? -1 : a.descriptor > b.descriptor ? 1 : a.slot - b.slot);
    return [...holders.sort(order), ...waiters]; // waiters stay in queue order
  }

  /** Asks the holders on every host to take signal; returns the PIDs that answered (on their own hosts). */
  async signalHolders(descriptor: string, signal: string): Promise<number[]> {
    const answered = await this.#locks.requestDone(descriptor, signal, { host: this.#p.hostname(), pid: this.#p.pid });
    return answered.map((h) => h.pid);
  }

  watch(descriptor: string | undefined, onChange: () => void): () => void {
    const stop = new AbortController();
    const base = descriptor === undefined ? this.#prefix : this.#locks.base(descriptor);
    const follow = async () => {
      while (!stop.signal.aborted) {
        try {
          const { revision } = await this.#client.range(base, { prefix: true, limit: 1 });
          await this.#client.watch(base, { prefix: true, startRevision: revision + 1n, signal: stop.signal }, () => onChange());
        } catch {
          if (stop.signal.aborted) return;
          onChange(); // say something changed (or broke), then try again shortly
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    void follow();
    return () => stop.abort();
  }

  /** adopt keeps a lease granted by another process alive (the foreground holder), answering --done for it. */
  async adopt(handOff: () => Promise<LeaseHandOff>, onDone: DoneHandler): Promise<AdoptedLease> {
    const h = await handOff(); // nothing to load or open first: the HTTP client is part of the bundle
    const lease = KeptLease.adopt(this.#client, h.leaseId, h.ttlSeconds, h.certainForMs, (t) => this.#p.unrefTimer(t));
    const stopDone = new AbortController();
    lease.lost.addEventListener("abort", () => stopDone.abort(), { once: true });
    this.#locks.followDone(h.descriptor, h.leaseId, h.info, BigInt(h.fence), stopDone.signal, onDone);
    return {
      lost: lease.lost,
      release: async () => {
        stopDone.abort();
        await lease.revoke().catch(() => lease.abandon()); // unreachable: it expires by itself
      },
    };
  }

  close(): void {
    this.#client.close();
  }
}
