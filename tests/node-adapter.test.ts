// The Node library against real processes: exclusion, hand-over, SIGKILLed
// holders, stale and corrupt files, shared locks, errors.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { acquire, tryAcquire, check, list, signalHolders, waitlock } from "../adapters/node/index.ts";
import { createWaitlock } from "../adapters/api.ts";
import { core } from "../adapters/node/core.ts";
import { NodePlatform } from "../adapters/node/platform.ts";
import { FIXTURES, ROOT, exited, falseBusies, firstLine, forgeHolderPid, rejectsWith, signalSoFar, spawnHolder, spawnReader, tempDir } from "./helpers.ts";

async function runWorkers(lockDir: string, markers: string, descriptor: string, max: number, procs: number, iterations: number) {
  const children = Array.from({ length: procs }, () =>
    spawn(process.execPath, [join(FIXTURES, "worker.mjs"), lockDir, markers, descriptor, String(max), String(iterations)], {
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  const results = await Promise.all(children.map(async (c) => JSON.parse(await firstLine(c))));
  await Promise.all(children.map(exited));
  return results as { acquired: number; violations: number; slots: Record<string, number> }[];
}

describe("mutual exclusion under contention (real processes)", () => {
  test("4 processes x 250 acquisitions of one mutex: no overlap, exact total", async (t) => {
    const dir = tempDir(t);
    const markers = tempDir(t);
    const results = await runWorkers(dir, markers, "mutex", 1, 4, 250);
    assert.equal(results.reduce((s, r) => s + r.violations, 0), 0, JSON.stringify(results));
    assert.equal(results.reduce((s, r) => s + r.acquired, 0), 1000);
  });

  test("4 processes x 250 acquisitions of a semaphore of 3: never 4 holders, exact total", async (t) => {
    const dir = tempDir(t);
    const markers = tempDir(t);
    const results = await runWorkers(dir, markers, "sem", 3, 4, 250);
    assert.equal(results.reduce((s, r) => s + r.violations, 0), 0, JSON.stringify(results));
    assert.equal(results.reduce((s, r) => s + r.acquired, 0), 1000);
    const used = new Set(results.flatMap((r) => Object.keys(r.slots)));
    assert.ok([...used].every((s) => ["0", "1", "2"].includes(s)), `slots used: ${[...used]}`);
    // How far holders overlapped depends on scheduling (slot 2 is taken only while 0
    // and 1 are both held): reported, not asserted. "naming and slots" shows three
    // holders at once deterministically.
    t.diagnostic(`acquisitions per slot: ${JSON.stringify(results.reduce((acc, r) => {
      for (const [slot, n] of Object.entries(r.slots)) acc[slot] = (acc[slot] ?? 0) + n;
      return acc;
    }, {} as Record<string, number>))}`);
  });
});

describe("holders that die", () => {
  test("a waiter gets the lock soon after its holder is SIGKILLed", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "job");
    const waiting = acquire("job", { lockDir: dir, timeout: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    const killedAt = performance.now();
    await holder.kill();
    const lock = await waiting;
    t.diagnostic(`acquired ${(performance.now() - killedAt).toFixed(1)} ms after SIGKILL (poll bound ~${1.5 * 50} ms)`);
    assert.equal(lock.slot, 0);
    await lock.release();
  });

  test("the stale file a SIGKILLed holder leaves is listed as stale and taken over", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "job");
    await holder.kill();
    const path = join(dir, "job.slot0.lock");
    assert.ok(existsSync(path), "the file stays behind");
    const [entry] = await list({ lockDir: dir, all: true });
    assert.equal(entry.status, "stale");
    assert.equal(entry.record?.holderPid, holder.pid);
    assert.deepEqual(await list({ lockDir: dir }), [], "stale entries are hidden without --all");
    assert.equal(await check("job", { lockDir: dir }), true);
    const lock = await tryAcquire("job", { lockDir: dir });
    assert.ok(lock);
    const [now] = await list({ lockDir: dir });
    assert.equal(now.status, "active");
    assert.equal(now.record?.holderPid, process.pid);
    await lock.release();
    assert.ok(!existsSync(path), "a clean release removes the file");
  });

  test("a garbage file named like a slot is shown as corrupt and taken over", async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, "job.slot0.lock"), "this is not a lock record at all, just garbage bytes ......");
    const [entry] = await list({ lockDir: dir, all: true });
    assert.equal(entry.status, "corrupt");
    assert.match(entry.problem!, /bad magic/);
    const lock = await tryAcquire("job", { lockDir: dir });
    assert.ok(lock);
    assert.equal((await list({ lockDir: dir }))[0].record?.holderPid, process.pid);
    await lock.release();
  });

  test("a held slot whose record is unreadable is active, never free", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "job");
    writeFileSync(join(dir, "job.slot0.lock"), "garbage over a live holder's record");
    const [entry] = await list({ lockDir: dir });
    assert.equal(entry.status, "active");
    assert.equal(entry.record, undefined);
    assert.equal(await tryAcquire("job", { lockDir: dir }), undefined);
    await holder.release();
  });

  test("a lock bound to an owner process is released when the owner exits", async (t) => {
    const dir = tempDir(t);
    const owner = spawn("sleep", ["30"]);
    t.after(() => owner.kill("SIGKILL"));
    const holder = await spawnHolder(t, dir, "owned", { owner: owner.pid });
    assert.equal((await list({ lockDir: dir }))[0].record?.ownerPid, owner.pid);
    owner.kill("SIGKILL");
    const lock = await acquire("owned", { lockDir: dir, timeout: 5000 });
    assert.ok(holder.child.exitCode === null, "the holder process itself is still alive");
    await lock.release();
    await holder.release();
  });

  test("an owner that is not running is refused", async (t) => {
    const dir = tempDir(t);
    await rejectsWith(acquire("x", { lockDir: dir, owner: 2 ** 22 + 12345 }), "EUSAGE");
  });
});

