// The etcd backend against a real etcd: the library and the CLI, then the
// faults a lock across hosts must survive (holder killed, server paused past
// the lease, server restarted, network cut, leader killed). Every fault test
// checks the one rule that matters: never two holders.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquire, check, list, tryAcquire, waitlock } from "../adapters/node/index.ts";
import { isWaitlockError } from "../adapters/errors.ts";
import { exited, signalCounter, tempDir } from "./helpers.ts";
import { WAITLOCK, assertNoOverlap, ownDoneIsQuiet, logged, queued, run, running, spans, start } from "./server-cli.ts";
import { startEtcd, startEtcdCluster, type EtcdMember } from "./servers/etcd.ts";
import { skipUnlessInstalled } from "./servers/installed.ts";
import { backendFromEnvironment, denoBesideNode, doneAcrossHosts, foregroundKeepsLease, holderThenWaiter, killedInExecMode, listWatch, pausedPastLease, shortPause, waiterOutlivesAbsence, type ServerUnderTest } from "./server-cases.ts";
import { startTcpProxy } from "./servers/tcp-proxy.ts";
import { etcdCall } from "./servers/etcd-http.ts";
import { sleep, waitUntil } from "./servers/server-process.ts";

const skip = skipUnlessInstalled("etcd");
let etcd: EtcdMember;
let n = 0;
/** A fresh prefix per test, so tests never see each other's keys. */
const url = (endpoint = etcd.endpoint) => `etcd://${endpoint}/t${process.pid}-${++n}`;

/** This server for the cases every lock server must pass (server-cases.ts). */
const server: ServerUnderTest = {
  url: () => url(),
  unreachableUrl: "etcd://127.0.0.1:9/x",
  pause: () => etcd.pause(),
  resume: () => etcd.resume(),
};

/** keysAt reads every key under prefix as it was at revision: key → lease ID. */
async function keysAt(prefix: string, revision: bigint): Promise<Map<string, string>> {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const r = await etcdCall<{ kvs?: { key: string; lease?: string }[] }>(etcd.url, "/v3/kv/range", { key: b64(prefix), range_end: b64(end), revision: String(revision) });
  return new Map((r.kvs ?? []).map((kv) => [Buffer.from(kv.key, "base64").toString(), kv.lease ?? "0"]));
}

