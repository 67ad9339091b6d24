// Lock metrics (docs/METRICS.md): the events file the library and the CLI
// write, `waitlock --list --format prometheus|openmetrics`, and `waitlock
// exporter` scraped by a real Prometheus (Debian's, started here on a random
// loopback port), answered through PromQL; the exporter over a hostile lock
// directory, a directory that goes away, and a Redis server that goes away.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { describe, test } from "node:test";
import { acquire, tryAcquire } from "../adapters/node/index.ts";
import fc from "fast-check";
import { EVENT_KINDS, EVENTS_FILE, EVENTS_FILE_OLD, eventLine, eventLineMaxBytes, writeEventLine } from "../adapters/events.ts";
import { BufferedEventSink } from "../adapters/event-sink.ts";
import { nodeEventFiles } from "../adapters/node/events.ts";
import { NodePlatform } from "../adapters/node/platform.ts";
import { EventsReader } from "../cli/events-reader.ts";
import { eventually, tempDir, WAITLOCK, runCli } from "./helpers.ts";
import { onPath, skipUnlessInstalled } from "./servers/installed.ts";
import { startRedis } from "./servers/redis.ts";
import { redisCommand } from "./servers/redis-resp.ts";
import { ServerProcess, onFreePorts, waitUntil } from "./servers/server-process.ts";

const PROMTOOL = onPath("promtool");

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

/** startCli starts waitlock in its own process group (so the test can SIGKILL it with its command), killed at the test's end. */
function startCli(t: { after(fn: () => void): void }, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [WAITLOCK, ...args], { stdio: "ignore", detached: true, env: { ...process.env, ...env } });
  t.after(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone already
    }
  });
  return child;
}

const exitOf = (c: ChildProcess) => new Promise<number | null>((resolve) => (c.exitCode !== null ? resolve(c.exitCode) : c.once("exit", (code) => resolve(code))));

/** startExporter runs `waitlock exporter ARGS --listen 127.0.0.1:0` and resolves with its /metrics URL once it serves. */
async function startExporter(t: { after(fn: () => void): void }, args: string[]): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [WAITLOCK, "exporter", ...args, "--listen", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d) => (err += d));
  const url = await waitUntil(() => /serving (http:\/\/\S+\/metrics)/.exec(err)?.[1] ?? (child.exitCode !== null && Promise.reject(new Error(`exporter exited ${child.exitCode}: ${err}`))), "the exporter to listen", { timeoutMs: 15_000 });
  return { url, child, stderr: () => err };
}

function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d) => (body += d)).on("end", () => resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), body }));
    }).on("error", reject);
  });
}

/** sample: the value of one sample line `name{labels} value` (labels as written), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function promtoolCheck(text: string): void {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
}

const eventsOf = (dir: string) => (existsSync(join(dir, EVENTS_FILE)) ? readFileSync(join(dir, EVENTS_FILE), "utf8") : "");
/** recorded waits until dir's events file holds at least n lines (a process writes its buffered lines a moment later). */
const recorded = (dir: string, n: number) => eventually(() => eventsOf(dir).split("\n").filter(Boolean).length >= n, `${n} event lines in ${dir}`);