describe("naming and slots", () => {
  test("descriptors match exactly: a held app2 never blocks app", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "app2");
    const lock = await tryAcquire("app", { lockDir: dir });
    assert.ok(lock, "app is free");
    assert.equal(await tryAcquire("app2", { lockDir: dir }), undefined);
    await lock.release();
    await holder.release();
  });

  test("the preferred slot is honoured when free, another slot is used when not", async (t) => {
    const dir = tempDir(t);
    const a = await acquire("pool", { lockDir: dir, maxHolders: 3, preferredSlot: 2 });
    assert.equal(a.slot, 2);
    const holder = await spawnHolder(t, dir, "pool", { maxHolders: 3, preferredSlot: 1 });
    assert.equal(holder.slot, 1);
    const b = await acquire("pool", { lockDir: dir, maxHolders: 3, preferredSlot: 2, timeout: 0 });
    assert.equal(b.slot, 0);
    await rejectsWith(acquire("pool", { lockDir: dir, maxHolders: 3, timeout: 0 }), "EBUSY");
    await Promise.all([a.release(), b.release(), holder.release()]);
  });

  test("every descriptor length up to 255 works with any slot count, slot and lock type (fast-check, real files)", async (t) => {
    const dir = tempDir(t);
    const unit = fc.constantFrom(..."abyzABYZ0189._-");
    // Lengths near 255 most often: that is where file names stop fitting.
    const descriptorArb = fc.oneof(fc.integer({ min: 1, max: 255 }), fc.integer({ min: 225, max: 255 }))
      .chain((n) => fc.string({ unit, minLength: n, maxLength: n }));
    const maxArb = fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 4096 }));
    await fc.assert(
      fc.asyncProperty(descriptorArb, maxArb, fc.nat(), fc.boolean(), async (d, maxWanted, slotSeed, shared) => {
        const maxHolders = shared ? 1 : maxWanted;
        const slot = slotSeed % maxHolders;
        const lock = await tryAcquire(d, { lockDir: dir, maxHolders, preferredSlot: slot, shared });
        try {
          assert.equal(lock?.slot, slot);
          assert.ok(readdirSync(dir).every((n) => Buffer.byteLength(n) <= 255));
          const mine = await list({ lockDir: dir, descriptor: d });
          assert.deepEqual(mine.map((e) => [e.descriptor, e.slot, e.record?.descriptor, e.record?.holderPid]), [[d, slot, d, process.pid]]);
          assert.deepEqual((await list({ lockDir: dir })).map((e) => e.descriptor), [d], "listed with its full name");
          // Another slot is free, or the held one admits another shared holder; an exclusive one it does not.
          assert.equal(await check(d, { lockDir: dir, maxHolders, shared }), maxHolders > 1 || shared);
          if (slot === 0) assert.equal(await check(d, { lockDir: dir, maxHolders: 1 }), false, "as a mutex, it is held");
          assert.equal(await check(d, { lockDir: dir }), maxHolders > 1, "asked without maxHolders: as its holder took it");
          const exclusive = await tryAcquire(d, { lockDir: dir, maxHolders: slot + 1, preferredSlot: slot });
          await exclusive?.release();
          assert.notEqual(exclusive?.slot, slot, "the held slot is not taken twice");
        } finally {
          await lock?.release();
        }
        assert.equal(await check(d, { lockDir: dir, maxHolders, shared }), true);
        assert.deepEqual(await list({ lockDir: dir }), []);
      }),
      { numRuns: 60 },
    );
  });

  test("invalid descriptors and numbers are usage errors that create nothing", async (t) => {
    const dir = tempDir(t);
    // Descriptors are ASCII (README): 255 characters are 255 bytes, and a multi-byte character is refused.
    for (const d of ["", "a/b", "../x", "x".repeat(256), "sp ace", "nul\0", "café", `${"x".repeat(254)}é`]) {
      await rejectsWith(acquire(d, { lockDir: dir }), "EUSAGE");
    }
    for (const o of [{ maxHolders: 0 }, { maxHolders: 1.5 }, { maxHolders: 5000 }, { preferredSlot: 3, maxHolders: 3 }, { timeout: -1 }, { timeout: NaN }]) {
      await rejectsWith(acquire("ok", { lockDir: dir, ...o }), "EUSAGE");
    }
    await rejectsWith(acquire("ok", { lockDir: dir, shared: true, maxHolders: 2 }), "EUSAGE");
    assert.deepEqual(await list({ lockDir: dir, all: true }), []);
  });
});

