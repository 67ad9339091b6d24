// The wait queue of the lock directory (adapters/file-queue.ts, docs/FORMAT.md
// "The wait queue"): waiters are served in arrival order across the CLI, Node
// and Deno; a waiter SIGKILLed in the queue does not hold it up; a process
// looping acquire/release does not starve a waiter; what is planted in a queue
// directory never crashes, blocks or misleads anyone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, chownSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { acquire, check, tryAcquire, type Lock } from "../adapters/node/index.ts";
import { DENO, FIXTURES, ROOT, exited, firstLine, queueTickets, tempDir, WAITLOCK, eventually, watchedInodes } from "./helpers.ts";

const DENO_FLAGS = ["run", "--quiet", "--no-prompt", "--allow-read", "--allow-write", "--allow-ffi", "--allow-env"];

type T = { after(fn: () => void): void };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kind = "node" | "cli" | "deno";

/** waiter starts a waiter of one kind; it appends its tag to log once it holds the lock. */
function waiter(t: T, kind: Kind, dir: string, descriptor: string, max: number, tag: string, log: string, holdMs = 30): ChildProcess {
  let child: ChildProcess;
  if (kind === "node") {
    child = spawn(process.execPath, [join(FIXTURES, "fifo-waiter.mjs"), dir, descriptor, String(max), String(holdMs), tag, log], { stdio: ["ignore", "pipe", "pipe"] });
  } else if (kind === "deno") {
    child = spawn(DENO, [...DENO_FLAGS, join(ROOT, "tests/deno/fifo-waiter.ts"), dir, descriptor, String(max), String(holdMs), tag, log], {
      stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" },
    });
  } else {
    const sh = `echo ${tag} >> '${log}'; sleep ${holdMs / 1000}`;
    child = spawn(WAITLOCK, ["-d", dir, "-t", "inf", ...(max > 1 ? ["-m", String(max)] : []), descriptor, "--exec", "sh", "-c", sh], { stdio: ["ignore", "pipe", "pipe"] });
  }
  let err = "";
  child.stderr?.on("data", (d) => (err += d));
  (child as ChildProcess & { errText: () => string }).errText = () => err;
  t.after(() => child.kill("SIGKILL"));
  return child;
}

/** queueUp starts waiters one after another, each once the previous one holds a ticket. */
async function queueUp(t: T, dir: string, descriptor: string, max: number, kinds: Kind[], log: string): Promise<ChildProcess[]> {
  const kids: ChildProcess[] = [];
  for (const [i, kind] of kinds.entries()) {
    kids.push(waiter(t, kind, dir, descriptor, max, `${kind}${i}`, log));
    await eventually(() => queueTickets(dir, descriptor).length === i + 1, `waiter ${kind}${i} to queue`);
  }
  return kids;
}

function logged(log: string): string[] {
  return existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
}

test("waiters from the CLI, Node and Deno are served in arrival order; one SIGKILLed in the middle holds no one up", { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const log = join(dir, "order.log");
  const holder = await acquire("q", { lockDir: dir });
  const kinds: Kind[] = ["node", "cli", "deno", "node", "cli", "deno", "node"];
  const kids = await queueUp(t, dir, "q", 1, kinds, log);
  // The fourth in line dies with its ticket still in the queue.
  kids[3].kill("SIGKILL");
  await exited(kids[3]);
  // Looking (check, tryAcquire) is not held up by the queue: the lock is busy because it is held.
  assert.equal(await check("q", { lockDir: dir }), false);
  assert.equal(await tryAcquire("q", { lockDir: dir }), undefined);
  const t0 = Date.now();
  await holder.release();
  const live = kids.filter((_, i) => i !== 3);
  const ends = await Promise.all(live.map((k) => exited(k)));
  ends.forEach((e, i) => assert.equal(e.code, 0, `waiter ${i} exit: ${(live[i] as ChildProcess & { errText: () => string }).errText()}`));
  assert.deepEqual(logged(log), ["node0", "cli1", "deno2", "cli4", "deno5", "node6"]);
  // Six holds of 30 ms and the start of three commands: the dead ticket cost at most a poll or two.
  assert.ok(Date.now() - t0 < 5_000, `the queue drained in ${Date.now() - t0} ms`);
  assert.equal(existsSync(join(dir, "q.queue")), false, "the last waiter out removed the queue directory, dead ticket and all");
});

