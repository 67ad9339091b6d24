// The Redis backend against a real redis-server: the library and the CLI, then
// the faults a lock on one Redis must survive (holder killed, waitlock killed,
// server paused past the lease, server restarted with and without persistence,
// network cut, waiters killed in the queue). Every fault test checks the rule
// that matters: never two holders; where Redis itself cannot keep it (a restart
// that loses every key), the fence still tells the holders apart.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { acquire, check, list, tryAcquire, waitlock } from "../adapters/node/index.ts";
import { isWaitlockError } from "../adapters/errors.ts";
import { FIXTURES, exited, firstLine, tempDir } from "./helpers.ts";
import { WAITLOCK, assertNoOverlap, logged, ownDoneIsQuiet, nowNs, queued, run, running, spans, start } from "./server-cli.ts";
import { skipUnlessInstalled } from "./servers/installed.ts";
import { backendFromEnvironment, denoBesideNode, doneAcrossHosts, foregroundKeepsLease, holderThenWaiter, killedInExecMode, listWatch, pausedPastLease, shortPause, waiterOutlivesAbsence, type ServerUnderTest } from "./server-cases.ts";
import { redisCommand } from "./servers/redis-resp.ts";
import { startRedis, type RedisServer } from "./servers/redis.ts";
import { startTcpProxy } from "./servers/tcp-proxy.ts";
import { freePorts, sleep, waitUntil } from "./servers/server-process.ts";

const skip = skipUnlessInstalled("redis-server");
let redis: RedisServer;
let n = 0;
/** A fresh key prefix per test, so tests never see each other's keys. */
const url = (endpoint = redis.endpoint) => `redis://${endpoint}/0?prefix=t${process.pid}-${++n}`;

/** This server for the cases every lock server must pass (server-cases.ts). */
const server: ServerUnderTest = {
  url: () => url(),
  unreachableUrl: "redis://127.0.0.1:9/0",
  pause: () => redis.pause(),
  resume: () => redis.resume(),
  denoFlags: ["--allow-sys"], // ioredis reads the OS's details
};

/** writes is the server's count of changes to its data since it started (INFO persistence), which reads never move. */
async function writes(server: RedisServer): Promise<number> {
  const info = String(await redisCommand(server.port, ["INFO", "persistence"], { timeoutMs: 5000 }));
  return Number(/^rdb_changes_since_last_save:(\d+)/m.exec(info)![1]);
}

/** udpSyslog is a syslog receiver on a loopback UDP port: its target URL and the lines it got. */
async function udpSyslog(t: { after(fn: () => void): void }) {
  const receiver = createSocket("udp4");
  const lines: string[] = [];
  receiver.on("message", (m) => lines.push(m.toString()));
  await new Promise<void>((r) => receiver.bind(0, "127.0.0.1", () => r()));
  t.after(() => receiver.close());
  return { target: `udp://127.0.0.1:${receiver.address().port}`, lines };
}

/** silentServer accepts TCP connections and never answers: a host that is up but whose Redis is wedged. */
async function silentServer(t: { after(fn: () => void): void }) {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { endpoint: `127.0.0.1:${(server.address() as { port: number }).port}`, accepted: () => accepted };
}

