// One suite, every backend: what the library promises wherever locks live.
// A new backend is one more entry in BACKENDS. Cases a backend cannot meet
// are declared in its capabilities, never skipped silently.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquire, check, list, tryAcquire, type AcquireOptions } from "../adapters/node/index.ts";
import { isWaitlockError } from "../adapters/errors.ts";
import { FIXTURES, exited, firstLine, queueTickets } from "./helpers.ts";
import { startEtcd, type EtcdMember } from "./servers/etcd.ts";
import { skipUnlessInstalled } from "./servers/installed.ts";
import { startRedis, type RedisServer } from "./servers/redis.ts";
import { sleep, waitUntil } from "./servers/server-process.ts";

interface Backend {
  name: string;
  skip: string | false;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** Options naming a fresh, empty place for locks. */
  fresh(): Pick<AcquireOptions, "lockDir" | "backend">;
  /** Fencing tokens (strictly increasing per descriptor) or none. */
  fences: boolean;
  /** How many requests wait for d (each is in the queue once this counts it). */
  waiting(at: Pick<AcquireOptions, "lockDir" | "backend">, d: string): Promise<number>;
  /** Every holder must ask for the same number of slots (a mismatch is a usage error). */
  agreesOnSize: boolean;
  /** Fail-fast requests (tryAcquire) stand behind waiters, not only behind holders. */
  failFastQueues: boolean;
  /** How soon a SIGKILLed holder's lock must be back (ms): at once for kernel locks, lease + 1 s for a server. */
  backWithinMs: number;
}

let etcd: EtcdMember | undefined;
let redis: RedisServer | undefined;
let seq = 0;
const dirs: string[] = [];

const BACKENDS: Backend[] = [
  {
    name: "lock directory",
    skip: false,
    async setUp() {},
    async tearDown() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
    fresh() {
      const d = mkdtempSync(join(tmpdir(), "waitlock-conf-"));
      dirs.push(d);
      return { lockDir: d };
    },
    fences: false,
    // Tickets in <descriptor>.queue (docs/FORMAT.md, "The wait queue"); none is dead in these tests.
    waiting: async (at, d) => queueTickets(at.lockDir!, d).length,
    agreesOnSize: false, // each request names its own N; holders of different N share slots 0 … min − 1
    failFastQueues: false, // fail-fast and --check never look at the queue (docs/FORMAT.md)
    backWithinMs: 1000, // the kernel drops the lock at exit; the safety poll notices within ~75 ms
  },
  {
    name: "etcd",
    skip: skipUnlessInstalled("etcd"),
    async setUp() {
      etcd = await startEtcd();
    },
    async tearDown() {
      await etcd?.stop();
    },
    fresh: () => ({ backend: `etcd://${etcd!.endpoint}/conf${process.pid}-${++seq}` }),
    fences: true,
    waiting: listedWaiters,
    agreesOnSize: true,
    failFastQueues: true,
    backWithinMs: 2000 + 1000, // holders here take a 2 s lease (holdIn)
  },
  {
    name: "redis",
    skip: skipUnlessInstalled("redis-server"),
    async setUp() {
      redis = await startRedis();
    },
    async tearDown() {
      await redis?.stop();
    },
    fresh: () => ({ backend: `${redis!.url}?prefix=conf${process.pid}-${++seq}:` }),
    fences: true,
    waiting: listedWaiters,
    agreesOnSize: true,
    failFastQueues: true,
    backWithinMs: 2000 + 1000, // holders here take a 2 s lease (holdIn)
  },
];

/** The waiters a server lists for d. */
async function listedWaiters(at: Pick<AcquireOptions, "lockDir" | "backend">, d: string): Promise<number> {
  return (await list({ ...at, descriptor: d })).filter((e) => e.kind === "waiter").length;
}

/** parked resolves once n requests wait for d, each in its place in the queue. */
async function parked(b: Backend, at: Pick<AcquireOptions, "lockDir" | "backend">, d: string, n = 1): Promise<void> {
  await waitUntil(async () => (await b.waiting(at, d)) >= n, `${n} waiting for ${d}`, { timeoutMs: 10_000 });
}

/** holdIn starts a separate Node process holding d at `where` (tests/fixtures/hold.mjs), killable. */
async function holdIn(where: Pick<AcquireOptions, "lockDir" | "backend">, d: string) {
  const opts = where.backend ? { backend: where.backend, lease: 2 } : {};
  const child = spawn(process.execPath, [join(FIXTURES, "hold.mjs"), where.lockDir ?? "", d, JSON.stringify(opts)], { stdio: ["pipe", "pipe", "pipe"] });
  const info = JSON.parse(await firstLine(child)) as { slot: number; pid: number };
  return { child, info };
}