describe("event recording", () => {
  test("the library records acquired (with the wait), conflict, timeout and released (with the time held), one line each", async (t) => {
    const dir = tempDir(t);
    const held = await acquire("ev", { lockDir: dir });
    assert.equal(await tryAcquire("ev", { lockDir: dir }), undefined);
    await assert.rejects(acquire("ev", { lockDir: dir, timeout: 150 }), { code: "ETIMEDOUT" });
    setTimeout(() => void held.release(), 100);
    const second = await acquire("ev", { lockDir: dir, timeout: 5000 });
    await second.release();
    await recorded(dir, 6);
    const lines = eventsOf(dir).trim().split("\n").map((l) => l.split(" "));
    assert.deepEqual(lines.map((l) => [l[1], l[2]]), [["acquired", "ev"], ["conflict", "ev"], ["timeout", "ev"], ["released", "ev"], ["acquired", "ev"], ["released", "ev"]]);
    assert.ok(Number(lines[2][3]) >= 140, `the timeout's wait (${lines[2][3]} ms)`);
    assert.ok(Number(lines[3][3]) >= 240, `the first hold (${lines[3][3]} ms)`);
    assert.ok(Number(lines[4][3]) >= 80, `the second acquire waited (${lines[4][3]} ms)`);
    for (const l of lines) assert.match(l[0], /^\d{13}$/);
  });

  test("a line written as bytes is eventLine's, in UTF-8, whatever the numbers and text", () => {
    const number = fc.oneof(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: -1e6, max: -1 }), fc.double(),
      fc.constantFrom(0, -0, 0.4999, 1e21, 2 ** 53, Infinity, -Infinity, NaN),
    );
    const text = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,255}$/), fc.string({ unit: "binary", maxLength: 255 }));
    fc.assert(
      fc.property(number, fc.constantFrom(...EVENT_KINDS), text, number, fc.nat(40), (now, kind, descriptor, ms, at) => {
        const out = new Uint8Array(at + eventLineMaxBytes(descriptor));
        const end = writeEventLine(out, at, now, kind, descriptor, ms);
        assert.deepEqual(out.subarray(at, end), new TextEncoder().encode(eventLine(now, kind, descriptor, ms)));
      }),
      { numRuns: 3000 },
    );
  });

  test("the sink writes every line whole, across the writes its buffer takes", (t) => {
    const dir = tempDir(t);
    const sink = new BufferedEventSink(dir, new NodePlatform(), nodeEventFiles);
    const long = "d".repeat(255); // the longest descriptor: a line near the buffer's end must still fit
    for (let i = 0; i < 1000; i++) sink.record(i % 2 ? "released" : "acquired", i % 3 ? "short" : long, i);
    sink.flush();
    const lines = eventsOf(dir).split("\n");
    assert.equal(lines.pop(), "", "ends with a newline");
    assert.equal(lines.length, 1000);
    lines.forEach((line, i) => assert.match(line, new RegExp(`^\\d{13} ${i % 2 ? "released" : "acquired"} ${i % 3 ? "short" : long} ${i}$`)));
    assert.equal(sink.failures, 0);
  });

  test("WAITLOCK_EVENTS=off records nothing; an unwritable events file never fails a lock", async (t) => {
    const off = tempDir(t);
    const r = run(["-d", off, "x", "--exec", "true"], { WAITLOCK_EVENTS: "off" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(join(off, EVENTS_FILE)), false);
    const hostile = tempDir(t);
    mkdirSync(join(hostile, EVENTS_FILE)); // a directory where the file should be
    const h = run(["-d", hostile, "x", "--exec", "true"]);
    assert.equal(h.code, 0, h.stderr);
    assert.equal(h.stderr, "");
    const dir2 = tempDir(t);
    symlinkSync("/dev/null", join(dir2, EVENTS_FILE)); // never written through a symlink
    assert.equal(run(["-d", dir2, "x", "--exec", "true"]).code, 0);
  });

  test("a foreground hold's release is recorded by its holder; EventsReader follows rotation without counting twice", async (t) => {
    const dir = tempDir(t);
    const owner = spawn("sleep", ["30"], { stdio: "ignore" });
    t.after(() => owner.kill("SIGKILL"));
    assert.equal(run(["-d", dir, "fg", "--owner", String(owner.pid)]).code, 0);
    // Rotated meanwhile (the CLI wrote "acquired" as it exited): the holder makes the new file, as the sink would, open to every user.
    renameSync(join(dir, EVENTS_FILE), join(dir, EVENTS_FILE_OLD));
    owner.kill("SIGKILL");
    await waitUntil(() => eventsOf(dir).includes(" released fg "), "the holder to record the release", { timeoutMs: 5000 });
    assert.equal(statSync(join(dir, EVENTS_FILE)).mode & 0o777, 0o666, "a shared directory's users can all append to it");
    const reader = new EventsReader(dir);
    reader.poll();
    assert.equal(reader.totals.byDescriptor.get("fg")?.counts.acquired, 1);
    assert.equal(reader.totals.byDescriptor.get("fg")?.counts.released, 1);
    // Rotate as a writer would, append to the old segment (a writer that opened it before), start a new one.
    renameSync(join(dir, EVENTS_FILE), join(dir, EVENTS_FILE_OLD));
    appendFileSync(join(dir, EVENTS_FILE_OLD), `${Date.now()} conflict fg 0\n`);
    appendFileSync(join(dir, EVENTS_FILE), `${Date.now()} conflict fg 0\npartial-junk`);
    reader.poll();
    reader.poll();
    assert.equal(reader.totals.byDescriptor.get("fg")?.counts.conflict, 2);
    assert.equal(reader.totals.byDescriptor.get("fg")?.counts.acquired, 1, "the old segment is not read again");
    appendFileSync(join(dir, EVENTS_FILE), " more\n\u0000\u0001 binary\n");
    reader.poll();
    assert.equal(reader.totals.invalid, 2);
  });
});

