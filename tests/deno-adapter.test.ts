// The Deno adapter in real Deno processes (the `deno` npm package), and Deno
// and Node processes against each other on the same lock files: the two
// runtimes must take the same kernel locks (OFD locks on Linux) or they would
// not exclude each other. Deno scripts live in tests/deno/.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { acquire, check, list, signalHolders, tryAcquire, waitlock, LockType } from "../adapters/node/index.ts";
import { EVENTS_FILE } from "../adapters/events.ts";
import { EventsReader } from "../cli/events-reader.ts";
import { DENO, FIXTURES, ROOT, eventually, exited, falseBusies, firstLine, forgeHolderPid, signalSoFar, spawnHolder, spawnReader, tempDir, watchedInodes } from "./helpers.ts";

type T = { after(fn: () => void): void; diagnostic(message: string): void };

const DENO_SCRIPTS = join(ROOT, "tests/deno");
/** What the library needs (docs/DENO.md); --allow-run only for signalHolders. */
const PERMISSIONS = ["--allow-read", "--allow-write", "--allow-ffi", "--allow-env"];

interface DenoOptions {
  flags?: string[];
  env?: Record<string, string>;
  stdin?: "pipe" | "ignore";
}

/** spawnDeno starts `deno run FLAGS tests/deno/SCRIPT ARGS`, killed when the test ends. */
function spawnDeno(t: T, script: string, args: string[], o: DenoOptions = {}): ChildProcess {
  const child = spawn(DENO, ["run", "--quiet", "--no-prompt", ...(o.flags ?? PERMISSIONS), join(DENO_SCRIPTS, script), ...args], {
    stdio: [o.stdin ?? "ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...o.env },
  });
  t.after(() => child.kill("SIGKILL"));
  return child;
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * runDeno runs a Deno script to its end. A script that has not exited within
 * limitMs is killed and reported: it was stuck, or something it left behind (a
 * watcher, a timer) kept it alive.
 */
async function runDeno(t: T, script: string, args: string[], o: DenoOptions = {}, limitMs = 30_000): Promise<Finished> {
  const child = spawnDeno(t, script, args, o);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  let stuck = false;
  const guard = setTimeout(() => {
    stuck = true;
    child.kill("SIGKILL");
  }, limitMs);
  const { code, signal } = await exited(child);
  clearTimeout(guard);
  if (stuck) assert.fail(`deno ${script} ${args.join(" ")} did not exit within ${limitMs} ms; stdout: ${stdout} stderr: ${stderr}`);
  // The streams end after the exit event: wait for the rest of the output.
  await Promise.all([child.stdout!, child.stderr!].map((s) => (s.readableEnded ? undefined : new Promise((r) => s.once("end", r)))));
  return { code, signal, stdout, stderr };
}

/** runDenoJson runs a script that prints one JSON line and exits 0, and returns that value. */
async function runDenoJson<V>(t: T, script: string, args: string[], o: DenoOptions = {}): Promise<V> {
  const r = await runDeno(t, script, args, o);
  assert.equal(r.code, 0, `deno ${script} exited ${r.code ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as V;
}

interface DenoHolder {
  /** Deno.pid as the holder reported it. */
  pid: number;
  slot: number;
  child: ChildProcess;
  release(): Promise<void>;
  kill(): Promise<void>;
}

/** spawnDenoHolder starts a Deno process holding descriptor (tests/deno/hold.ts), like helpers.ts spawnHolder for Node. */
async function spawnDenoHolder(t: T, lockDir: string, descriptor: string, options: object = {}): Promise<DenoHolder> {
  const child = spawnDeno(t, "hold.ts", [lockDir, descriptor, JSON.stringify(options)], { stdin: "pipe" });
  const info = JSON.parse(await firstLine(child));
  if (info.error) throw new Error(`Deno holder failed: ${info.error} ${info.message}`);
  return {
    pid: info.pid,
    slot: info.slot,
    child,
    async release() {
      child.stdin!.end();
      const { code } = await exited(child);
      assert.equal(code, 0, "the Deno holder released and exited cleanly");
    },
    async kill() {
      process.kill(info.pid, "SIGKILL");
      await exited(child);
    },
  };
}

interface WorkerResult {
  acquired: number;
  violations: number;
  slots: Record<string, number>;
}

function startNodeWorker(t: T, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [join(FIXTURES, "worker.mjs"), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill("SIGKILL"));
  return child;
}

describe("the Deno adapter's API, in a Deno process", () => {
  // Each scenario is tests/deno/api.ts SCENARIO: it asserts inside Deno, and
  // must then exit by itself (nothing left keeping it alive).
  for (const scenario of ["mutex", "semaphore", "await-using", "waiting", "shared", "errors", "leftovers", "long-names", "unsupported"]) {
    test(scenario, async (t) => {
      const dir = tempDir(t);
      const r = await runDeno(t, "api.ts", [scenario, dir], {}, 20_000);
      assert.equal(r.code, 0, `deno api.ts ${scenario} failed:\n${r.stderr}`);
      assert.equal(r.stdout.trim(), `ok ${scenario}`);
    });
  }
});

describe("the Deno library records lock events", () => {
  test("acquired, conflict, timeout and released, in the lock directory's events file, as Node writes them; a planted FIFO is skipped", async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, "fifo"));
    execFileSync("mkfifo", [join(dir, "fifo", EVENTS_FILE)]);
    const r = await runDeno(t, "api.ts", ["events", dir], {}, 20_000);
    assert.equal(r.code, 0, `deno api.ts events failed:\n${r.stderr}`);
    const lines = readFileSync(join(dir, EVENTS_FILE), "utf8").trim().split("\n").map((l) => l.split(" "));
    assert.deepEqual(lines.map((l) => [l[1], l[2]]), [["acquired", "ev"], ["conflict", "ev"], ["timeout", "ev"], ["released", "ev"]]);
    assert.ok(Number(lines[2][3]) >= 90, `the timeout's wait (${lines[2][3]} ms)`);
    for (const l of lines) assert.match(l[0], /^\d{13}$/);
    // Node's reader counts them.
    const reader = new EventsReader(dir);
    reader.poll();
    assert.equal(reader.totals.byDescriptor.get("ev")?.counts.released, 1);
  });
});