describe("shared (read) locks", () => {
  test("many shared holders, or one exclusive holder", async (t) => {
    const dir = tempDir(t);
    const reader = await spawnHolder(t, dir, "cfg", { shared: true });
    const r2 = await tryAcquire("cfg", { lockDir: dir, shared: true });
    assert.ok(r2, "a second shared holder is admitted");
    assert.equal(await tryAcquire("cfg", { lockDir: dir }), undefined, "an exclusive acquirer is refused");
    assert.equal(await check("cfg", { lockDir: dir }), false);
    assert.equal(await check("cfg", { lockDir: dir, shared: true }), true);
    const held = await list({ lockDir: dir, descriptor: "cfg" });
    assert.deepEqual(held.map((e) => [e.kind, e.record?.holderPid]).sort(), [["reader", process.pid], ["reader", reader.pid]].sort());
    await r2.release();
    await reader.release();
    const w = await tryAcquire("cfg", { lockDir: dir });
    assert.ok(w, "exclusive once the readers are gone");
    assert.equal(await tryAcquire("cfg", { lockDir: dir, shared: true }), undefined, "readers wait for the writer");
    await w.release();
    assert.deepEqual(await list({ lockDir: dir, all: true }).then((l) => l.filter((e) => e.kind === "reader")), []);
  });

  test("the records of readers killed with SIGKILL are swept by the next reader; live ones stay", async (t) => {
    const dir = tempDir(t);
    const live = await spawnHolder(t, dir, "docs", { shared: true });
    const dead = [await spawnHolder(t, dir, "docs", { shared: true }), await spawnHolder(t, dir, "docs", { shared: true })];
    for (const d of dead) await d.kill();
    const readers = async () =>
      (await list({ lockDir: dir, all: true, descriptor: "docs" })).filter((e) => e.kind === "reader").map((e) => [e.record?.holderPid, e.status]).sort();
    assert.deepEqual(await readers(), [[live.pid, "active"], ...dead.map((d) => [d.pid, "stale"])].sort(), "the dead readers' records are left behind");
    const me = await tryAcquire("docs", { lockDir: dir, shared: true });
    assert.ok(me);
    assert.deepEqual(await readers(), [[live.pid, "active"], [process.pid, "active"]].sort(), "swept, and only those");
    await me.release();
    await live.release();
    assert.deepEqual(await readers(), []);
  });
});