describe("a server's events, recorded where WAITLOCK_EVENTS says", { skip: skipUnlessInstalled("redis-server") }, () => {
  test("a foreground hold on Redis: waitlock records acquired, its lease holder released; a lost lease is recorded as lost", async (t) => {
    const redis = await startRedis();
    t.after(() => redis.stop());
    const dir = tempDir(t);
    const env = { WAITLOCK_EVENTS: dir };
    const owner = spawn("sleep", ["30"], { stdio: "ignore" });
    t.after(() => owner.kill("SIGKILL"));
    assert.equal(run(["--backend", redis.url, "fg", "--owner", String(owner.pid)], env).code, 0);
    owner.kill("SIGKILL");
    await waitUntil(() => eventsOf(dir).includes(" released fg "), "the lease holder to record the release", { timeoutMs: 5000 });
    // Lost: the server forgets every key while a foreground hold's lease holder keeps it.
    const owner2 = spawn("sleep", ["30"], { stdio: "ignore" });
    t.after(() => owner2.kill("SIGKILL"));
    assert.equal(run(["--backend", redis.url, "--lease", "2", "fg2", "--owner", String(owner2.pid)], env).code, 0);
    await redisCommand(redis.port, ["FLUSHALL"]);
    await waitUntil(() => eventsOf(dir).includes(" lost fg2 "), "the lease holder to record the loss", { timeoutMs: 5000 });
    const kinds = eventsOf(dir).trim().split("\n").map((l) => l.split(" ").slice(1, 3).join(" "));
    assert.deepEqual(kinds, ["acquired fg", "released fg", "acquired fg2", "lost fg2"]);
  });
});

describe("--list --format prometheus|openmetrics", () => {
  test("prints metrics promtool accepts, with the listing's state and the events' counters", { skip: !PROMTOOL && !process.env.CI && "promtool not installed (apt-get install prometheus)" }, async (t) => {
    const dir = tempDir(t);
    const held = await acquire("pool", { lockDir: dir, maxHolders: 3 });
    t.after(() => held.release());
    assert.equal(run(["-d", dir, "pool", "-m", "3", "--exec", "true"]).code, 0);
    await recorded(dir, 3); // this process's acquired, the CLI's acquired and released
    const prom = run(["-d", dir, "--list", "--format", "prometheus"]);
    assert.equal(prom.code, 0, prom.stderr);
    promtoolCheck(prom.stdout);
    assert.equal(sample(prom.stdout, 'waitlock_slots_held{descriptor="pool"}'), 1);
    assert.equal(sample(prom.stdout, 'waitlock_slots_free{descriptor="pool"}'), 2);
    assert.equal(sample(prom.stdout, 'waitlock_acquired_total{descriptor="pool"}'), 2);
    assert.equal(sample(prom.stdout, 'waitlock_released_total{descriptor="pool"}'), 1);
    const om = run(["-d", dir, "--list", "--format", "openmetrics"]);
    assert.match(om.stdout, /^# TYPE waitlock_acquired counter$/m);
    assert.match(om.stdout, /^waitlock_acquired_total\{descriptor="pool"\} 2$/m);
    assert.ok(om.stdout.endsWith("# EOF\n"));
    const bad = run(["-d", dir, "--list", "--watch", "--format", "prometheus"]);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /^waitlock: --format prometheus .*\n$/);
  });
});