describe("Deno and Node exclude each other", () => {
  test("a Node holder makes Deno's check and tryAcquire fail, and Deno lists it with Node's PID", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "job");
    type Probe = { free: boolean; entries: { slot: number; status: string; held: string; pid: number }[]; acquired: number | null };
    const busy = await runDenoJson<Probe>(t, "probe.ts", [dir, "job"]);
    assert.equal(busy.free, false);
    assert.equal(busy.acquired, null);
    assert.deepEqual(busy.entries, [{ slot: 0, status: "active", held: "exclusive", pid: holder.pid }]);
    await holder.release();
    const free = await runDenoJson<Probe>(t, "probe.ts", [dir, "job"]);
    assert.equal(free.free, true);
    assert.equal(free.acquired, 0);
  });

  test("a Deno holder makes Node's check and tryAcquire fail", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnDenoHolder(t, dir, "job");
    assert.equal(holder.pid, holder.child.pid, "the test talks to Deno itself, not a launcher");
    assert.equal(await tryAcquire("job", { lockDir: dir }), undefined);
    assert.equal(await check("job", { lockDir: dir }), false);
    await assert.rejects(acquire("job", { lockDir: dir, timeout: 0 }), { code: "EBUSY" });
    await holder.release();
    const lock = await tryAcquire("job", { lockDir: dir });
    assert.ok(lock, "free once the Deno holder released it");
    await lock.release();
  });

  test("a 255-character descriptor: Node and Deno name its file alike, and exclude each other on it", async (t) => {
    const dir = tempDir(t);
    const d = "long-descriptor.".padEnd(255, "x");
    const holder = await spawnHolder(t, dir, d, { maxHolders: 12, preferredSlot: 11 });
    assert.equal(holder.slot, 11);
    type Probe = { free: boolean; entries: { slot: number; status: string; held: string; pid: number }[]; acquired: number | null };
    const seen = await runDenoJson<Probe>(t, "probe.ts", [dir, d, JSON.stringify({ maxHolders: 12, preferredSlot: 11 })]);
    assert.deepEqual(seen.entries, [{ slot: 11, status: "active", held: "exclusive", pid: holder.pid }]);
    assert.equal(seen.free, true, "11 other slots are free");
    assert.notEqual(seen.acquired, 11, "Deno does not take Node's slot");
    assert.equal((await runDenoJson<Probe>(t, "probe.ts", [dir, d])).free, true, "slot 0 is free");
    await holder.release();
    const deno = await spawnDenoHolder(t, dir, d);
    assert.equal(await check(d, { lockDir: dir }), false);
    assert.deepEqual((await list({ lockDir: dir })).map((e) => [e.descriptor, e.record?.holderPid]), [[d, deno.pid]]);
    await deno.release();
    assert.equal(await check(d, { lockDir: dir }), true);
  });

  test("shared locks: a Deno reader admits Node readers and refuses a Node writer", async (t) => {
    const dir = tempDir(t);
    const reader = await spawnDenoHolder(t, dir, "cfg", { shared: true });
    const mine = await tryAcquire("cfg", { lockDir: dir, shared: true });
    assert.ok(mine, "a Node reader joins the Deno reader");
    assert.equal(await tryAcquire("cfg", { lockDir: dir }), undefined, "a Node writer is refused");
    const readers = (await list({ lockDir: dir, descriptor: "cfg" })).map((e) => [e.kind, e.record?.holderPid]);
    assert.deepEqual(readers.sort(), [["reader", process.pid], ["reader", reader.pid]].sort());
    await mine.release();
    await reader.release();
  });

  test("Node's list() shows a Deno-held lock with the Deno process's PID and slot", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnDenoHolder(t, dir, "pool", { maxHolders: 3, preferredSlot: 2 });
    assert.equal(holder.slot, 2);
    const entries = await list({ lockDir: dir });
    assert.equal(entries.length, 1);
    const [e] = entries;
    assert.equal(e.slot, 2);
    assert.equal(e.status, "active");
    assert.equal(e.held, "exclusive");
    assert.equal(e.record?.holderPid, holder.pid);
    assert.equal(e.record?.ownerPid, holder.pid);
    assert.equal(e.record?.ownerStart, waitlock.platform.processStartTime(holder.pid), "the same start time Node reads");
    assert.equal(e.record?.type, LockType.Semaphore);
    assert.equal(e.record?.maxHolders, 3);
    assert.equal(e.record?.hostname, hostname());
    assert.equal(e.record?.uid, process.getuid?.());
    assert.match(e.record!.command, /deno.* run .*tests\/deno\/hold\.ts /);
    // The CLI, as a script would run it, shows the same holder.
    const csv = spawnSync(join(ROOT, "bin/waitlock"), ["--list", "--format", "csv", "--lock-dir", dir], { encoding: "utf8" });
    assert.equal(csv.status, 0, csv.stderr);
    assert.ok(csv.stdout.split("\n")[1].startsWith(`pool,${holder.pid},2,active,`), csv.stdout);
    await holder.release();
    assert.deepEqual(await list({ lockDir: dir, all: true }), [], "a clean Deno release removes its file");
  });

  test("a semaphore of 3 shared by 2 Node and 2 Deno workers never has 4 holders", async (t) => {
    const dir = tempDir(t);
    const markers = tempDir(t);
    const iterations = 250;
    const args = [dir, markers, "sem", "3", String(iterations)];
    // A start line for the four: the test holds every slot until all of them wait in the queue
    // (four tickets, docs/FORMAT.md), so the runtimes compete however slowly each one starts.
    const gate = await Promise.all([0, 1, 2].map((slot) => acquire("sem", { lockDir: dir, maxHolders: 3, preferredSlot: slot })));
    const node = [startNodeWorker(t, args), startNodeWorker(t, args)];
    const deno = [spawnDeno(t, "worker.ts", args), spawnDeno(t, "worker.ts", args)];
    const ticketsIn = (q: string) => (existsSync(q) ? readdirSync(q).filter((n) => /\.[wr]$/.test(n)).length : 0);
    await eventually(() => ticketsIn(join(dir, "sem.queue")) === 4, "all four workers to wait", 30_000);
    const started = Date.now();
    for (const l of gate) await l.release();
    const nodeExits = node.map((c) => exited(c).then(() => Date.now()));
    const results: (WorkerResult & { firstAt?: number; lastAt?: number })[] = await Promise.all(
      [...node, ...deno].map(async (c) => JSON.parse(await firstLine(c))),
    );
    await Promise.all([...node, ...deno].map(exited));
    const nodeDone = Math.min(...(await Promise.all(nodeExits)));
    t.diagnostic(`${4 * iterations} acquisitions in ${Date.now() - started} ms; slots per worker (Node, Node, Deno, Deno): ${JSON.stringify(results.map((r) => r.slots))}`);
    assert.equal(results.reduce((s, r) => s + r.violations, 0), 0, "never two holders of a slot, never 4 holders");
    assert.deepEqual(results.map((r) => r.acquired), [iterations, iterations, iterations, iterations]);
    const used = new Set(results.flatMap((r) => Object.keys(r.slots)));
    assert.deepEqual([...used].sort(), ["0", "1", "2"]);
    // The runtimes really competed: each Deno worker was taking the lock before the first Node worker was done
    // (certain since the start line: each took its first lock among the first four).
    for (const r of results.slice(2)) assert.ok(r.firstAt! < nodeDone, `a Deno worker started at ${r.firstAt}, after the Node workers (done at ${nodeDone})`);
    assert.deepEqual(await list({ lockDir: dir, all: true }), [], "every slot was released cleanly");
  });
});