describe("waiting", () => {
  test("a waiter proceeds right after a clean release (file event, not poll)", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "handover");
    // The safety poll and the deadline are ten minutes away: only the directory
    // event can wake this waiter within the 5 s this test gives it.
    const stop = new AbortController();
    t.after(() => stop.abort()); // never leave the waiter behind, whatever happens
    const waiting = acquire("handover", { lockDir: dir, timeout: 600_000, pollInterval: 600_000, signal: stop.signal });
    waiting.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    const released = performance.now();
    await holder.release();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const notWoken = new Promise<"not woken">((r) => (timer = setTimeout(() => r("not woken"), 5_000)));
    const lock = await Promise.race([waiting, notWoken]);
    clearTimeout(timer);
    assert.notEqual(lock, "not woken", "the release did not wake the waiter");
    t.diagnostic(`acquired ${(performance.now() - released).toFixed(1)} ms after the holder began releasing`);
    await (lock as Awaited<typeof waiting>).release();
  });

  test("a parked waiter rehearses its grant on an unnamed file, and the lock directory never sees it", async (t) => {
    // The real platform, with each call it makes written down.
    const real = new NodePlatform();
    const calls: { name: string; args: unknown[]; result: unknown }[] = [];
    const spied = new Proxy(real, {
      get(target, name) {
        const v = Reflect.get(target, name, target);
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          const result = v.apply(target, args);
          calls.push({ name: String(name), args, result });
          return result;
        };
      },
    });
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "rehearse");
    const before = readdirSync(dir).sort();
    const stop = new AbortController();
    t.after(() => stop.abort());
    const wl = createWaitlock(spied, core);
    const waiting = wl.acquire("rehearse", { lockDir: dir, timeout: 600_000, pollInterval: 600_000, signal: stop.signal });
    waiting.catch(() => undefined);
    // The wait (queueing, the first try, the warm-up) starts within the call.
    assert.ok(calls.some((c) => c.name === "openUnnamed"), "the waiter rehearsed");
    const opened = calls.findIndex((c) => c.name === "openUnnamed");
    const fd = calls[opened].result;
    assert.equal(typeof fd, "number", "the temp directory's filesystem has unnamed files (ext4, tmpfs, xfs and btrfs do): the rehearsal ran");
    // From its opening to its closing (after which the number may be another file's).
    const closed = calls.findIndex((c, i) => i > opened && c.name === "close" && c.args[0] === fd);
    assert.ok(closed > opened, "the unnamed file was closed");
    const rehearsal = calls.slice(opened + 1, closed);
    const on = (name: string) => rehearsal.filter((c) => c.name === name && c.args[0] === fd);
    assert.equal(on("writeHead").length, 1, "the record was written to the unnamed file");
    assert.equal(on("tryLock").length, 2, "both locks were taken on it");
    assert.deepEqual(rehearsal.filter((c) => c.args[0] !== fd).map((c) => c.name), [], "no other file was touched meanwhile");
    // Only the waiter's place in the queue is new; no file of the rehearsal's.
    const after = readdirSync(dir).sort();
    assert.deepEqual(after.filter((n) => !before.includes(n)), ["rehearse.queue"]);
    assert.equal(readdirSync(join(dir, "rehearse.queue")).length, 1, "one ticket");
    await holder.release();
    const lock = await waiting;
    assert.equal(lock.slot, 0);
    await lock.release();
    // Once is enough: a second wait of the same process (its code run already) does not rehearse.
    const again = await spawnHolder(t, dir, "rehearse");
    const second = wl.acquire("rehearse", { lockDir: dir, timeout: 600_000, pollInterval: 600_000, signal: stop.signal });
    second.catch(() => undefined);
    assert.equal(readdirSync(join(dir, "rehearse.queue")).length, 1, "the second waiter is queued");
    assert.equal(calls.filter((c) => c.name === "openUnnamed").length, 1, "one rehearsal");
    await again.release();
    await (await second).release();
  });

  test("a timeout past setTimeout's limit (~24.9 days) waits, without a warning, until the lock is free", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "long");
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    t.after(() => process.off("warning", onWarning));
    const stop = new AbortController();
    t.after(() => stop.abort());
    let outcome = "still waiting";
    const waiting = acquire("long", { lockDir: dir, timeout: 3e9, signal: stop.signal });
    waiting.then(() => (outcome = "acquired"), (err) => (outcome = `${err.code}: ${err.message}`));
    // An overflowing timer fires after 1 ms: a second and a half leaves no doubt.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(outcome, "still waiting");
    assert.deepEqual(warnings, []);
    await holder.release();
    const lock = await waiting;
    assert.equal(lock.slot, 0);
    await lock.release();
  });

  test("a timeout ends the wait with ETIMEDOUT", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "slow");
    await rejectsWith(acquire("slow", { lockDir: dir, timeout: 200 }), "ETIMEDOUT");
    await rejectsWith(acquire("slow", { lockDir: dir, timeout: 0 }), "EBUSY");
    await holder.release();
  });

  test("an AbortSignal ends the wait with EABORTED", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "slow");
    await rejectsWith(acquire("slow", { lockDir: dir, signal: AbortSignal.timeout(100) }), "EABORTED");
    await rejectsWith(acquire("slow", { lockDir: dir, signal: AbortSignal.abort() }), "EABORTED");
    await holder.release();
  });

  test("release is idempotent and await using releases at scope exit", async (t) => {
    const dir = tempDir(t);
    const lock = await acquire("twice", { lockDir: dir });
    await lock.release();
    await lock.release();
    assert.equal(lock.released, true);
    {
      await using scoped = await acquire("twice", { lockDir: dir });
      assert.equal(await check("twice", { lockDir: dir }), false);
      void scoped;
    }
    assert.equal(await check("twice", { lockDir: dir }), true);
  });

  test("a process that waited, acquired and released can exit on its own", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "leak");
    const script = `
      import { acquire } from ${JSON.stringify(join(ROOT, "dist/node/index.js"))};
      const l = await acquire("leak", { lockDir: ${JSON.stringify(dir)}, timeout: 10000 });
      await l.release();
      console.log("released");`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const line = firstLine(child);
    await new Promise((r) => setTimeout(r, 100));
    await holder.release();
    assert.equal(await line, "released");
    const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
    const { code } = await exited(child);
    clearTimeout(killer);
    assert.equal(code, 0, "exited by itself, no watcher or timer left behind");
  });
});