test("a semaphore's waiters take its slots in arrival order", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const log = join(dir, "order.log");
  const held = [await acquire("s", { lockDir: dir, maxHolders: 2 }), await acquire("s", { lockDir: dir, maxHolders: 2 })];
  // Node waiters only: a CLI's command writes the log some milliseconds after it got
  // its slot, and with two slots another holder may log first.
  const kids = await queueUp(t, dir, "s", 2, ["node", "node", "node", "node", "node"], log);
  // Free one slot at a time: each goes to the next in line.
  await held[0].release();
  await eventually(() => logged(log).length === 1, "the first waiter to get a slot");
  await held[1].release();
  for (const k of kids) assert.equal((await exited(k)).code, 0);
  assert.deepEqual(new Set(logged(log)), new Set(["node0", "node1", "node2", "node3", "node4"]));
  // Each waiter's turn comes once the one before it has its slot; it appends to the log a moment
  // after, so a waiter may log just before the one it followed: nobody logs more than one
  // place ahead of its turn.
  const order = logged(log).map((s) => Number(s.slice(-1)));
  order.forEach((n, i) => assert.ok(n - i <= 1, `waiter ${n} served ${i}th, ahead of ${n - i} who came first: ${order}`));
});

test("a writer queued behind readers waits for them, and readers behind it wait for it", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const writer = await acquire("rw", { lockDir: dir });
  const order: string[] = [];
  const take = (tag: string, shared: boolean) =>
    acquire("rw", { lockDir: dir, shared }).then((l) => {
      order.push(tag);
      return l;
    });
  const r1 = take("r1", true);
  await eventually(() => queueTickets(dir, "rw").length === 1, "r1 to queue");
  const r2 = take("r2", true);
  await eventually(() => queueTickets(dir, "rw").length === 2, "r2 to queue");
  const w = take("w", false);
  await eventually(() => queueTickets(dir, "rw").length === 3, "w to queue");
  const r3 = take("r3", true);
  await eventually(() => queueTickets(dir, "rw").length === 4, "r3 to queue");
  await writer.release();
  const readers = await Promise.all([r1, r2]);
  await sleep(150);
  assert.deepEqual(order.sort(), ["r1", "r2"], "the readers at the front went in together; the writer waits for them, and r3 for the writer");
  for (const l of readers) await l.release();
  const wl = await w;
  await sleep(150);
  assert.deepEqual(order, ["r1", "r2", "w"]);
  await wl.release();
  await (await r3).release();
  assert.deepEqual(order, ["r1", "r2", "w", "r3"]);
});

test("no starvation: a process looping acquire/release lets a waiter in at once", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  // A tight loop in another process: acquire, release, acquire… for 4 s.
  const loop = `import { acquire } from ${JSON.stringify(join(ROOT, "dist/node/index.js"))};
    const until = Date.now() + 4000; let n = 0;
    while (Date.now() < until) { const l = await acquire("hot", { lockDir: ${JSON.stringify(dir)} }); await l.release(); n++; }
    console.log(n);`;
  const looper = spawn(process.execPath, ["--input-type=module", "-e", loop], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => looper.kill("SIGKILL"));
  const loops = firstLine(looper);
  await eventually(() => existsSync(join(dir, "hot.slot0.lock")), "the loop to start");
  await sleep(300);
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const l = await acquire("hot", { lockDir: dir, timeout: 3_000 });
    waits.push(performance.now() - t0);
    await l.release();
    await sleep(50);
  }
  const n = Number(await loops);
  await exited(looper); // its last events are written as it exits, into the directory the test removes
  assert.ok(n > 200, `the loop kept going meanwhile (${n} times)`);
  waits.sort((a, b) => a - b);
  assert.ok(waits[2] < 100, `a waiter behind a tight loop got in within ${waits.map((w) => w.toFixed(1)).join(", ")} ms`);
});