describe("waitlock exporter scraped by a real Prometheus", { skip: skipUnlessInstalled("prometheus") }, () => {
  test("after holders, waiters, a conflict, a timeout and a SIGKILLed holder, PromQL returns the counts and buckets", async (t) => {
    const dir = tempDir(t);
    const exporter = await startExporter(t, ["--lock-dir", dir]);
    const text = await httpGet(exporter.url);
    assert.equal(text.status, 200);
    assert.match(text.type, /^text\/plain; version=0\.0\.4/);
    if (PROMTOOL) promtoolCheck(text.body);

    const data = tempDir(t, "waitlock-prometheus-");
    const target = new URL(exporter.url).host;
    writeFileSync(join(data, "prometheus.yml"), `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: waitlock\n    static_configs:\n      - targets: ["${target}"]\n`);
    const prometheus = await onFreePorts(1, async ([port]) => {
      const p = new ServerProcess("prometheus", [
        `--config.file=${join(data, "prometheus.yml")}`, `--storage.tsdb.path=${join(data, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ]);
      t.after(() => p.kill());
      await waitUntil(async () => (await httpGet(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined))?.status === 200 || (!p.running && Promise.reject(new Error(`prometheus exited: ${p.log()}`))), "prometheus to be ready", { timeoutMs: 20_000 });
      return { p, api: `http://127.0.0.1:${port}/api/v1/query` };
    });
    const query = async (promql: string): Promise<number | undefined> => {
      const r = await httpGet(`${prometheus.api}?query=${encodeURIComponent(promql)}`);
      const body = JSON.parse(r.body);
      assert.equal(body.status, "success", r.body);
      const v = body.data.result[0]?.value?.[1];
      return v === undefined ? undefined : Number(v);
    };
    const expectQuery = async (promql: string, want: number) => {
      let got: number | undefined;
      try {
        await waitUntil(async () => (got = await query(promql)) === want, `${promql} == ${want}`, { timeoutMs: 15_000, everyMs: 250 });
      } catch (err) {
        const now = await httpGet(exporter.url).catch((e) => ({ body: String(e) }));
        throw new Error(`${(err as Error).message} (last: ${got})\n--- events ---\n${eventsOf(dir)}--- /metrics ---\n${now.body.split("\n").filter((l) => !l.startsWith("#")).join("\n")}`);
      }
    };

    // The workload, through the built CLI.
    // The holder holds "job" until the test lets it go (GO), so nothing depends on how fast this machine is.
    const go = join(dir, "GO");
    const holder = startCli(t, ["-d", dir, "job", "--exec", "sh", "-c", `while [ ! -e ${go} ]; do sleep 0.05; done`]);
    const pool = [startCli(t, ["-d", dir, "-m", "3", "pool", "--exec", "sleep", "6"]), startCli(t, ["-d", dir, "-m", "3", "pool", "--exec", "sleep", "6"])];
    await waitUntil(() => readFileSync(join(dir, EVENTS_FILE), { encoding: "utf8", flag: "a+" }).split(" acquired ").length - 1 >= 3, "the holders to be recorded", { timeoutMs: 10_000 });
    const waiter = startCli(t, ["-d", dir, "-t", "20", "job", "--exec", "true"]);
    assert.equal(run(["-d", dir, "job", "--exec", "true"]).code, 1, "busy: a conflict");
    assert.equal(run(["-d", dir, "-t", "0.3", "job", "--exec", "true"]).code, 2, "a timeout");
    const heldSince = Date.now();
    const crash = startCli(t, ["-d", dir, "crash", "--exec", "sleep", "60"]);
    await expectQuery('waitlock_slots_held{descriptor="pool"}', 2);
    await expectQuery('waitlock_slots_free{descriptor="pool"}', 1);
    await expectQuery('waitlock_slots_held{descriptor="crash"}', 1);
    assert.ok((await query('waitlock_oldest_hold_seconds{descriptor="pool"}'))! > 0);
    process.kill(-crash.pid!, "SIGKILL"); // waitlock and its command: the lock file is left behind
    await expectQuery("waitlock_stale_files", 1);
    await new Promise((r) => setTimeout(r, Math.max(0, 1500 - (Date.now() - heldSince))));
    writeFileSync(go, ""); // "job" has been held over 1 s: let it go
    assert.equal(await exitOf(holder), 0);
    assert.equal(await exitOf(waiter), 0);
    assert.equal(run(["-d", dir, "crash", "--exec", "true"]).code, 0, "takes the stale slot over");
    await Promise.all(pool.map(exitOf));

    await expectQuery('waitlock_acquired_total{descriptor="job"}', 2);
    await expectQuery('waitlock_released_total{descriptor="job"}', 2);
    await expectQuery('waitlock_conflicts_total{descriptor="job"}', 1);
    await expectQuery('waitlock_timeouts_total{descriptor="job"}', 1);
    await expectQuery('waitlock_wait_seconds_count{descriptor="job"}', 2);
    // The holder got it at once, the waiter after the holder's 1.5 s or more: one wait under 1 s, both under 30 s.
    await expectQuery('waitlock_wait_seconds_bucket{descriptor="job",le="1"}', 1);
    await expectQuery('waitlock_wait_seconds_bucket{descriptor="job",le="30"}', 2);
    // Held 1.5 s or more, and ~0 s.
    await expectQuery('waitlock_hold_seconds_bucket{descriptor="job",le="1"}', 1);
    await expectQuery('waitlock_hold_seconds_bucket{descriptor="job",le="10"}', 2);
    await expectQuery('waitlock_acquired_total{descriptor="crash"}', 2);
    await expectQuery('waitlock_released_total{descriptor="crash"}', 1);
    await expectQuery('waitlock_stale_takeovers_total{descriptor="crash"}', 1);
    await expectQuery("waitlock_stale_files", 0);
    await expectQuery('waitlock_released_total{descriptor="pool"}', 2);
    // Released slots leave no file: the series goes away (Prometheus marks it stale).
    await expectQuery('sum(waitlock_slots_held{descriptor="pool"}) or vector(0)', 0);
    await expectQuery('sum(rate(waitlock_acquired_total[1m])) > bool 0', 1);
    await expectQuery('up{job="waitlock"}', 1);
    await expectQuery("waitlock_backend_up", 1);
  });
});

describe("the exporter survives what it reads", () => {
  test("a hostile lock directory is counted, a directory that goes away is waitlock_backend_up 0, and it comes back", async (t) => {
    const dir = tempDir(t);
    execFileSync("mkfifo", [join(dir, EVENTS_FILE)]);
    writeFileSync(join(dir, EVENTS_FILE_OLD), Buffer.concat([Buffer.from("1 acquired ok 0\n"), Buffer.alloc(70_000, 0xff), Buffer.from("\n2 bogus kind 0\n1 acquired bad\"name 0\n")]));
    writeFileSync(join(dir, "junk.slot0.lock"), "not a record");
    symlinkSync("/etc/passwd", join(dir, "link.slot0.lock"));
    mkdirSync(join(dir, "dir.slot0.lock"));
    execFileSync("mkfifo", [join(dir, "fifo.slot0.lock")]);
    writeFileSync(join(dir, "x\"y.slot0.lock"), "");
    const exporter = await startExporter(t, ["--lock-dir", dir]);
    const first = await httpGet(exporter.url);
    assert.equal(first.status, 200);
    assert.equal(sample(first.body, "waitlock_backend_up"), 1);
    assert.ok(sample(first.body, "waitlock_corrupt_files")! >= 1, first.body);
    assert.ok(sample(first.body, "waitlock_events_read_errors_total")! >= 1, "the FIFO is not read");
    assert.equal(sample(first.body, 'waitlock_acquired_total{descriptor="ok"}'), 1);
    assert.ok(sample(first.body, "waitlock_events_invalid_total")! >= 3);
    if (PROMTOOL) promtoolCheck(first.body);
    const om = await httpGet(exporter.url, { accept: "application/openmetrics-text; version=1.0.0,text/plain;q=0.5" });
    assert.match(om.type, /^application\/openmetrics-text/);
    assert.ok(om.body.endsWith("# EOF\n"));

    rmSync(dir, { recursive: true, force: true });
    const gone = await httpGet(exporter.url);
    assert.equal(gone.status, 200);
    assert.equal(sample(gone.body, "waitlock_backend_up"), 0);
    mkdirSync(dir);
    assert.equal(run(["-d", dir, "back", "--exec", "true"]).code, 0);
    const back = await waitUntil(async () => {
      const r = await httpGet(exporter.url);
      return sample(r.body, 'waitlock_acquired_total{descriptor="back"}') === 1 && r;
    }, "the exporter to read the new events file", { timeoutMs: 5000 });
    assert.equal(sample(back.body, "waitlock_backend_up"), 1);
    assert.equal(exporter.child.exitCode, null);
    assert.equal((await httpGet(exporter.url.replace("/metrics", "/nope"))).status, 404);
  });

  test("a Redis server that goes away is waitlock_backend_up 0, not the exporter's end", { skip: skipUnlessInstalled("redis-server") }, async (t) => {
    const redis = await startRedis();
    t.after(() => redis.stop());
    const holder = startCli(t, ["--backend", redis.url, "shared-job", "--exec", "sleep", "20"]);
    const exporter = await startExporter(t, ["--backend", redis.url]);
    const waiter = startCli(t, ["--backend", redis.url, "-t", "20", "shared-job", "--exec", "true"]);
    const up = await waitUntil(async () => {
      const r = await httpGet(exporter.url);
      return sample(r.body, 'waitlock_waiters{descriptor="shared-job"}') === 1 && r;
    }, "the holder and the waiter to show", { timeoutMs: 10_000 });
    assert.equal(sample(up.body, "waitlock_backend_up"), 1);
    assert.equal(sample(up.body, 'waitlock_slots_held{descriptor="shared-job"}'), 1);
    assert.equal(up.body.includes("waitlock_acquired_total"), false, "a server's events are not recorded without WAITLOCK_EVENTS");
    process.kill(-holder.pid!, "SIGKILL");
    process.kill(-waiter.pid!, "SIGKILL");
    await redis.stop();
    const down = await httpGet(exporter.url);
    assert.equal(down.status, 200);
    assert.equal(sample(down.body, "waitlock_backend_up"), 0);
    assert.equal(exporter.child.exitCode, null, exporter.stderr());
    assert.doesNotMatch(exporter.stderr(), /at .*\.js:\d+/, "no stack trace");
  });
});