describe("looking must not disturb", () => {
  test("probes racing a fail-fast acquirer never make it see a false busy", async (t) => {
    const dir = tempDir(t);
    // A separate process probes as fast as it can while this one takes and drops
    // the lock with no waiting: every attempt must succeed, since nobody holds it.
    const script = `
      import { check, list } from ${JSON.stringify(join(ROOT, "dist/node/index.js"))};
      const dir = ${JSON.stringify(dir)};
      console.log("probing");
      for (let i = 0; ; i++) { await check("race", { lockDir: dir }); await list({ lockDir: dir, descriptor: "race" }); }`;
    const prober = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    t.after(() => prober.kill("SIGKILL"));
    await firstLine(prober);
    assert.equal(await falseBusies(dir, "race"), 0);
  });
});

describe("signalHolders", () => {
  test("signals a verified holder", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "svc");
    assert.deepEqual(await signalHolders("svc", "SIGTERM", { lockDir: dir }), [holder.pid]);
    assert.equal((await exited(holder.child)).signal, "SIGTERM");
  });

  test("never signals a PID a forged record names, even one that has the file open", async (t) => {
    const dir = tempDir(t);
    const lock = await acquire("svc", { lockDir: dir });
    const victim = await spawnReader(t, join(dir, "svc.slot0.lock"));
    await lock.updateRecord({ holderPid: victim.pid! });
    assert.equal((await list({ lockDir: dir }))[0].record?.holderPid, victim.pid);
    const err = await rejectsWith(signalHolders("svc", "SIGTERM", { lockDir: dir }), "ECORRUPT");
    assert.match(err.message, new RegExp(`names PID ${victim.pid}, which does not hold its lock`));
    assert.equal(await signalSoFar(victim), null, "the victim was not signalled");
    await lock.release();
  });

  test("finds the real holder when the record names a process that is gone", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "svc");
    const gone = spawn("true");
    await exited(gone);
    await forgeHolderPid(join(dir, "svc.slot0.lock"), gone.pid!);
    assert.deepEqual(await signalHolders("svc", "SIGTERM", { lockDir: dir }), [holder.pid]);
    assert.equal((await exited(holder.child)).signal, "SIGTERM");
  });

  test("takes a record naming a zombie (exited, not yet reaped) for one naming a process that is gone", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "svc");
    // The child exits once told to, after its parent has become sleep, which never reaps it.
    const go = join(dir, "go");
    const parent = spawn("/bin/sh", ["-c", `sh -c 'while [ ! -e "$1" ]; do sleep 0.01; done' sh "${go}" & echo $!; exec sleep 30`], { stdio: ["ignore", "pipe", "inherit"] });
    t.after(() => parent.kill("SIGKILL"));
    const zombie = Number(await firstLine(parent));
    const until = async (cond: () => boolean, what: string) => {
      for (const deadline = Date.now() + 10_000; !cond(); await new Promise((r) => setTimeout(r, 10))) {
        assert.ok(Date.now() < deadline, `never happened: ${what}`);
      }
    };
    await until(() => readFileSync(`/proc/${parent.pid}/comm`, "latin1") === "sleep\n", "the parent became sleep");
    writeFileSync(go, "");
    await until(() => readFileSync(`/proc/${zombie}/stat`, "latin1").split(") ")[1]?.[0] === "Z", "the child is a zombie");
    await forgeHolderPid(join(dir, "svc.slot0.lock"), zombie);
    assert.deepEqual(await signalHolders("svc", "SIGTERM", { lockDir: dir }), [holder.pid]);
    assert.equal((await exited(holder.child)).signal, "SIGTERM");
  });
});