for (const b of BACKENDS) {
  describe(`conformance: ${b.name}`, { skip: b.skip, concurrency: 1 }, () => {
    before(() => b.setUp());
    after(() => b.tearDown());

    test("a mutex has one holder; release frees it; check and tryAcquire agree", async () => {
      const at = b.fresh();
      const a = await acquire("m", at);
      assert.equal(a.slot, 0);
      assert.equal(await check("m", at), false);
      assert.equal(await tryAcquire("m", at), undefined);
      await assert.rejects(acquire("m", { ...at, timeout: 0 }), (e) => isWaitlockError(e, "EBUSY"));
      await a.release();
      await a.release(); // idempotent
      assert.equal(await check("m", at), true);
      const again = await tryAcquire("m", at);
      assert.ok(again);
      await again.release();
    });

    test("check without maxHolders asks about the semaphore its holders took", async () => {
      const at = b.fresh();
      assert.equal(await check("pool", at), true, "nobody holds it");
      const held = [await acquire("pool", { ...at, maxHolders: 4 })];
      assert.equal(await check("pool", at), true, "3 of its 4 slots are free");
      for (let i = 1; i < 4; i++) held.push(await acquire("pool", { ...at, maxHolders: 4 }));
      assert.equal(await check("pool", at), false, "all 4 held");
      await held.pop()!.release();
      assert.equal(await check("pool", at), true);
      for (const l of held) await l.release();
    });

    test(`a semaphore of N has N holders on distinct slots, then none${b.agreesOnSize ? "; holders must agree on N" : ""}`, async () => {
      const at = b.fresh();
      const held = await Promise.all([0, 1, 2, 3].map(() => acquire("sem", { ...at, maxHolders: 4 })));
      assert.deepEqual(held.map((l) => l.slot).sort(), [0, 1, 2, 3]);
      assert.equal(await tryAcquire("sem", { ...at, maxHolders: 4 }), undefined);
      if (b.agreesOnSize) {
        await assert.rejects(tryAcquire("sem", { ...at, maxHolders: 3 }), (e) => isWaitlockError(e, "EUSAGE") && /semaphore of 4/.test(e.message));
      }
      // A waiter preferring a held slot takes the one that comes free.
      const next = acquire("sem", { ...at, maxHolders: 4, preferredSlot: 2 });
      await parked(b, at, "sem");
      const one = held.find((l) => l.slot === 1)!;
      await one.release();
      assert.equal((await next).slot, 1);
      for (const l of [...held.filter((l) => l !== one), await next]) await l.release();
    });

    test("shared holders coexist; an exclusive one waits for them, and they for it", async () => {
      const at = b.fresh();
      const r1 = await acquire("rw", { ...at, shared: true });
      const r2 = await acquire("rw", { ...at, shared: true });
      assert.equal(await tryAcquire("rw", at), undefined);
      let writerIn = false;
      const writer = acquire("rw", at).then((l) => ((writerIn = true), l));
      await parked(b, at, "rw");
      const r3 = await tryAcquire("rw", { ...at, shared: true });
      if (b.failFastQueues) assert.equal(r3, undefined, "a reader stands behind a waiting writer");
      else assert.ok(r3, "fail-fast never looks at the queue: readers hold, so a reader gets in");
      await r1.release();
      await r2.release();
      if (r3) {
        await sleep(50);
        assert.equal(writerIn, false, "the writer waits for the last reader");
        await r3.release();
      }
      const w = await writer; // in once every reader has let go
      assert.equal(await tryAcquire("rw", { ...at, shared: true }), undefined);
      await w.release();
    });

    test("a waiter gets the lock when it is released; timeout and abort give up cleanly", async () => {
      const at = b.fresh();
      const a = await acquire("w", at);
      await assert.rejects(acquire("w", { ...at, timeout: 200 }), (e) => isWaitlockError(e, "ETIMEDOUT"));
      const ac = new AbortController();
      const aborted = acquire("w", { ...at, signal: ac.signal });
      const reason = new Error("the caller's own reason");
      setTimeout(() => ac.abort(reason), 100);
      // As Node's own AbortSignal-aware APIs do: named AbortError, the reason as its cause.
      await assert.rejects(aborted, (e) => isWaitlockError(e, "EABORTED") && e.name === "AbortError" && e.cause === reason);
      await assert.rejects(acquire("w", { ...at, signal: AbortSignal.abort(reason) }), (e) => isWaitlockError(e, "EABORTED") && e.name === "AbortError" && e.cause === reason);
      // A waiter that gives up leaves no place behind it, and stops at once, not at its next look.
      const parkedThenAborted = new AbortController();
      const gaveUp = acquire("w", { ...at, signal: parkedThenAborted.signal });
      await parked(b, at, "w");
      await sleep(100);
      const abortedAt = performance.now();
      parkedThenAborted.abort();
      await assert.rejects(gaveUp, (e) => isWaitlockError(e, "EABORTED"));
      assert.ok(performance.now() - abortedAt < 600, `stopped ${Math.round(performance.now() - abortedAt)} ms after the abort`);
      assert.equal(await b.waiting(at, "w"), 0, "nobody waits after a timeout and two aborts");
      const waiter = acquire("w", at);
      await parked(b, at, "w");
      await a.release();
      const got = await waiter;
      assert.equal(got.slot, 0);
      await got.release();
    });

    test("a holder killed with SIGKILL lets the next one in, within the backend's bound", async () => {
      const at = b.fresh();
      const { child } = await holdIn(at, "k");
      assert.equal(await check("k", at), false);
      const waiter = acquire("k", { ...at, timeout: 20_000 });
      await parked(b, at, "k");
      const killedAt = performance.now();
      child.kill("SIGKILL");
      const got = await waiter;
      const backAfter = performance.now() - killedAt;
      assert.ok(backAfter < b.backWithinMs, `back after ${Math.round(backAfter)} ms, more than ${b.backWithinMs}`);
      await exited(child);
      await got.release();
    });

    test("list shows each holder with its record and how long it has held", async () => {
      const at = b.fresh();
      const before = Date.now();
      const a = await acquire("listed", { ...at, maxHolders: 2 });
      await sleep(50);
      const entries = (await list({ ...at, descriptor: "listed" })).filter((e) => e.kind !== "waiter");
      const heldAtMost = Date.now() - before;
      assert.equal(entries.length, 1);
      assert.equal(entries[0].record?.holderPid, process.pid);
      assert.equal(entries[0].record?.maxHolders, 2);
      const heldFor = entries[0].heldForMs;
      assert.ok(heldFor !== undefined && heldFor >= 40 && heldFor <= heldAtMost + 5, `heldForMs ${heldFor}, at most ${heldAtMost}`);
      await a.release();
      assert.deepEqual((await list({ ...at, descriptor: "listed" })).filter((e) => e.status === "active"), []);
    });

    test(b.fences ? "fences strictly increase across holders" : "no fence is offered (documented)", async () => {
      const at = b.fresh();
      let last = -1n;
      for (let i = 0; i < 5; i++) {
        const l = await acquire("f", at);
        if (b.fences) {
          assert.equal(typeof l.fence, "bigint");
          assert.ok(l.fence! > last);
          last = l.fence!;
        } else {
          assert.equal(l.fence, undefined);
        }
        assert.equal(l.signal.aborted, false);
        await l.release();
      }
    });

    test("waiters are served in arrival order", async () => {
      const at = b.fresh();
      const first = await acquire("q", at);
      const order: number[] = [];
      const waiters = [];
      for (let i = 0; i < 4; i++) {
        waiters.push(acquire("q", at).then(async (l) => {
          order.push(i);
          await sleep(10);
          await l.release();
        }));
        await parked(b, at, "q", i + 1); // arrival order is what the backend saw: each arrives before the next
      }
      await first.release();
      await Promise.all(waiters);
      assert.deepEqual(order, [0, 1, 2, 3]);
    });

    test(`property: across processes, no two holders of a slot overlap${b.fences ? " and fences strictly increase" : ""}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.array(fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 3, maxLength: 6 }), { minLength: 2, maxLength: 4 }),
          async (maxHolders, plans) => {
            const at = b.fresh();
            const workers = plans.map((holds) => spawn(process.execPath, [join(FIXTURES, "fenced-worker.mjs"), JSON.stringify({ ...at, maxHolders }), "prop", holds.join(",")], { stdio: ["ignore", "pipe", "inherit"] }));
            const outputs = await Promise.all(workers.map(async (w) => {
              let out = "";
              w.stdout!.on("data", (d) => (out += d));
              assert.equal((await exited(w)).code, 0);
              return out;
            }));
            const holds = outputs.flatMap((o) => o.trim().split("\n").map((l) => JSON.parse(l) as { slot: number; fence: string; start: string; end: string }));
            assert.equal(holds.length, plans.flat().length);
            // In fence order where there are fences (unique), else in the order the holds began.
            const ordered = b.fences
              ? [...holds].sort((x, y) => (BigInt(x.fence) < BigInt(y.fence) ? -1 : 1))
              : [...holds].sort((x, y) => (BigInt(x.start) < BigInt(y.start) ? -1 : 1));
            if (b.fences) for (let i = 1; i < ordered.length; i++) assert.notEqual(ordered[i].fence, ordered[i - 1].fence, "fences are unique");
            for (let slot = 0; slot < maxHolders; slot++) {
              const inSlot = ordered.filter((h) => h.slot === slot);
              for (let i = 1; i < inSlot.length; i++) {
                // Each hold of a slot starts after the one before it ended.
                assert.ok(BigInt(inSlot[i - 1].end) <= BigInt(inSlot[i].start), `slot ${slot}: hold ${i - 1} (fence ${inSlot[i - 1].fence}) overlaps hold ${i} (fence ${inSlot[i].fence})`);
              }
            }
            return true;
          },
        ),
        { numRuns: 4 },
      );
    });
  });
}