test("planted queue files neither crash, nor block, nor make a free lock look busy", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const queue = join(dir, "h.queue");
  mkdirSync(queue);
  writeFileSync(join(queue, "garbage"), "x");
  writeFileSync(join(queue, "00000000000001-1-00000000.w"), "not a live ticket"); // a dead ticket, first in line
  symlinkSync("/etc/passwd", join(queue, "00000000000002-1-00000000.w"));
  mkdirSync(join(queue, "00000000000003-1-00000000.w"));
  spawnSync("mkfifo", [join(queue, "00000000000004-1-00000000.r")]);
  const other = join(queue, "00000000000005-1-00000000.w");
  closeSync(openSync(other, "w"));
  chownSync(other, 65534, 65534); // another user's dead ticket
  // A free lock is free for every way of asking.
  assert.equal(await check("h", { lockDir: dir }), true);
  await (await tryAcquire("h", { lockDir: dir }))!.release();
  const t0 = performance.now();
  const l = await acquire("h", { lockDir: dir, timeout: 2_000 });
  assert.ok(performance.now() - t0 < 500, "nothing planted held the waiter up");
  await l.release();
  assert.equal(readFileSync("/etc/passwd", "utf8").includes("root"), true, "a symlinked ticket is never followed");
  assert.equal(existsSync(join(queue, "00000000000001-1-00000000.w")), false, "the dead ticket was removed");
  // What is not a ticket (or not removable) stays as it was.
  for (const n of ["garbage", "00000000000002-1-00000000.w", "00000000000003-1-00000000.w", "00000000000004-1-00000000.r"]) assert.ok(existsSync(join(queue, n)), n);

  // A queue directory that is a file, or a symlink: no queue, the lock still works.
  for (const [name, plant] of [["f", () => writeFileSync(join(dir, "f.queue"), "x")], ["s", () => symlinkSync(dir, join(dir, "s.queue"))]] as const) {
    plant();
    const held = await acquire(name, { lockDir: dir });
    const waiting = acquire(name, { lockDir: dir, timeout: 5_000 });
    await sleep(100);
    await held.release();
    await (await waiting).release();
  }
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith(".lock")), [], "no slot file left behind");

  // A live ticket held by a process that never tries (stopped, or planted) cannot keep a free lock from a waiter.
  const stuck = join(dir, "k.queue");
  mkdirSync(stuck);
  const ticket = join(stuck, "00000000000001-1-00000000.w");
  const holder = spawn(process.execPath, ["-e", `const fs=require("fs");const fd=fs.openSync(${JSON.stringify(ticket)},"w");
    require(${JSON.stringify(join(ROOT, "node_modules/fs-native-extensions"))}).tryLock(fd,0,1);console.log("locked");setInterval(()=>{},1000)`], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => holder.kill("SIGKILL"));
  assert.equal(await firstLine(holder), "locked");
  assert.equal(await check("k", { lockDir: dir }), true, "check ignores the queue");
  const t1 = performance.now();
  const k = await acquire("k", { lockDir: dir, timeout: 5_000 });
  const waited = performance.now() - t1;
  await k.release();
  assert.ok(waited < 1_000, `a stuck queue was passed after ${waited.toFixed(0)} ms (two polls)`);
});

test("no herd: only the waiter at the front watches the holder's file; each other watches the ticket before its own", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const log = join(dir, "order.log");
  const holder: Lock = await acquire("herd", { lockDir: dir });
  const kids = await queueUp(t, dir, "herd", 1, ["node", "node", "node", "node", "node"], log);
  const queue = join(dir, "herd.queue");
  const names = queueTickets(dir, "herd").sort();
  const inode = (path: string) => Number(statSync(path).ino);
  await eventually(() => kids.every((k) => watchedInodes(k.pid!).length === 1), "each waiter to have one inotify watch");
  assert.deepEqual(watchedInodes(kids[0].pid!), [inode(join(dir, "herd.slot0.lock"))], "the first in line watches the holder's slot file, not the directory");
  for (let i = 1; i < kids.length; i++) {
    // Tickets sort by arrival, and the children queued in order.
    assert.deepEqual(watchedInodes(kids[i].pid!), [inode(join(queue, names[i - 1]))], `waiter ${i} watches only the ticket ahead of it`);
  }
  await holder.release();
  for (const k of kids) assert.equal((await exited(k)).code, 0);
  assert.deepEqual(logged(log), ["node0", "node1", "node2", "node3", "node4"]);
});

test("no herd on a semaphore either: the first in line watches every holder's file, the next only the ticket before its own", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const log = join(dir, "order.log");
  const held = [await acquire("sem", { lockDir: dir, maxHolders: 2 }), await acquire("sem", { lockDir: dir, maxHolders: 2 })];
  const kids = await queueUp(t, dir, "sem", 2, ["node", "node", "node"], log);
  const names = queueTickets(dir, "sem").sort();
  const inode = (path: string) => Number(statSync(path).ino);
  const slots = [0, 1].map((n) => inode(join(dir, `sem.slot${n}.lock`))).sort();
  await eventually(() => watchedInodes(kids[0].pid!).length === 2, "the first waiter to watch both holders");
  assert.deepEqual([...watchedInodes(kids[0].pid!)].sort(), slots);
  // Exclusive waiters go one at a time (docs/FORMAT.md, "Turns"): the second waits for the first's ticket, not for a slot.
  for (let i = 1; i < kids.length; i++) {
    await eventually(() => watchedInodes(kids[i].pid!).length === 1, `waiter ${i} to have one inotify watch`);
    assert.deepEqual(watchedInodes(kids[i].pid!), [inode(join(dir, "sem.queue", names[i - 1]))], `waiter ${i} watches only the ticket ahead of it`);
  }
  for (const l of held) await l.release();
  for (const k of kids) assert.equal((await exited(k)).code, 0);
});