describe("redis backend", { skip, concurrency: 1 }, () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  describe("library", () => {
    test("check, tryAcquire and list on a busy lock write nothing", async () => {
      const backend = url();
      const holder = await acquire("ro", { backend, lease: 60 }); // no renewal falls in the loop below
      const b = waitlock.backend({ backend });
      const listed = async () => (await b.list({})).map(({ leaseLeftMs, ...rest }) => rest); // the lease left runs down by itself
      const before = await listed();
      const w0 = await writes(redis);
      for (let i = 0; i < 5; i++) {
        assert.equal(await check("ro", { backend }), false);
        assert.equal(await tryAcquire("ro", { backend }), undefined);
      }
      assert.deepEqual(await listed(), before);
      assert.equal(await writes(redis), w0, "no write reached Redis");
      await holder.release();
    });

    test("two prefixes are two namespaces, even when one begins with the other", async () => {
      const p = `ns${process.pid}-${++n}`;
      const [short, long] = [`redis://${redis.endpoint}/0?prefix=${p}`, `redis://${redis.endpoint}/0?prefix=${p}1`];
      const a = await acquire("1x", { backend: short });
      const b = await tryAcquire("x", { backend: long });
      assert.ok(b, `"x" under prefix ${p}1 is taken by "1x" under prefix ${p}: the prefix is not delimited from the descriptor`);
      assert.deepEqual((await list({ backend: long })).map((e) => e.descriptor), ["x"]);
      await b.release();
      await a.release();
    });

    test("a held lock whose keys vanish is lost at the next renewal, and says so", async () => {
      const backend = url();
      const l = await acquire("gone", { backend, lease: 2 });
      const flushedAt = performance.now();
      assert.equal(await redisCommand(redis.port, ["FLUSHALL"]), "OK");
      const err = await l.lost;
      assert.ok(isWaitlockError(err, "ELOST"), String(err));
      assert.ok(performance.now() - flushedAt < 2000, "noticed within the lease");
      assert.equal(l.signal.aborted, true);
      await l.release();
      const next = await acquire("gone", { backend });
      assert.ok(next.fence! > l.fence!, `the fence after a FLUSHALL (${next.fence}) is greater than before (${l.fence})`);
      await next.release();
    });
  });

  describe("Deno beside Node", () => {
    test("a Deno holder excludes Node, and hands over to a Node waiter with a greater fence", (t) => denoBesideNode(t, server));
  });

  describe("CLI", () => {
    test("--exec passes WAITLOCK_FENCE and WAITLOCK_SLOT; --check, fail-fast and --list see the holder", async (t) => {
      const backend = url();
      const out = run(["--backend", backend, "job", "--exec", "sh", "-c", "echo $WAITLOCK_SLOT $WAITLOCK_FENCE"]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^0 \d+\n$/);
      const holder = await running(t, ["--backend", backend, "job"], `sleep 30`);
      assert.equal(run(["--backend", backend, "--check", "job"]).code, 1);
      const began = Date.now();
      const busy = run(["--backend", backend, "job", "--exec", "true"]);
      assert.equal(busy.code, 1, busy.stderr);
      assert.match(busy.stderr, /job is held by PID \d+/);
      assert.ok(Date.now() - began < 5000, "fail-fast does not wait");
      const listed = JSON.parse(run(["--backend", backend, "--list", "--format", "json"]).stdout);
      assert.equal(listed.length, 1);
      assert.equal(listed[0].descriptor, "job");
      holder.kill("SIGTERM");
      await exited(holder);
      assert.equal(run(["--backend", backend, "--check", "job"]).code, 0);
    });

    test("--timeout: a waiter that is not served in time exits 2 and leaves the queue", async () => {
      const backend = url();
      const holder = await acquire("slow", { backend });
      const began = Date.now();
      const r = run(["--backend", backend, "-t", "1", "slow", "--exec", "true"]);
      assert.equal(r.code, 2, r.stderr);
      const took = Date.now() - began;
      assert.ok(took >= 1000 && took < 6000, `gave up after ${took} ms`);
      assert.deepEqual((await list({ backend, descriptor: "slow" })).map((e) => e.kind), ["slot"]);
      await holder.release();
    });

    test("--list shows host, fence, lease left and the queue in arrival order, in every format", async (t) => {
      const backend = url();
      const holder = await acquire("listed", { backend, lease: 7 });
      const waiters = [];
      for (const who of ["first", "second"]) {
        const w = start(["--backend", backend, "-t", "30", "listed", "--exec", "echo", who]);
        t.after(() => w.kill("SIGKILL"));
        waiters.push(w);
        await waitUntil(async () => (await list({ backend, descriptor: "listed" })).length === waiters.length + 1, "waiter queued", { timeoutMs: 10_000 });
      }
      const human = run(["--backend", backend, "--list"]).stdout.split("\n");
      assert.match(human[0], /^DESCRIPTOR\s+SLOT\s+STATE\s+HOST\s+PID\s+OWNER\s+USER\s+ACQUIRED\s+HELD\s+FENCE\s+LEASE\s+COMMAND$/);
      assert.match(human[1], new RegExp(`^listed\\s+0\\s+held\\s+\\S+\\s+${process.pid}\\s.*\\s${holder.fence}\\s+[2-7]s\\s`));
      assert.match(human[2], /^listed\s+-\s+waiting\s.*echo first$/);
      assert.match(human[3], /^listed\s+-\s+waiting\s.*echo second$/);
      const json = JSON.parse(run(["--backend", backend, "--list", "--format", "json"]).stdout);
      assert.deepEqual(json.map((r: { state: string }) => r.state), ["held", "waiting", "waiting"]);
      assert.equal(json[0].fence, String(holder.fence));
      assert.equal(typeof json[0].leaseLeftS, "number");
      const csv = run(["--backend", backend, "--list", "--format", "csv"]).stdout.split("\n");
      assert.ok(csv[0].endsWith(",state,fence,lease_left_s"), csv[0]);
      assert.ok(csv[1].includes(`,held,${holder.fence},`), csv[1]);
      assert.equal(csv.filter((l) => l.includes(",waiting,")).length, 2);
      const nul = run(["--backend", backend, "--list", "--format", "null"]);
      assert.equal(nul.code, 0, nul.stderr);
      // 17 NUL-terminated fields and one more NUL per record (fields may be empty, so count, do not split on NUL NUL).
      const tokens = nul.stdout.split("\0").slice(0, -1);
      const records = Array.from({ length: tokens.length / 18 }, (_, i) => tokens.slice(i * 18, i * 18 + 17));
      assert.equal(records.length, 3, JSON.stringify(nul.stdout));
      assert.deepEqual(records.map((r) => r[14]), ["held", "waiting", "waiting"], "the state column, as in csv");
      assert.equal(records[0][15], String(holder.fence));
      await holder.release();
      for (const w of waiters) assert.equal((await exited(w)).code, 0);
    });

    test("foreground: the owner's own --done lets go quietly and it carries on; another owner whose hold --done ends gets --lost-signal", (t) => ownDoneIsQuiet(t, url()));

    test("--done reaches the holders wherever they run: an exec'd command and a foreground holder let go", (t) => doneAcrossHosts(t, server));

    test("--list --watch shows holders come and go on the server", (t) => listWatch(t, server));

    test("WAITLOCK_BACKEND chooses the server; --backend wins over it", () => backendFromEnvironment(server));

    test("a bad URL is a usage error, one line, and contacts nothing", async (t) => {
      const listener = await silentServer(t);
      const e = listener.endpoint;
      for (const bad of ["redis://", `redis://${e.replace(/:\d+$/, ":99999")}`, `redis://${e}/x`, `redis://${e}/-1`, `redis://${e}/0?bogus=1`, `redis://${e}/0#frag`, `redis://${e},${e}/0`, `redis://${e}/0?ca=/etc/hostname`]) {
        const r = run(["--backend", bad, "x", "--exec", "true"]);
        assert.equal(r.code, 3, `${bad}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      }
      const withSecret = run(["--backend", `redis://alice:hunter2@${e}/notadb`, "--check", "x"]);
      assert.equal(withSecret.code, 3, withSecret.stderr);
      assert.ok(!withSecret.stderr.includes("hunter2"), withSecret.stderr);
      assert.equal(run(["--backend", url(), "-d", "/tmp", "x", "--exec", "true"]).code, 3);
      assert.equal(run(["--backend", url(), "--lease", "0", "x", "--exec", "true"]).code, 3);
      assert.equal(listener.accepted(), 0, "no connection was made");
    });

    test("an unreachable server is exit 75 within 10 s, naming the endpoint and never the password", async (t) => {
      let began = Date.now();
      const r = run(["-v", "--backend", "redis://alice:hunter2@127.0.0.1:9/0", "x", "--exec", "true"]);
      assert.equal(r.code, 75, r.stderr);
      assert.ok(Date.now() - began < 10_000);
      assert.match(r.stderr, /127\.0\.0\.1:9/);
      assert.ok(!r.stderr.includes("hunter2"), r.stderr);
      const env = run(["--backend", "redis://alice@127.0.0.1:9/0", "--check", "x"], { WAITLOCK_BACKEND_PASSWORD: "hunter2" });
      assert.equal(env.code, 75, env.stderr);
      assert.ok(!env.stderr.includes("hunter2"));
      // A host that accepts the connection but never answers (a wedged server) is unreachable too.
      const silent = await silentServer(t);
      began = Date.now();
      const wedged = start(["-v", "--backend", `redis://alice:hunter2@${silent.endpoint}/0`, "-t", "30", "x", "--exec", "true"]);
      t.after(() => wedged.kill("SIGKILL"));
      const rw = await exited(wedged);
      assert.equal(rw.code, 75, wedged.stderrText());
      assert.ok(Date.now() - began < 10_000 + 1000, `gave up after ${Date.now() - began} ms`);
      assert.ok(silent.accepted() > 0, "it did connect");
      assert.match(wedged.stderrText(), new RegExp(silent.endpoint.replace(/\./g, "\\.")));
      assert.ok(!wedged.stderrText().includes("hunter2"), wedged.stderrText());
    });

    test("foreground mode keeps the lease past its TTL for the owner, and lets go when the owner exits", (t) => foregroundKeepsLease(t, server));
  });

  describe("faults", () => {
    test("a library holder SIGKILLed: the lock is back within lease + 1 s", async (t) => {
      const backend = url();
      const child = spawn(process.execPath, [join(FIXTURES, "hold.mjs"), "", "k", JSON.stringify({ backend, lease: 2 })], { stdio: ["pipe", "pipe", "pipe"] });
      t.after(() => child.kill("SIGKILL"));
      const info = JSON.parse(await firstLine(child));
      assert.equal(info.slot, 0, JSON.stringify(info));
      const waiter = acquire("k", { backend, timeout: 20_000 });
      await queued(backend, "k");
      const killedAt = performance.now();
      child.kill("SIGKILL");
      const got = await waiter;
      const backAfter = performance.now() - killedAt;
      assert.ok(backAfter < 2000 + 1000, `back after ${Math.round(backAfter)} ms`);
      await got.release();
    });

    test("waitlock SIGKILLed in exec mode: its command dies with it, the lock is back within the lease, never two holders", (t) => killedInExecMode(t, server));

    test("the server paused longer than the lease: the holder's command is stopped and waitlock exits 7 before a waiter gets in", (t) => pausedPastLease(t, server));

    test("a waiter outlives the server's absence (longer than its own lease) and still gets the lock; a waiter's timeout is exit 2", (t) => waiterOutlivesAbsence(t, server));

    test("a pause shorter than the lease: renewals are late but the lock is not lost", (t) => shortPause(t, server));

    test("foreground mode: a lost lease signals the owner (--lost-signal), and the lost event goes to syslog at err", async (t) => {
      const backend = url();
      const dir = tempDir(t);
      const marker = join(dir, "got-term");
      const syslog = await udpSyslog(t);
      const script = join(dir, "owner.sh");
      writeFileSync(script, [
        `trap 'echo TERM > ${marker}; exit 0' TERM`,
        `${process.execPath} ${WAITLOCK} --backend '${backend}' --lease 2 --syslog --syslog-target ${syslog.target} --lost-signal TERM fgl || exit 1`,
        `echo held > ${marker}.held`,
        "while :; do sleep 0.05; done",
      ].join("\n"));
      const owner = spawn("/bin/sh", [script], { stdio: "ignore" });
      t.after(() => owner.kill("SIGKILL"));
      await waitUntil(() => existsSync(`${marker}.held`), "the owner holds the lock", { timeoutMs: 10_000 });
      redis.pause();
      try {
        await waitUntil(() => existsSync(marker) && readFileSync(marker, "utf8").trim() === "TERM", "the owner got SIGTERM", { timeoutMs: 5000 });
      } finally {
        redis.resume();
      }
      await exited(owner);
      await waitUntil(() => syslog.lines.some((l) => /^<27>.*lost fgl slot 0: lock lost/.test(l)), "a 'lost' line at daemon.err", { timeoutMs: 5000 });
    });

    test("the server restarted without persistence: the holder notices at its next renewal and exits 7; the next fence is still greater", async (t) => {
      const backend = url();
      const log = join(tempDir(t), "log");
      writeFileSync(log, "");
      const a = start(["--backend", backend, "--lease", "3", "r0", "--exec", ...logged(log, "A")]);
      t.after(() => a.kill("SIGKILL"));
      await waitUntil(() => readFileSync(log, "utf8").includes("start A") || (a.exitCode !== null && `A exited ${a.exitCode}: ${a.stderrText()}`), "A started", { timeoutMs: 10_000 });
      const b = start(["--backend", backend, "-t", "30", "r0", "--exec", ...logged(log, "B", 0)]);
      t.after(() => b.kill("SIGKILL"));
      await queued(backend, "r0");
      await redis.kill();
      const emptiedAt = nowNs(); // every key is gone from here on
      await redis.restart();
      const ra = await exited(a);
      assert.equal(ra.code, 7, a.stderrText());
      assert.match(a.stderrText(), /lock lost/);
      assert.equal((await exited(b)).code, 0, b.stderrText());
      const [A, B] = spans(log);
      assert.equal(A.tag, "A");
      assert.ok(A.end !== undefined && A.end - emptiedAt < 3_000_000_000n, `A's command was stopped ${(Number(A.end! - emptiedAt) / 1e6).toFixed(0)} ms after the keys were lost: more than its 3 s lease`);
      assert.equal(B.tag, "B");
      assert.ok(B.fence! > A.fence!, `fence after the restart (${B.fence}) > before (${A.fence})`);
    });

    test("fences strictly increase across holders and across a restart that loses every key", async () => {
      const backend = url();
      const fence = () => {
        const r = run(["--backend", backend, "f", "--exec", "sh", "-c", "echo $WAITLOCK_FENCE"]);
        assert.equal(r.code, 0, r.stderr);
        return BigInt(r.stdout.trim());
      };
      const seen = [fence(), fence(), fence()];
      const lib = await acquire("f", { backend });
      seen.push(lib.fence!);
      await lib.release();
      await redis.restart();
      seen.push(fence(), fence());
      const after = await acquire("f", { backend });
      seen.push(after.fence!);
      await after.release();
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1] < seen[i], `fences ${seen.join(", ")}`);
    });

    for (const mode of ["blackhole", "reset"] as const) {
      test(`the holder cut off from the server (${mode}): its command is stopped and waitlock exits 7 before anyone else holds`, async (t) => {
        const proxy = await startTcpProxy(redis.endpoint);
        t.after(() => proxy.close());
        const prefix = `cut${process.pid}-${++n}`;
        const { log, a, b } = await holderThenWaiter(t, `redis://${proxy.endpoint}/0?prefix=${prefix}`, "c", 30, `redis://${redis.endpoint}/0?prefix=${prefix}`);
        proxy.cut(mode);
        const ra = await exited(a);
        assert.equal(ra.code, 7, a.stderrText());
        assert.equal((await exited(b)).code, 0, b.stderrText());
        assertNoOverlap(spans(log));
      });
    }

    test("a waiter whose first answer is lost (the server queued it, the reply never came) asks again with the same token and keeps its place", async (t) => {
      const proxy = await startTcpProxy(redis.endpoint);
      t.after(() => proxy.close());
      const prefix = `lost${process.pid}-${++n}`;
      const direct = `redis://${redis.endpoint}/0?prefix=${prefix}`;
      const holder = await acquire("lr", { backend: direct });
      t.after(() => holder.release());
      // Cut once B's acquire has gone up (its key base is in no request before it): the server queues B, B never hears.
      proxy.cutAfter(`${prefix}:lr:`, "one-way");
      const log = join(tempDir(t), "log");
      writeFileSync(log, "");
      const b = start(["--backend", `redis://${proxy.endpoint}/0?prefix=${prefix}`, "-t", "30", "lr", "--exec", ...logged(log, "B", 0)]);
      t.after(() => b.kill("SIGKILL"));
      await queued(direct, "lr");
      let cAt = 0n;
      const c = acquire("lr", { backend: direct, timeout: 30_000 }).then((l) => ((cAt = nowNs()), l)); // queued behind B
      void c.then((l) => t.after(() => l.release()), () => undefined);
      await queued(direct, "lr", 2);
      const waiting = () => redisCommand(redis.port, ["ZRANGE", `${prefix}:lr:queue`, "0", "-1"]); // the waiters' tokens, in order
      const before = await waiting();
      await sleep(4000); // past B's 3 s bound on a request: it has given that answer up and is asking again
      assert.equal(b.exitCode, null, `B still waits (a server that took its request is not "unreachable"): ${b.stderrText()}`);
      proxy.restore();
      await sleep(1500); // B hears where it stands
      assert.deepEqual(await waiting(), before, "B asked again with the same token: it kept its place ahead of C, and nobody queued twice");
      const releasedAt = Date.now();
      await holder.release();
      assert.equal((await exited(b)).code, 0, b.stderrText());
      const lockC = await c;
      const [B] = spans(log);
      assert.ok(Number(B.start / 1_000_000n) - releasedAt < 1500, `B got in ${Number(B.start / 1_000_000n) - releasedAt} ms after the release`);
      assert.ok(B.end! <= cAt && B.fence! < BigInt(lockC.fence!), "B was served before C, who came later");
      await lockC.release();
    });

    test("FIFO with real processes: waiters killed in the middle of the queue are skipped, each blocking no longer than its lease", async (t) => {
      const backend = url();
      const log = join(tempDir(t), "log");
      writeFileSync(log, "");
      const holder = await acquire("fifo", { backend });
      const waiters: ReturnType<typeof start>[] = [];
      for (let i = 0; i < 6; i++) {
        const w = start(["--backend", backend, "--lease", "2", "-t", "30", "fifo", "--exec", ...logged(log, `W${i}`, 0)]);
        t.after(() => w.kill("SIGKILL"));
        waiters.push(w);
        await queued(backend, "fifo", i + 1);
      }
      for (const i of [1, 3, 4]) waiters[i].kill("SIGKILL");
      for (const i of [1, 3, 4]) await exited(waiters[i]);
      const killedAt = nowNs();
      await holder.release();
      for (const i of [0, 2, 5]) assert.equal((await exited(waiters[i])).code, 0, waiters[i].stderrText());
      const all = spans(log);
      assert.deepEqual(all.map((s) => s.tag), ["W0", "W2", "W5"], "the living, in arrival order");
      assertNoOverlap(all);
      // Three dead waiters in a row expire together: the last living one is in within their lease (2 s) and a second.
      const lastIn = Number(all[2].start - killedAt) / 1e6;
      assert.ok(lastIn < 2000 + 1000, `W5 got the lock ${lastIn.toFixed(0)} ms after the kills`);
    });
  });
});