describe("holders that die, across runtimes", () => {
  test("a Deno holder killed with SIGKILL frees its slot for a Node waiter", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnDenoHolder(t, dir, "job");
    // acquire's first attempt runs before it returns: the waiter is waiting on a held lock.
    const waiting = acquire("job", { lockDir: dir, timeout: 10_000 });
    const killedAt = performance.now();
    await holder.kill();
    const lock = await waiting;
    t.diagnostic(`Node acquired ${(performance.now() - killedAt).toFixed(1)} ms after the Deno holder's SIGKILL`);
    assert.equal(lock.slot, 0);
    assert.equal((await list({ lockDir: dir }))[0].record?.holderPid, process.pid);
    await lock.release();
  });

  test("a Deno waiter whose turn it is watches the Node holder's file and is woken by its release", async (t) => {
    const dir = tempDir(t);
    const holder = await acquire("turn", { lockDir: dir });
    // A poll of a minute: only the watch can bring the waiter in within its 20 s.
    const waiter = spawnDeno(t, "wait.ts", [dir, "turn", "20000", "60000"]);
    const lines = createInterface({ input: waiter.stdout! })[Symbol.asyncIterator]();
    assert.deepEqual(JSON.parse((await lines.next()).value), { busy: true });
    const slotFile = Number(statSync(join(dir, "turn.slot0.lock")).ino);
    await eventually(() => watchedInodes(waiter.pid!).includes(slotFile), "the Deno waiter to watch the holder's file");
    assert.ok(!watchedInodes(waiter.pid!).includes(Number(statSync(dir).ino)), "the Deno waiter does not watch the lock directory");
    await holder.release();
    const got = JSON.parse((await lines.next()).value ?? "null");
    assert.equal(got?.slot, 0, JSON.stringify(got));
    assert.equal((await exited(waiter)).code, 0);
  });

  test("Deno opens the unnamed file a parked waiter rehearses its grant on: a file with no name in the lock directory", async (t) => {
    const dir = tempDir(t);
    const r = spawnDeno(t, "unnamed.ts", [dir]);
    const out = JSON.parse(await firstLine(r));
    assert.deepEqual(out, { kind: "file", nlink: 0, entries: [] }, "the temp directory's filesystem has unnamed files (ext4, tmpfs, xfs and btrfs do)");
    assert.equal((await exited(r)).code, 0);
    assert.deepEqual(readdirSync(dir), [], "and nothing is left");
  });

  test("a Node holder killed with SIGKILL frees its slot for a Deno waiter", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "job");
    const waiter = spawnDeno(t, "wait.ts", [dir, "job", "10000"]);
    const lines = createInterface({ input: waiter.stdout! })[Symbol.asyncIterator]();
    assert.deepEqual(JSON.parse((await lines.next()).value), { busy: true });
    await holder.kill();
    const got = JSON.parse((await lines.next()).value ?? "null");
    t.diagnostic(`Deno acquired ${got?.waitedMs?.toFixed(1)} ms after it started waiting`);
    assert.equal(got?.slot, 0, JSON.stringify(got));
    assert.equal((await exited(waiter)).code, 0);
  });
});