describe("hostile and unusable lock directories", () => {
  test("a missing directory, or a file instead of one, is ENODIR", async (t) => {
    const dir = tempDir(t);
    const missing = await rejectsWith(acquire("x", { lockDir: join(dir, "missing") }), "ENODIR");
    assert.doesNotMatch(missing.message, /--/, "a library error names no CLI flag");
    writeFileSync(join(dir, "file"), "");
    await rejectsWith(acquire("x", { lockDir: join(dir, "file") }), "ENODIR");
    await rejectsWith(list({ lockDir: join(dir, "missing") }), "ENODIR");
  });

  test("a symlink planted at a slot path is not followed", async (t) => {
    const dir = tempDir(t);
    const target = join(dir, "target");
    mkdirSync(join(dir, "locks"));
    symlinkSync(target, join(dir, "locks", "x.slot0.lock"));
    await rejectsWith(acquire("x", { lockDir: join(dir, "locks") }), "ENODIR");
    assert.ok(!existsSync(target), "the symlink's target was not created");
    const [entry] = await list({ lockDir: join(dir, "locks"), all: true });
    assert.equal(entry.status, "corrupt");
    assert.match(entry.problem!, /symbolic link/);
  });

  test("an unwritable directory is EPERM for an unprivileged user", { skip: process.getuid?.() !== 0 && "needs root to switch user" }, async (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o755); // root's: others may enter but not write
    const script = `
      import { acquire } from ${JSON.stringify(join(ROOT, "dist/node/index.js"))};
      try { await acquire("x", { lockDir: ${JSON.stringify(dir)} }); console.log("acquired"); }
      catch (e) { console.log(e.code); }`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { uid: 65534, gid: 65534, encoding: "utf8" });
    assert.equal(out.trim(), "EPERM");
  });

  test("automatic lock directories: planted symlinks skipped, shared ones created 1777", { skip: process.getuid?.() !== 0 && "needs root" }, async (t) => {
    const base = tempDir(t);
    chmodSync(base, 0o755);
    const elsewhere = tempDir(t);
    const planted = join(base, "planted");
    symlinkSync(elsewhere, planted);
    const fresh = join(base, "fresh");
    const { resolveLockDir, SHARED_DIR_MODE } = await import("../adapters/lock-dir.ts");
    const candidates = [{ path: planted, mode: SHARED_DIR_MODE }, { path: fresh, mode: SHARED_DIR_MODE }];
    const saved = process.env.WAITLOCK_DIR;
    delete process.env.WAITLOCK_DIR;
    t.after(() => { if (saved !== undefined) process.env.WAITLOCK_DIR = saved; });
    const chosen = resolveLockDir(waitlock.platform, undefined, candidates);
    assert.deepEqual(chosen, { path: fresh, source: "auto" });
    assert.equal(statSync(fresh).mode & 0o7777, 0o1777, "sticky and world-writable despite the umask");
    process.env.WAITLOCK_DIR = join(base, "nope");
    assert.throws(() => resolveLockDir(waitlock.platform, undefined, candidates), (e: { code?: string }) => e.code === "ENODIR");
  });
});