describe("redis backend with AOF persistence", { skip, concurrency: 1 }, () => {
  test("the server killed and restarted within the lease: the lock survives", async (t) => {
    const server = await startRedis({ persistence: "aof" });
    t.after(() => server.stop());
    const backend = `redis://${server.endpoint}/0?prefix=aof${process.pid}`;
    const a = await running(t, ["--backend", backend, "--lease", "10", "r"], `sleep 30`);
    const before = (await list({ backend, descriptor: "r" })).find((e) => e.kind === "slot");
    await server.kill();
    await server.restart();
    assert.equal(run(["--backend", backend, "--check", "r"]).code, 1, "still held after the restart");
    const after = (await list({ backend, descriptor: "r" })).find((e) => e.kind === "slot");
    assert.equal(after?.record?.holderPid, before?.record?.holderPid, "by the same holder");
    await sleep(1500);
    assert.equal(a.exitCode, null, `the holder carries on: ${a.stderrText()}`);
    a.kill("SIGTERM");
    assert.equal((await exited(a)).code, 143, a.stderrText());
    assert.equal(run(["--backend", backend, "--check", "r"]).code, 0);
  });
});

describe("redis backend with a password", { skip, concurrency: 1 }, () => {
  test("refused credentials are exit 5; the password never shows in errors, -v, listings, syslog or doctor", async (t) => {
    const secret = "s3cretpw";
    const server = await startRedis();
    t.after(() => server.stop());
    // Users first, then the default user's password (the harness has seen the server answer PING without one).
    assert.equal(await redisCommand(server.port, ["ACL", "SETUSER", "alice", "on", ">alicepw", "~*", "&*", "+@all"]), "OK");
    assert.equal(await redisCommand(server.port, ["ACL", "SETUSER", "bob", "on", ">bobpw", "~*", "&*", "+@read", "+@connection"]), "OK");
    assert.equal(await redisCommand(server.port, ["CONFIG", "SET", "requirepass", secret]), "OK");
    const e = server.endpoint;
    const wrong = run(["-v", "--backend", `redis://default:wr0ngpw@${e}/0`, "x", "--exec", "true"]);
    assert.equal(wrong.code, 5, wrong.stderr);
    assert.equal(wrong.stderr.includes("wr0ngpw"), false, wrong.stderr);
    const none = run(["--backend", `redis://${e}/0`, "--check", "x"]);
    assert.equal(none.code, 5, `no password at all: ${none.stderr}`);
    const alice = run(["--backend", `redis://alice:alicepw@${e}/0`, "acl", "--exec", "sh", "-c", "echo $WAITLOCK_FENCE"]);
    assert.equal(alice.code, 0, `an ACL user: ${alice.stderr}`);
    const aliceWrong = run(["--backend", `redis://alice:bobpw@${e}/0`, "--check", "acl"]);
    assert.equal(aliceWrong.code, 5, aliceWrong.stderr);
    assert.ok(!aliceWrong.stderr.includes("bobpw"), aliceWrong.stderr);
    const bob = run(["-v", "--backend", `redis://bob:bobpw@${e}/0`, "acl", "--exec", "true"]);
    assert.equal(bob.code, 5, `a user who may not run scripts: ${bob.stderr}`);
    assert.equal(bob.stderr.trim().split("\n").filter((l) => !/acquiring/.test(l)).length, 1, bob.stderr);
    assert.ok(!bob.stderr.includes("bobpw") && !/\n\s+at /.test(bob.stderr), bob.stderr);
    const syslog = await udpSyslog(t);
    const holder = await running(t, ["-v", "--syslog", "--syslog-target", syslog.target, "--backend", `redis://default:${secret}@${e}/0`, "x"], `sleep 30`);
    const env = { WAITLOCK_BACKEND_PASSWORD: secret };
    assert.equal(run(["--backend", `redis://default@${e}/0`, "--check", "x"], env).code, 1, "the password from the environment");
    for (const format of ["human", "json", "csv", "null"]) {
      const listed = run(["-v", "--backend", `redis://default:${secret}@${e}/0`, "--list", "--format", format]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /\bx\b/);
      assert.ok(!listed.stdout.includes(secret) && !listed.stderr.includes(secret), listed.stdout + listed.stderr);
    }
    const busy = run(["-v", "--syslog", "--syslog-target", syslog.target, "--backend", `redis://default:${secret}@${e}/0`, "x", "--exec", "true"]);
    assert.equal(busy.code, 1, busy.stderr);
    assert.ok(!busy.stderr.includes(secret), busy.stderr);
    const doctor = run(["doctor", "--backend", `redis://default:${secret}@${e}/0`]);
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, /^OK\s+redis: /m);
    assert.ok(!(doctor.stdout + doctor.stderr).includes(secret));
    const badDoctor = run(["doctor", "--backend", `redis://default:wr0ngpw@${e}/0`]);
    assert.equal(badDoctor.code, 1, badDoctor.stdout + badDoctor.stderr);
    assert.ok(!(badDoctor.stdout + badDoctor.stderr).includes("wr0ngpw"));
    holder.kill("SIGTERM");
    await exited(holder);
    assert.ok(!holder.stderrText().includes(secret), holder.stderrText());
    await waitUntil(() => syslog.lines.length >= 2, "syslog lines from the holder and the refused one", { timeoutMs: 5000 });
    for (const line of syslog.lines) assert.ok(!line.includes(secret), line);
  });
});