describe("long timeouts in Deno", () => {
  test("a timeout past setTimeout's limit (~24.9 days) waits, without a warning, until the lock is free", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "long");
    const waiter = spawnDeno(t, "wait.ts", [dir, "long", String(3e9)]);
    let stderr = "";
    waiter.stderr!.on("data", (d) => (stderr += d));
    const lines = createInterface({ input: waiter.stdout! })[Symbol.asyncIterator]();
    assert.deepEqual(JSON.parse((await lines.next()).value), { busy: true });
    let outcome = "still waiting";
    const next = lines.next().then((l) => (outcome = l.value ?? "no line"));
    // An overflowing timer fires after 1 ms: a second and a half leaves no doubt.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(outcome, "still waiting");
    assert.equal(waiter.exitCode, null);
    assert.equal(stderr, "", "no TimeoutOverflowWarning");
    await holder.release();
    await next;
    assert.equal(JSON.parse(outcome).slot, 0, outcome);
    assert.equal((await exited(waiter)).code, 0);
  });
});

describe("looking must not disturb, across runtimes", () => {
  test("a Deno process probing as fast as it can never makes a Node fail-fast acquirer see a false busy", async (t) => {
    const dir = tempDir(t);
    const prober = spawnDeno(t, "prober.ts", [dir, "race"]);
    assert.equal(await firstLine(prober), "probing");
    assert.equal(await falseBusies(dir, "race"), 0);
  });
});