test("a release wakes its waiter through the holder's file, and a process done waiting keeps no watch", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const slotFile = join(dir, "solo.slot0.lock");
  const holder = await acquire("solo", { lockDir: dir });
  // A poll of a minute: only the watch can bring this waiter in within the test's time.
  const waiting = acquire("solo", { lockDir: dir, timeout: 20_000, pollInterval: 60_000 });
  await eventually(() => watchedInodes(process.pid).includes(Number(statSync(slotFile).ino)), "the waiter to watch the holder's file");
  assert.ok(!watchedInodes(process.pid).includes(Number(statSync(dir).ino)), "the waiter does not watch the lock directory");
  await holder.release();
  const lock = await waiting;
  await lock.release();
  // Its watches go right after the grant: one kept on the lock directory by each
  // process that ever waited would wake all of them on every release. The wait's
  // tidy-up timer was set at the grant, before this one, so it has run by then;
  // the old linger was a second.
  await sleep(100);
  assert.ok(!watchedInodes(process.pid).includes(Number(statSync(dir).ino)), "no watch of the lock directory is left");
});

test("behind readers, a writer watches the lock directory (a reader's release leaves the slot file as it is) and is woken by it", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const reader = await acquire("rw", { lockDir: dir, shared: true });
  const waiting = acquire("rw", { lockDir: dir, timeout: 20_000, pollInterval: 60_000 });
  await eventually(() => watchedInodes(process.pid).includes(Number(statSync(dir).ino)), "the writer to watch the lock directory");
  await reader.release();
  const lock = await waiting;
  await lock.release();
});

test("a waiter that found a holder without its record yet moves from the directory to the holder's file once it is written", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const slotFile = join(dir, "up.slot0.lock");
  // A holder caught between locking its slot file and writing its record: the waiter
  // cannot tell it from readers yet, so it watches the directory.
  const holder = spawn(process.execPath, ["-e", `const fs=require("fs");const path=${JSON.stringify(slotFile)};const fd=fs.openSync(path,"w");
    require(${JSON.stringify(join(ROOT, "node_modules/fs-native-extensions"))}).tryLock(fd,0,2);console.log("locked");
    require("readline").createInterface({input:process.stdin}).on("line",(l)=>{if(l==="write"){fs.writeSync(fd,"a record");console.log("written")}else{fs.unlinkSync(path);process.exit(0)}})`], { stdio: ["pipe", "pipe", "pipe"] });
  t.after(() => holder.kill("SIGKILL"));
  assert.equal(await firstLine(holder), "locked");
  const waiting = acquire("up", { lockDir: dir, timeout: 20_000, pollInterval: 60_000 });
  await eventually(() => watchedInodes(process.pid).includes(Number(statSync(dir).ino)), "the waiter to watch the lock directory");
  holder.stdin!.write("write\n");
  await eventually(() => watchedInodes(process.pid).includes(Number(statSync(slotFile).ino)), "the waiter to watch the holder's file");
  await eventually(() => !watchedInodes(process.pid).includes(Number(statSync(dir).ino)), "the waiter to stop watching the directory");
  holder.stdin!.end("release\n");
  await (await waiting).release();
});

test("a semaphore's waiter whose turn it is watches every holder's file, and any release wakes it", { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const a = await acquire("pool", { lockDir: dir, maxHolders: 2 });
  const b = await acquire("pool", { lockDir: dir, maxHolders: 2 });
  const waiting = acquire("pool", { lockDir: dir, maxHolders: 2, timeout: 20_000, pollInterval: 60_000 });
  const inode = (slot: number) => Number(statSync(join(dir, `pool.slot${slot}.lock`)).ino);
  await eventually(() => [inode(0), inode(1)].every((i) => watchedInodes(process.pid).includes(i)), "the waiter to watch both holders' files");
  assert.ok(!watchedInodes(process.pid).includes(Number(statSync(dir).ino)), "the waiter does not watch the lock directory");
  await (a.slot === 1 ? a : b).release(); // slot 1: not the one a waiter tries first
  const lock = await waiting;
  assert.equal(lock.slot, 1);
  await lock.release();
  await (a.slot === 1 ? b : a).release();
});
