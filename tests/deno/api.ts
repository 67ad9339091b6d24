// The public API exercised inside one Deno process, one scenario per run. Prints
// "ok SCENARIO" and ends on its own when everything held; an assertion failure
// is an uncaught error (exit 1). A process that does not exit by itself has
// left a watcher or timer behind, which the Node test catches.
// usage: deno run --allow-read --allow-write --allow-ffi --allow-env api.ts SCENARIO LOCKDIR
import assert from "node:assert/strict";
import { acquire, check, isWaitlockError, list, LockType, tryAcquire, type ErrorCode } from "../../adapters/deno/mod.ts";

const [scenario, dir] = Deno.args;

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isWaitlockError(err, code), `expected ${code}, got ${(err as { code?: string }).code}: ${(err as Error).message}`);
    return;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

const scenarios: Record<string, () => Promise<void>> = {
  async mutex() {
    const lock = await tryAcquire("job", { lockDir: dir });
    assert.ok(lock);
    assert.equal(lock.slot, 0);
    assert.equal(lock.location, dir);
    assert.equal(await check("job", { lockDir: dir }), false);
    // Another open file description of the same process is excluded too (OFD locks).
    assert.equal(await tryAcquire("job", { lockDir: dir }), undefined);
    await rejectsWith(acquire("job", { lockDir: dir, timeout: 0 }), "EBUSY");
    await lock.release();
    await lock.release(); // idempotent
    assert.equal(lock.released, true);
    assert.equal(exists(`${dir}/job.slot0.lock`), false, "a clean release removes the file");
    assert.equal(await check("job", { lockDir: dir }), true);
  },

  async semaphore() {
    const a = await acquire("pool", { lockDir: dir, maxHolders: 3, preferredSlot: 2 });
    const b = await acquire("pool", { lockDir: dir, maxHolders: 3 });
    const c = await acquire("pool", { lockDir: dir, maxHolders: 3 });
    assert.deepEqual([a.slot, b.slot, c.slot], [2, 0, 1]);
    assert.equal(await tryAcquire("pool", { lockDir: dir, maxHolders: 3 }), undefined);
    assert.equal(await check("pool", { lockDir: dir, maxHolders: 3 }), false);
    const entries = await list({ lockDir: dir });
    assert.deepEqual(entries.map((e) => [e.descriptor, e.slot, e.status, e.held]), [
      ["pool", 0, "active", "exclusive"], ["pool", 1, "active", "exclusive"], ["pool", 2, "active", "exclusive"],
    ]);
    for (const e of entries) {
      assert.equal(e.record?.holderPid, Deno.pid);
      assert.equal(e.record?.type, LockType.Semaphore);
      assert.equal(e.record?.maxHolders, 3);
    }
    await b.release();
    assert.equal(await check("pool", { lockDir: dir, maxHolders: 3 }), true);
    const again = await tryAcquire("pool", { lockDir: dir, maxHolders: 3 });
    assert.equal(again?.slot, 0);
    await Promise.all([a.release(), c.release(), again!.release()]);
    assert.deepEqual(await list({ lockDir: dir, all: true }), []);
  },

  async "await-using"() {
    {
      await using scoped = await acquire("scoped", { lockDir: dir });
      assert.equal(await check("scoped", { lockDir: dir }), false);
      void scoped;
    }
    assert.equal(await check("scoped", { lockDir: dir }), true);
  },

  async waiting() {
    const held = await acquire("handover", { lockDir: dir });
    // With a 5 s poll, only the directory watch can wake the waiter this soon.
    const waiting = acquire("handover", { lockDir: dir, timeout: 10_000, pollInterval: 5_000 });
    await new Promise((r) => setTimeout(r, 50));
    const releasedAt = performance.now();
    await held.release();
    const lock = await waiting;
    const ms = performance.now() - releasedAt;
    assert.ok(ms < 1000, `woke ${ms.toFixed(1)} ms after the release: the watch did not fire`);
    await rejectsWith(acquire("handover", { lockDir: dir, timeout: 200 }), "ETIMEDOUT");
    await rejectsWith(acquire("handover", { lockDir: dir, signal: AbortSignal.timeout(100) }), "EABORTED");
    await lock.release();
  },

  async shared() {
    const r1 = await tryAcquire("cfg", { lockDir: dir, shared: true });
    const r2 = await tryAcquire("cfg", { lockDir: dir, shared: true });
    assert.ok(r1 && r2, "many shared holders");
    assert.equal(await tryAcquire("cfg", { lockDir: dir }), undefined, "an exclusive acquirer is refused");
    assert.equal(await check("cfg", { lockDir: dir }), false);
    assert.equal(await check("cfg", { lockDir: dir, shared: true }), true);
    const readers = (await list({ lockDir: dir, descriptor: "cfg" })).filter((e) => e.kind === "reader");
    assert.equal(readers.length, 2);
    await r1.release();
    await r2.release();
    const w = await tryAcquire("cfg", { lockDir: dir });
    assert.ok(w, "exclusive once the readers are gone");
    assert.equal(await tryAcquire("cfg", { lockDir: dir, shared: true }), undefined);
    await w.release();
  },

  async errors() {
    for (const d of ["", "a/b", "../x", "x".repeat(256), "sp ace", "nul\0"]) {
      await rejectsWith(acquire(d, { lockDir: dir }), "EUSAGE");
    }
    await rejectsWith(acquire("ok", { lockDir: dir, maxHolders: 0 }), "EUSAGE");
    await rejectsWith(acquire("x", { lockDir: `${dir}/missing` }), "ENODIR");
    // A symlink planted at a slot path is never followed.
    Deno.mkdirSync(`${dir}/locks`);
    Deno.symlinkSync(`${dir}/target`, `${dir}/locks/x.slot0.lock`);
    await rejectsWith(acquire("x", { lockDir: `${dir}/locks` }), "ENODIR");
    assert.equal(exists(`${dir}/target`), false, "the symlink's target was not created");
    const [entry] = await list({ lockDir: `${dir}/locks`, all: true });
    assert.equal(entry.status, "corrupt");
    assert.match(entry.problem!, /symbolic link/);
    // Nor is a hard link written through: its target keeps its content and mode.
    Deno.mkdirSync(`${dir}/linked`);
    Deno.writeTextFileSync(`${dir}/v`, "data\n", { mode: 0o600 });
    Deno.chmodSync(`${dir}/v`, 0o600);
    Deno.linkSync(`${dir}/v`, `${dir}/linked/h.slot0.lock`);
    await rejectsWith(acquire("h", { lockDir: `${dir}/linked`, shared: true }), "ENODIR");
    await rejectsWith(acquire("h", { lockDir: `${dir}/linked` }), "ENODIR");
    assert.equal(Deno.readTextFileSync(`${dir}/v`), "data\n", "the hard link's target was not written");
    assert.equal(Deno.statSync(`${dir}/v`).mode! & 0o777, 0o600, "nor made 0666");
    const [linked] = await list({ lockDir: `${dir}/linked`, all: true });
    assert.equal(linked.status, "corrupt");
    assert.match(linked.problem!, /2 hard links/);
  },

  async "long-names"() {
    // 255 characters: too long to be a file name with its suffix (docs/FORMAT.md, long names).
    const long = (tail: string) => "long-descriptor.".padEnd(255 - tail.length, "x") + tail;
    const [d, other] = [long("A"), long("B")];
    assert.equal(await check(d, { lockDir: dir }), true);
    const last = await acquire(d, { lockDir: dir, maxHolders: 12, preferredSlot: 11 });
    assert.equal(last.slot, 11);
    const rest = [];
    for (let i = 0; i < 11; i++) rest.push(await acquire(d, { lockDir: dir, maxHolders: 12, timeout: 0 }));
    assert.equal(await check(d, { lockDir: dir, maxHolders: 12 }), false);
    assert.equal(await tryAcquire(d, { lockDir: dir, maxHolders: 12 }), undefined);
    const entries = await list({ lockDir: dir });
    assert.deepEqual(entries.map((e) => [e.descriptor, e.slot]), Array.from({ length: 12 }, (_, i) => [d, i]));
    for (const name of Array.from(Deno.readDirSync(dir), (e) => e.name)) assert.ok(new TextEncoder().encode(name).length <= 255, name);
    // Same first 128 characters, another descriptor: not excluded.
    const b = await tryAcquire(other, { lockDir: dir });
    assert.ok(b, "a descriptor sharing the prefix is free");
    await b.release();
    await Promise.all([last, ...rest].map((l) => l.release()));
    assert.equal(await check(d, { lockDir: dir, maxHolders: 12 }), true);

    const r1 = await tryAcquire(d, { lockDir: dir, shared: true });
    const r2 = await tryAcquire(d, { lockDir: dir, shared: true });
    assert.ok(r1 && r2, "many shared holders");
    assert.equal(await check(d, { lockDir: dir, shared: true }), true);
    assert.equal(await check(d, { lockDir: dir }), false);
    assert.deepEqual((await list({ lockDir: dir, descriptor: d })).map((e) => [e.kind, e.descriptor]), [["reader", d], ["reader", d]]);
    await r1.release();
    await r2.release();
    assert.equal(await check(d, { lockDir: dir }), true);
  },

  async events() {
    // Recorded as Node records them (docs/METRICS.md); written when the process exits at the latest.
    const held = await acquire("ev", { lockDir: dir });
    assert.equal(await tryAcquire("ev", { lockDir: dir }), undefined);
    await rejectsWith(acquire("ev", { lockDir: dir, timeout: 100 }), "ETIMEDOUT");
    await held.release();
    // The Node test planted a FIFO at the events file's name here: never written, never waited on.
    const other = await acquire("ev", { lockDir: `${dir}/fifo` });
    await other.release();
  },

  async unsupported() {
    // Deno on another system: its first operation refuses, as Node's does (tests/platforms.test.ts).
    const { createWaitlock } = await import("../../adapters/api.ts");
    const { DenoPlatform } = await import("../../adapters/deno/platform.ts");
    const { core } = await import("../../adapters/deno/core.ts");
    const wl = createWaitlock(new DenoPlatform("darwin"), core);
    await rejectsWith(wl.acquire("job", { lockDir: dir }), "ESYSTEM");
    await rejectsWith(wl.check("job", { lockDir: dir }), "ESYSTEM");
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
  },

  async leftovers() {
    // Garbage named like a slot is shown as corrupt and taken over.
    Deno.writeTextFileSync(`${dir}/job.slot0.lock`, "this is not a lock record at all, just garbage bytes ......");
    const [entry] = await list({ lockDir: dir, all: true });
    assert.equal(entry.status, "corrupt");
    const lock = await tryAcquire("job", { lockDir: dir });
    assert.ok(lock);
    const [now] = await list({ lockDir: dir });
    assert.equal(now.status, "active");
    assert.equal(now.record?.holderPid, Deno.pid);
    await lock.release();
  },
};

const run = scenarios[scenario];
if (!run) throw new Error(`unknown scenario ${scenario}; one of ${Object.keys(scenarios).join(", ")}`);
await run();
console.log(`ok ${scenario}`);