describe("signalHolders across runtimes (the holder's open file verified through /proc)", () => {
  test("Node signals a Deno holder", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnDenoHolder(t, dir, "svc");
    assert.deepEqual(await signalHolders("svc", "SIGTERM", { lockDir: dir }), [holder.pid]);
    assert.equal((await exited(holder.child)).signal, "SIGTERM");
  });

  test("Deno signals a Node holder", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "svc");
    const signalled = await runDenoJson<number[]>(t, "signal.ts", [dir, "svc"], { flags: [...PERMISSIONS, "--allow-run"] });
    assert.deepEqual(signalled, [holder.pid]);
    assert.equal((await exited(holder.child)).signal, "SIGTERM");
  });

  test("Deno refuses a record forged to name a process that only has the file open", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "svc");
    const victim = await spawnReader(t, join(dir, "svc.slot0.lock"));
    await forgeHolderPid(join(dir, "svc.slot0.lock"), victim.pid!);
    const r = await runDenoJson<{ error?: string; message?: string }>(t, "signal.ts", [dir, "svc"], { flags: [...PERMISSIONS, "--allow-run"] });
    assert.equal(r.error, "ECORRUPT", JSON.stringify(r));
    assert.match(r.message!, new RegExp(`names PID ${victim.pid}, which does not hold its lock`));
    assert.equal(await signalSoFar(victim), null, "the victim was not signalled");
    assert.equal(await signalSoFar(holder.child), null, "nor the real holder");
  });

  test("Deno finds the real holder when the record names a process that is gone", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "svc");
    const gone = spawn("true");
    await exited(gone);
    await forgeHolderPid(join(dir, "svc.slot0.lock"), gone.pid!);
    const signalled = await runDenoJson<number[]>(t, "signal.ts", [dir, "svc"], { flags: [...PERMISSIONS, "--allow-run"] });
    assert.deepEqual(signalled, [holder.pid]);
    assert.equal((await exited(holder.child)).signal, "SIGTERM");
  });
});

describe("Deno permissions: the first call says which flag is missing", () => {
  const without = (flag: string) => PERMISSIONS.filter((f) => f !== flag);
  const cases: { name: string; flags: (dir: string) => string[]; call?: "signal"; viaEnv?: boolean; expect: RegExp }[] = [
    { name: "no permission at all", flags: () => [], expect: /--allow-ffi/ },
    { name: "without --allow-ffi", flags: () => without("--allow-ffi"), expect: /--allow-ffi/ },
    { name: "without --allow-write", flags: () => without("--allow-write"), expect: /write access to .* --allow-write/ },
    { name: "without --allow-env (WAITLOCK_DIR set)", flags: () => without("--allow-env"), viaEnv: true, expect: /WAITLOCK_(BACKEND|DIR): run deno with --allow-env \(or --allow-env=WAITLOCK_BACKEND,WAITLOCK_DIR,HOME\)/ },
    {
      name: "with --allow-read for the lock directory only (the WASM core unreadable)",
      flags: (dir) => [...without("--allow-read"), `--allow-read=${dir}`],
      expect: /waitlock\.wasm.*--allow-read/,
    },
    { name: "signalHolders without --allow-run", flags: () => PERMISSIONS, call: "signal", expect: /--allow-run/ },
  ];
  for (const c of cases) {
    test(c.name, async (t) => {
      const dir = tempDir(t);
      const args = [c.call ?? "acquire", ...(c.viaEnv ? [] : [dir])];
      const r = await runDenoJson<{ ok?: boolean; waitlockError?: boolean; code?: string; message?: string }>(t, "permissions.ts", args, {
        flags: c.flags(dir),
        env: c.viaEnv ? { WAITLOCK_DIR: dir } : {},
      });
      assert.equal(r.waitlockError, true, JSON.stringify(r));
      assert.equal(r.code, "EPERM");
      assert.match(r.message!, c.expect);
    });
  }

  test("with all of them, the same call works", async (t) => {
    const dir = tempDir(t);
    const r = await runDenoJson(t, "permissions.ts", ["acquire", dir]);
    assert.deepEqual(r, { ok: true });
  });
});