describe("redis backend over TLS", { skip: skip || (spawnSync("openssl", ["version"]).status === 0 ? false : "openssl not installed"), concurrency: 1 }, () => {
  /** makeCa writes a CA and a certificate it signs for 127.0.0.1 (openssl), returning the paths. */
  function makeCa(dir: string, name: string) {
    const f = (x: string) => join(dir, `${name}-${x}`);
    const ssl = (...args: string[]) => {
      const r = spawnSync("openssl", args, { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    };
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${name} test CA`, "-keyout", f("ca.key"), "-out", f("ca.pem"));
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", f("server.key"), "-out", f("server.csr"));
    writeFileSync(f("ext"), "subjectAltName=IP:127.0.0.1\n");
    ssl("x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "1", "-extfile", f("ext"), "-out", f("server.pem"));
    return { ca: f("ca.pem"), cert: f("server.pem"), key: f("server.key") };
  }

  test("rediss:// works with the right CA (query or environment); a CA that does not vouch for the server is exit 5", async (t) => {
    const dir = tempDir(t);
    const good = makeCa(dir, "good");
    const other = makeCa(dir, "other");
    const [tlsPort] = await freePorts(1);
    const server = await startRedis({ extraArgs: ["--tls-port", String(tlsPort), "--tls-cert-file", good.cert, "--tls-key-file", good.key, "--tls-ca-cert-file", good.ca, "--tls-auth-clients", "no"] });
    t.after(() => server.stop());
    const e = `127.0.0.1:${tlsPort}`;
    const ok = run(["--backend", `rediss://${e}/0?ca=${good.ca}`, "secure", "--exec", "sh", "-c", "echo $WAITLOCK_FENCE"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^\d+\n$/);
    assert.equal(run(["--backend", `rediss://${e}/0`, "--check", "secure"], { WAITLOCK_TLS_CA: good.ca }).code, 0);
    const refused = run(["--backend", `rediss://${e}/0?ca=${other.ca}`, "secure", "--exec", "true"]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    const plain = run(["--backend", `redis://${e}/0`, "--check", "secure"]);
    assert.notEqual(plain.code, 0, "plain text to a TLS port does not pass");
    const missing = run(["--backend", `rediss://${e}/0?ca=${join(dir, "nope.pem")}`, "--check", "secure"]);
    assert.equal(missing.code, 3, missing.stderr);
    assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
    const doctor = run(["doctor", "--backend", `rediss://${e}/0?ca=${good.ca}`]);
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, new RegExp(`^OK\\s+redis: ${e.replace(/\./g, "\\.")} answers`, "m"));
  });
});
