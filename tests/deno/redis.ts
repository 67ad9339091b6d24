// The public API on a Redis backend inside one Deno process, one scenario per
// run. Prints "ok SCENARIO" and ends on its own when everything held; an
// assertion failure is an uncaught error (exit 1). A process that does not
// exit by itself has left a connection or timer behind, which the Node test catches.
// usage: deno run --allow-read --allow-ffi --allow-env --allow-net redis.ts SCENARIO BACKEND
import assert from "node:assert/strict";
import { acquire, check, isWaitlockError, list, tryAcquire, type ErrorCode } from "../../adapters/deno/mod.ts";

const [scenario, backend] = Deno.args;

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isWaitlockError(err, code), `expected ${code}, got ${(err as { code?: string }).code}: ${(err as Error).message}`);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

const scenarios: Record<string, () => Promise<void>> = {
  async basics() {
    const a = await acquire("job", { backend, lease: 5 });
    assert.equal(a.slot, 0);
    assert.equal(typeof a.fence, "bigint");
    assert.equal(await tryAcquire("job", { backend }), undefined);
    assert.equal(await check("job", { backend }), false);
    const [entry] = await list({ backend, descriptor: "job" });
    assert.equal(entry.kind, "slot");
    assert.equal(entry.record?.holderPid, Deno.pid);
    assert.equal(entry.fence, a.fence);
    assert.ok(entry.leaseLeftMs! > 0 && entry.leaseLeftMs! <= 5000, String(entry.leaseLeftMs));
    // A waiter in the same process is handed the lock on release, with a greater fence.
    const waiting = acquire("job", { backend, timeout: 10_000 });
    await waitFor(async () => (await list({ backend, descriptor: "job" })).some((e) => e.kind === "waiter"));
    await a.release();
    const b = await waiting;
    assert.ok(b.fence! > a.fence!, `${b.fence} > ${a.fence}`);
    await b.release();
    assert.equal(await check("job", { backend }), true);
    const pool = await Promise.all([0, 1].map(() => acquire("pool", { backend, maxHolders: 2 })));
    assert.deepEqual(pool.map((l) => l.slot).sort(), [0, 1]);
    await rejectsWith(acquire("pool", { backend, maxHolders: 3, timeout: 0 }), "EUSAGE");
    for (const l of pool) await l.release();
    assert.deepEqual(await list({ backend }), []);
  },

  async "no-env"() {
    const err = await rejectsWith(acquire("job", { backend }), "EPERM");
    assert.match(err.message, /--allow-env/);
  },
};

async function waitFor(ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("timed out");
}

const run = scenarios[scenario];
if (!run) throw new Error(`unknown scenario ${scenario}`);
await run();
console.log(`ok ${scenario}`);