describe("etcd backend", { skip, concurrency: 1 }, () => {
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  describe("library", () => {
    test("letting go hands the lock to the next waiter in the same transaction that removes the holder", async () => {
      const backend = url();
      const prefix = `${new URL(backend).pathname.slice(1)}/`;
      const a = await acquire("ho", { backend });
      const next = acquire("ho", { backend });
      await queued(backend, "ho", 1);
      await a.release();
      const b = await next;
      // One revision: before it the holder is queued, at it the holder is gone and the waiter holds slot 0.
      const before = await keysAt(`${prefix}ho/`, b.fence! - 1n);
      const at = await keysAt(`${prefix}ho/`, b.fence!);
      assert.ok(before.has(`${prefix}ho/q/${a.lease!.id}`), "the holder was queued until then");
      assert.equal(at.has(`${prefix}ho/q/${a.lease!.id}`), false);
      assert.equal(at.get(`${prefix}ho/slot/0`), b.lease!.id);
      await b.release();
    });

    test("a writer's release lets the readers queued behind it in together, and the writer behind them waits", async () => {
      const backend = url();
      const w = await acquire("rw", { backend });
      const readers = [acquire("rw", { backend, shared: true }), acquire("rw", { backend, shared: true })];
      await queued(backend, "rw", 2);
      let writerIn = false;
      const w2 = acquire("rw", { backend }).then((l) => ((writerIn = true), l));
      await queued(backend, "rw", 3);
      // The readers are queued on the server; the holder learns it from its watch a moment later,
      // and a release before that lets them in one by one (correct, but not what is tested here).
      await sleep(200);
      await w.release();
      const [r1, r2] = await Promise.all(readers);
      assert.equal(r1.fence, r2.fence, "granted by one transaction");
      assert.ok(r1.fence! > w.fence!);
      await sleep(100);
      assert.equal(writerIn, false, "the writer behind the readers waits for both");
      await r1.release();
      await sleep(100);
      assert.equal(writerIn, false);
      await r2.release();
      const last = await w2;
      assert.ok(last.fence! > r2.fence!);
      await last.release();
    });

    test("check and tryAcquire on a busy lock write nothing", async () => {
      const backend = url();
      const holder = await acquire("ro", { backend });
      const b = waitlock.backend({ backend });
      const listed = async () => (await b.list({})).map(({ leaseLeftMs, ...rest }) => rest); // the lease left runs down by itself
      const before = await listed();
      const rev = async () => (await (await fetch(`http://${etcd.endpoint}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: btoa("x") }) })).json()).header.revision;
      const r0 = await rev();
      for (let i = 0; i < 5; i++) {
        assert.equal(await check("ro", { backend }), false);
        assert.equal(await tryAcquire("ro", { backend }), undefined);
      }
      assert.equal(await rev(), r0, "no write reached etcd");
      assert.deepEqual(await listed(), before);
      await holder.release();
    });

    test("a held lock is lost when its lease is revoked, and says so", async () => {
      const backend = url();
      const l = await acquire("gone", { backend, lease: 2 });
      await fetch(`http://${etcd.endpoint}/v3/lease/revoke`, { method: "POST", body: JSON.stringify({ ID: l.lease!.id }) });
      const err = await l.lost;
      assert.ok(isWaitlockError(err, "ELOST"));
      assert.equal(l.signal.aborted, true);
      await l.release();
    });
  });

  describe("Deno beside Node", () => {
    test("a Deno holder excludes Node, and hands over to a Node waiter with a greater fence", (t) => denoBesideNode(t, server));
  });

  describe("CLI", () => {
    test("--exec passes WAITLOCK_FENCE and WAITLOCK_SLOT; --check and --list see the holder", async (t) => {
      const backend = url();
      const out = run(["--backend", backend, "job", "--exec", "sh", "-c", "echo $WAITLOCK_SLOT $WAITLOCK_FENCE"]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^0 \d+\n$/);
      const holder = await running(t, ["--backend", backend, "job"], `sleep 30`);
      assert.equal(run(["--backend", backend, "--check", "job"]).code, 1);
      const busy = run(["--backend", backend, "job", "--exec", "true"]);
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, /job is held by PID \d+/);
      const listed = JSON.parse(run(["--backend", backend, "--list", "--format", "json"]).stdout);
      assert.equal(listed.length, 1);
      assert.equal(listed[0].descriptor, "job");
      holder.kill("SIGTERM");
      await exited(holder);
      assert.equal(run(["--backend", backend, "--check", "job"]).code, 0);
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
      assert.ok(csv[0].endsWith(",state,fence,lease_left_s"));
      assert.ok(csv[1].includes(`,held,${holder.fence},`));
      await holder.release();
      for (const w of waiters) assert.equal((await exited(w)).code, 0);
    });

    test("--done reaches the holders wherever they run: an exec'd command and a foreground holder let go", (t) => doneAcrossHosts(t, server));

    test("foreground: the owner's own --done lets go quietly and it carries on; another owner whose hold --done ends gets --lost-signal", (t) => ownDoneIsQuiet(t, url()));

    test("--list --watch shows holders come and go on the server", (t) => listWatch(t, server));

    test("a waiter's command process, made while waiting, never runs the command without the grant", async (t) => {
      const backend = url();
      const dir = tempDir(t);
      const holder = await acquire("pre", { backend });
      const ran = join(dir, "ran");
      const timedOut = run(["--backend", backend, "-t", "1", "pre", "--exec", "sh", "-c", `touch ${ran}`]);
      assert.equal(timedOut.code, 2, timedOut.stderr);
      const interrupted = start(["--backend", backend, "-t", "30", "pre", "--exec", "sh", "-c", `touch ${ran}`]);
      await waitUntil(async () => (await list({ backend, descriptor: "pre" })).some((e) => e.kind === "waiter"), "the waiter queued", { timeoutMs: 10_000 });
      interrupted.kill("SIGTERM");
      assert.equal((await exited(interrupted)).code, 143);
      const killed = start(["--backend", backend, "--lease", "2", "-t", "30", "pre", "--exec", "sh", "-c", `touch ${ran}`]);
      await waitUntil(async () => (await list({ backend, descriptor: "pre" })).some((e) => e.kind === "waiter"), "the waiter queued", { timeoutMs: 10_000 });
      killed.kill("SIGKILL");
      await exited(killed);
      await holder.release();
      await sleep(500);
      assert.equal(existsSync(ran), false, "no command ran");
      // This test's starters only (their command names its own temp file): others may run on the machine.
      const left = spawnSync("pgrep", ["-f", `read -r granted.*touch ${ran}`], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean)
        .filter((pid) => { try { return !/^[ZX]/.test(readFileSync(`/proc/${pid}/stat`, "latin1").replace(/^.*\) /s, "")); } catch { return false; } });
      assert.deepEqual(left, [], "no starter is left waiting");
      // And with the grant (once the killed waiter's lease has run out), it does run, with the grant's environment.
      const granted = run(["--backend", backend, "-t", "10", "pre", "--exec", "sh", "-c", "echo $WAITLOCK_SLOT $WAITLOCK_DESCRIPTOR $WAITLOCK_FENCE"]);
      assert.equal(granted.code, 0, granted.stderr);
      assert.match(granted.stdout, /^0 pre \d+\n$/);
    });

    test("a waiter's command gets each signal once, sent to its process group (Ctrl-C) or to waitlock alone", async (t) => {
      // The waiter's command process and its group-signal witness are made while it waits (exec.ts Starter).
      const backend = url();
      const holder = await acquire("sig", { backend });
      const counter = signalCounter(t, ["--backend", backend, "-t", "30", "sig"], {});
      await queued(backend, "sig");
      await holder.release();
      const send = await counter;
      assert.equal(await send("SIGINT", "group", 1), 1);
      assert.equal(await send("SIGINT", "waitlock", 2), 2, "to waitlock alone, after one to the group: passed on");
      assert.equal(await send("SIGTERM", "group", 1), 1);
      assert.equal(await send("SIGTERM", "waitlock", 2), 2);
    });

    test("WAITLOCK_BACKEND chooses the server; --backend wins over it", () => backendFromEnvironment(server));

    test("a bad URL is a usage error and contacts nothing; --lock-dir with --backend too", () => {
      for (const bad of ["etcd://", "etcd://h:99999", "http://h:1", "etcd://h:1?bogus=1"]) {
        const r = run(["--backend", bad, "x", "--exec", "true"]);
        assert.equal(r.code, 3, `${bad}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      }
      assert.equal(run(["--backend", url(), "-d", "/tmp", "x", "--exec", "true"]).code, 3);
      assert.equal(run(["--backend", url(), "--lease", "0", "x", "--exec", "true"]).code, 3);
    });

    test("an unreachable server is exit 75 within 10 s, naming the endpoint and never the password", () => {
      const began = Date.now();
      const r = run(["-v", "--backend", "etcd://alice:hunter2@127.0.0.1:9/p", "x", "--exec", "true"]);
      assert.equal(r.code, 75, r.stderr);
      assert.ok(Date.now() - began < 10_000);
      assert.match(r.stderr, /127\.0\.0\.1:9/);
      assert.ok(!r.stderr.includes("hunter2"), r.stderr);
      const env = run(["--backend", "etcd://alice@127.0.0.1:9/p", "--check", "x"], { WAITLOCK_BACKEND_PASSWORD: "hunter2" });
      assert.equal(env.code, 75);
      assert.ok(!env.stderr.includes("hunter2"));
    });

    test("foreground mode keeps the lease past its TTL for the owner, and lets go when the owner exits", (t) => foregroundKeepsLease(t, server));
  });

  describe("faults", () => {
    test("waitlock SIGKILLed in exec mode: its command dies with it, the lock is back within the lease, never two holders", (t) => killedInExecMode(t, server));

    test("the server paused longer than the lease: the holder's command is stopped and waitlock exits 7 before a waiter gets in", (t) => pausedPastLease(t, server));

    test("a waiter outlives the server's absence (longer than its own lease) and still gets the lock; a waiter's timeout is exit 2", (t) => waiterOutlivesAbsence(t, server));

    test("a pause shorter than the lease: renewals are late but the lock is not lost", (t) => shortPause(t, server));

    test("foreground mode: a lost lease signals the owner (--lost-signal), and the lost event goes to syslog at err", async (t) => {
      const backend = url();
      const dir = tempDir(t);
      const marker = join(dir, "got-term");
      const receiver = createSocket("udp4");
      const lines: string[] = [];
      receiver.on("message", (m) => lines.push(m.toString()));
      await new Promise<void>((r) => receiver.bind(0, "127.0.0.1", () => r()));
      t.after(() => receiver.close());
      const syslogTarget = `udp://127.0.0.1:${receiver.address().port}`;
      const script = join(dir, "owner.sh");
      writeFileSync(script, [
        `trap 'echo TERM > ${marker}; exit 0' TERM`,
        `${process.execPath} ${WAITLOCK} --backend ${backend} --lease 2 --syslog --syslog-target ${syslogTarget} --lost-signal TERM fgl || exit 1`,
        `echo held > ${marker}.held`,
        "while :; do sleep 0.05; done",
      ].join("\n"));
      const owner = spawn("/bin/sh", [script], { stdio: "ignore" });
      t.after(() => owner.kill("SIGKILL"));
      await waitUntil(async () => { try { readFileSync(`${marker}.held`); return true; } catch { return false; } }, "the owner holds the lock", { timeoutMs: 10_000 });
      etcd.pause();
      try {
        await waitUntil(async () => { try { return readFileSync(marker, "utf8").trim() === "TERM"; } catch { return false; } }, "the owner got SIGTERM", { timeoutMs: 5000 });
      } finally {
        etcd.resume();
      }
      await exited(owner);
      await waitUntil(() => lines.some((l) => /^<27>.*lost fgl slot 0: lock lost/.test(l)), "a 'lost' line at daemon.err", { timeoutMs: 5000 });
    });

    test("the server killed and restarted within the lease: the lock survives", async (t) => {
      const backend = url();
      const a = await running(t, ["--backend", backend, "--lease", "10", "r"], `sleep 30`);
      await etcd.kill();
      await etcd.restart();
      assert.equal(run(["--backend", backend, "--check", "r"]).code, 1, "still held after the restart");
      await sleep(1000);
      assert.equal(a.exitCode, null, "the holder carries on");
      a.kill("SIGTERM");
      assert.equal((await exited(a)).code, 143);
      assert.equal(run(["--backend", backend, "--check", "r"]).code, 0);
    });

    for (const mode of ["blackhole", "reset"] as const) {
      test(`the holder cut off from the server (${mode}): its command is stopped before anyone else holds`, async (t) => {
        const proxy = await startTcpProxy(etcd.endpoint);
        t.after(() => proxy.close());
        const prefix = `/cut${process.pid}-${++n}`;
        const { log, a, b } = await holderThenWaiter(t, `etcd://${proxy.endpoint}${prefix}`, "c", 30, `etcd://${etcd.endpoint}${prefix}`);
        proxy.cut(mode);
        const ra = await exited(a);
        assert.equal(ra.code, 7, a.stderrText());
        assert.equal((await exited(b)).code, 0, b.stderrText());
        assertNoOverlap(spans(log));
      });
    }
  });
});

describe("etcd backend with authentication", { skip, concurrency: 1 }, () => {
  test("refused credentials are exit 5; the password never shows in errors, -v, listings or doctor", async (t) => {
    const server = await startEtcd();
    t.after(() => server.stop());
    const e = server.endpoint;
    const ctl = (...args: string[]) => {
      const r = spawnSync("etcdctl", [`--endpoints=${e}`, ...args], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    };
    ctl("user", "add", "root", "--new-user-password=s3cretpw");
    ctl("user", "grant-role", "root", "root");
    ctl("auth", "enable");
    const secret = "s3cretpw";
    const wrong = run(["-v", "--backend", `etcd://root:wr0ngpw@${e}/a`, "x", "--exec", "true"]);
    assert.equal(wrong.code, 5, wrong.stderr);
    assert.ok(!wrong.stderr.includes("wr0ngpw"), wrong.stderr);
    assert.equal(run(["--backend", `etcd://${e}/a`, "--check", "x"]).code, 5, "no user at all");
    const env = { WAITLOCK_BACKEND_PASSWORD: secret };
    const holder = await running(t, ["-v", "--backend", `etcd://root@${e}/a`, "x"], `sleep 30`, env);
    for (const format of ["human", "json", "csv"]) {
      const listed = run(["--backend", `etcd://root:${secret}@${e}/a`, "--list", "--format", format]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /\bx\b/);
      assert.ok(!listed.stdout.includes(secret) && !listed.stderr.includes(secret), listed.stdout);
    }
    const doctor = run(["doctor", "--backend", `etcd://root:${secret}@${e}/a`]);
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, /OK\s+etcd leases: the smallest lease granted is \d+ s/);
    const badDoctor = run(["doctor", "--backend", `etcd://root:wr0ngpw@${e}/a`]);
    assert.equal(badDoctor.code, 1);
    assert.ok(!(badDoctor.stdout + badDoctor.stderr).includes("wr0ngpw"));
    holder.kill("SIGTERM");
    await exited(holder);
    assert.ok(!holder.stderrText().includes(secret), holder.stderrText());
  });
});

describe("etcd backend over TLS", { skip: skip || (spawnSync("openssl", ["version"]).status === 0 ? false : "openssl not installed"), concurrency: 1 }, () => {
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

  test("etcds:// works with the right CA (query or environment); a CA that does not vouch for the server is exit 5", async (t) => {
    const dir = tempDir(t);
    const good = makeCa(dir, "good");
    const other = makeCa(dir, "other");
    const server = await startEtcd({ tls: good });
    t.after(() => server.stop());
    const e = server.endpoint;
    const ok = run(["--backend", `etcds://${e}/tls?ca=${good.ca}`, "secure", "--exec", "sh", "-c", "echo $WAITLOCK_FENCE"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^\d+\n$/);
    assert.equal(run(["--backend", `etcds://${e}/tls`, "--check", "secure"], { WAITLOCK_TLS_CA: good.ca }).code, 0);
    const refused = run(["--backend", `etcds://${e}/tls?ca=${other.ca}`, "secure", "--exec", "true"]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /TLS refused by etcd/);
    assert.equal(refused.stderr.trim().split("\n").length, 1);
    const plain = run(["--backend", `etcd://${e}/tls`, "--check", "secure"]);
    assert.notEqual(plain.code, 0, "plain HTTP to a TLS port does not pass");
    const missing = run(["--backend", `etcds://${e}/tls?ca=${join(dir, "nope.pem")}`, "--check", "secure"]);
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /cannot read TLS file/);
  });
});

describe("etcd backend, three members", { skip, concurrency: 1 }, () => {
  test("the leader killed: holders and waiters carry on or let go, never two holders", async (t) => {
    const cluster = await startEtcdCluster(3);
    t.after(() => cluster.stop());
    const backend = `etcd://${cluster.endpoints.join(",")}/lead${process.pid}`;
    const log = join(tempDir(t), "log");
    writeFileSync(log, "");
    const a = start(["--backend", backend, "--lease", "3", "L", "--exec", ...logged(log, "A", 4)]);
    await waitUntil(async () => readFileSync(log, "utf8").includes("start A"), "A started", { timeoutMs: 10_000 });
    const b = start(["--backend", backend, "-t", "40", "L", "--exec", ...logged(log, "B", 0)]);
    await queued(backend, "L");
    const leader = await cluster.leader();
    await leader.kill();
    const [ra, rb] = await Promise.all([exited(a), exited(b)]);
    assert.ok(ra.code === 0 || ra.code === 7, `A: ${ra.code} ${a.stderrText()}`);
    assert.equal(rb.code, 0, b.stderrText());
    assertNoOverlap(spans(log));
  });
});

