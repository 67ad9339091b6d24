// `waitlock doctor` (the plugin in plugins/doctor), run through bin/waitlock as
// a user runs it, on lock directories in known states; and its parsers, which
// read what the kernel and the user wrote, on fixed inputs.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { ROOT, spawnHolder, tempDir, cannotRunAs } from "./helpers.ts";
import { COMMANDS } from "../plugins/doctor/src/commands.ts";
import { deviceOf, meaning, mountOf, parseMountinfo } from "../plugins/doctor/src/checks/filesystem.ts";
import { parseTarget, syslog } from "../plugins/doctor/src/checks/syslog.ts";
import { deno } from "../plugins/doctor/src/checks/deno.ts";
import { humanLine } from "../plugins/doctor/src/finding.ts";
import { skipUnlessInstalled } from "./servers/installed.ts";
import { redisCommand } from "./servers/redis-resp.ts";
import { startRedis, type RedisServer } from "./servers/redis.ts";
import { waitUntil } from "./servers/server-process.ts";

const WAITLOCK = join(ROOT, "bin/waitlock");

interface Result { code: number | null; stdout: string; stderr: string }
interface Line { status: string; check: string; finding: string }

/** doctor runs `bin/waitlock doctor ARGS` with env on top of a clean environment (no WAITLOCK_* leaking in). */
function doctor(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("WAITLOCK_")));
  const child = spawn(WAITLOCK, ["doctor", ...args], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

/** lines parses the human report: every line must be `STATUS  check: finding`. */
function lines(stdout: string): Line[] {
  return stdout.trimEnd().split("\n").map((l) => {
    const m = /^(OK  |WARN|FAIL)  ([^:]+): (.+)$/.exec(l);
    assert.ok(m, `not a report line: ${JSON.stringify(l)}`);
    return { status: m[1].trim(), check: m[2], finding: m[3] };
  });
}

const find = (report: Line[], check: string) => {
  const l = report.find((x) => x.check === check);
  assert.ok(l, `no "${check}" line in:\n${report.map((x) => `${x.status} ${x.check}`).join("\n")}`);
  return l;
};

/** tcpListener stands in for a remote syslog receiver, so the syslog check has somewhere to connect. */
async function tcpListener(t: { after(fn: () => void): void }): Promise<string> {
  const server: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  return `tcp://127.0.0.1:${port}`;
}

describe("waitlock doctor through bin/waitlock", () => {
  test("a healthy private directory: every check OK, exit 0, and the scratch file is gone", async (t) => {
    const dir = tempDir(t);
    const r = await doctor([], { WAITLOCK_DIR: dir, WAITLOCK_SYSLOG: await tcpListener(t) });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stderr, "");
    const report = lines(r.stdout);
    assert.deepEqual(report.filter((l) => l.status !== "OK"), [], "nothing but OK");
    for (const check of ["system", "lock directory", "exists", "owner", "mode", "free space", "free inodes", "filesystem", "kernel locks",
      "WASM core", "stale lock files", "corrupt lock files", "CPUs for --onePerCPU", "syslog", "Deno"]) find(report, check);
    assert.equal(find(report, "lock directory").finding, `${dir} (from WAITLOCK_DIR)`);
    assert.match(find(report, "system").finding, /^Linux x64, glibc [\d.]+: supported and tested$/);
    assert.match(find(report, "mode").finding, /^0700 /);
    assert.match(find(report, "WASM core").finding, /CRC-32 vector ok, record format v\d+ round trip ok/);
    assert.match(find(report, "CPUs for --onePerCPU").finding, /^\d+ \(affinity \d+ of \d+ online CPUs/);
    assert.deepEqual(readdirSync(dir), [], "the kernel-lock scratch file was removed");
  });

  test("an unprivileged user whose HOME it cannot read still gets a report", { skip: cannotRunAs(65534) }, async (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o1777);
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("WAITLOCK_")));
    const r = spawnSync(WAITLOCK, ["doctor", "-d", dir], { env: { ...base, HOME: "/root" }, uid: 65534, gid: 65534, encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(find(lines(r.stdout), "exists").status, "OK");
  });

  test("--lock-dir wins over WAITLOCK_DIR and is named as the reason", async (t) => {
    const dir = tempDir(t);
    const r = await doctor(["-d", dir], { WAITLOCK_DIR: join(dir, "missing") });
    assert.equal(find(lines(r.stdout), "lock directory").finding, `${dir} (from --lock-dir)`);
  });

  test("a file where the directory should be: FAIL naming it, exit 1", async (t) => {
    const file = join(tempDir(t), "not-a-dir");
    writeFileSync(file, "");
    const r = await doctor([], { WAITLOCK_DIR: file });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const report = lines(r.stdout);
    const exists = find(report, "exists");
    assert.equal(exists.status, "FAIL");
    assert.match(exists.finding, /is not a directory/);
    assert.match(r.stdout, /— fix: point WAITLOCK_DIR at a directory/);
    assert.equal(report.find((l) => l.check === "kernel locks"), undefined, "nothing is tried in a directory that is not there");
    assert.equal(find(report, "WASM core").status, "OK", "checks that do not need the directory still run");
  });

  test("a missing directory: FAIL with the mkdir to run", async (t) => {
    const dir = join(tempDir(t), "nope");
    const r = await doctor(["--lock-dir", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`^FAIL  exists: .*does not exist.*— fix: create it \\(mkdir -m 1777 ${dir}`, "m"));
  });

  test("stale and corrupt lock files: WARN lines with their counts; held locks are not leftovers", async (t) => {
    const dir = tempDir(t);
    for (const d of ["crashed-a", "crashed-b"]) await (await spawnHolder(t, dir, d)).kill(); // SIGKILL leaves the file, frees the lock
    await spawnHolder(t, dir, "alive");
    writeFileSync(join(dir, "junk.slot0.lock"), "not a record");
    symlinkSync("/etc/passwd", join(dir, "planted.slot0.lock"));
    const r = await doctor([], { WAITLOCK_DIR: dir });
    assert.equal(r.code, 0, "leftovers are warnings, not failures");
    const report = lines(r.stdout);
    const stale = find(report, "stale lock files");
    assert.equal(stale.status, "WARN");
    assert.match(stale.finding, /^2 stale \(oldest: crashed-[ab]\.slot0\.lock, \d+ s old, last held by PID \d+; 1 held now\)/);
    const corrupt = find(report, "corrupt lock files");
    assert.equal(corrupt.status, "WARN");
    assert.match(corrupt.finding, /^2 corrupt \(oldest: /);
  });

  test("a shared directory without the sticky bit: WARN about its mode; with it: OK", async (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o777);
    let mode = find(lines((await doctor([], { WAITLOCK_DIR: dir })).stdout), "mode");
    assert.equal(mode.status, "WARN");
    assert.match(mode.finding, /^0777: writable by every user but not sticky/);
    assert.match((await doctor([], { WAITLOCK_DIR: dir })).stdout, /— fix: chmod 1777 /);
    chmodSync(dir, 0o1777);
    mode = find(lines((await doctor([], { WAITLOCK_DIR: dir })).stdout), "mode");
    assert.deepEqual([mode.status, mode.finding], ["OK", "1777 (shared by every user, sticky)"]);
  });

  test("a lock directory others can rename away: WARN naming the parent that allows it; safe parents: OK", async (t) => {
    const top = tempDir(t);
    const parent = join(top, "shared");
    const dir = join(parent, "locks");
    mkdirSync(dir, { recursive: true });
    const parents = async () => find(lines((await doctor([], { WAITLOCK_DIR: dir })).stdout), "parents");
    let found = await parents();
    assert.equal(found.status, "OK", found.finding);
    assert.equal(found.finding, `only root${process.getuid?.() === 0 ? "" : " and this user"} can rename ${dir} or a directory above it`);
    chmodSync(parent, 0o777); // anyone may rename locks/ out of it, and put another in its place
    found = await parents();
    assert.equal(found.status, "WARN");
    assert.equal(found.finding, `${dir} can be renamed or replaced by every user (${parent} is writable by all and not sticky): a lock directory moved away under held locks lets the next waitlock in — fix: chmod +t ${parent}`);
    chmodSync(parent, 0o770);
    assert.match((await parents()).finding, /renamed or replaced by its group \(/);
    chmodSync(parent, 0o1777); // sticky: only locks/'s owner (this user) may rename it
    assert.equal((await parents()).status, "OK");
  });

  test("a lock directory another user owns in a sticky parent: that user can rename it", { skip: process.getuid?.() !== 0 && "needs root to chown" }, async (t) => {
    const top = tempDir(t);
    const parent = join(top, "tmp");
    const dir = join(parent, "waitlock");
    mkdirSync(dir, { recursive: true, mode: 0o1777 });
    chmodSync(parent, 0o1777);
    chmodSync(dir, 0o1777);
    chownSync(dir, 65534, 65534);
    const found = find(lines((await doctor([], { WAITLOCK_DIR: dir })).stdout), "parents");
    assert.equal(found.status, "WARN");
    assert.match(found.finding, new RegExp(`^${dir} can be renamed or replaced by \\S+ \\(uid 65534\\), who owns it \\(the sticky bit of ${parent} stops only everyone else\\)`));
  });

  test("--format json: an array of {check, status, finding, fix} that matches the human report", async (t) => {
    const file = join(tempDir(t), "file");
    writeFileSync(file, "");
    const env = { WAITLOCK_DIR: file };
    const r = await doctor(["--format", "json"], env);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as { check: string; status: string; finding: string; fix: string | null }[];
    assert.ok(Array.isArray(report) && report.length > 3);
    for (const f of report) {
      assert.deepEqual(Object.keys(f), ["check", "status", "finding", "fix"]);
      assert.ok(["OK", "WARN", "FAIL"].includes(f.status));
      assert.equal(typeof f.finding, "string");
      assert.ok(f.fix === null || typeof f.fix === "string");
    }
    const human = (await doctor([], env)).stdout;
    assert.equal(human, report.map((f) => humanLine({ ...f, status: f.status as "OK", fix: f.fix ?? undefined }) + "\n").join(""));
  });

  test("usage errors exit 3 with one line on stderr and create nothing", async (t) => {
    const dir = tempDir(t);
    for (const args of [["--format", "xml"], ["--bogus"], ["extra"], ["--lock-dir"]]) {
      const r = await doctor(args, { WAITLOCK_DIR: dir });
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^waitlock: .+ \(see waitlock doctor --help\)\n$/);
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  test("--help describes the command and exits 0", async () => {
    const r = await doctor(["--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\$ waitlock doctor \[-d DIR\] \[--backend URL\] \[-f FMT\]/);
    assert.equal(r.stderr, "");
  });
});

describe("waitlock doctor --backend redis://", { skip: skipUnlessInstalled("redis-server"), concurrency: 1 }, () => {
  const started = async (t: { after(fn: () => Promise<void>): void }, options: Parameters<typeof startRedis>[0] = {}): Promise<RedisServer> => {
    const server = await startRedis(options);
    t.after(() => server.stop());
    return server;
  };

  test("a server without persistence: reachable, version and round trip OK, a warning that a restart forgets every lock", async (t) => {
    const server = await started(t);
    const r = await doctor(["--backend", `redis://${server.endpoint}/2`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = lines(r.stdout);
    assert.match(find(report, "redis").finding, new RegExp(`^${server.endpoint} answers: Redis \\d+\\.\\d+\\.\\d+, database 2$`));
    assert.equal(find(report, "redis").status, "OK");
    const rtt = find(report, "redis round trip");
    assert.equal(rtt.status, "OK");
    assert.match(rtt.finding, /^round trip \d+\.\d\d ms \(median of 7 PINGs\)$/);
    const persistence = find(report, "redis persistence");
    assert.equal(persistence.status, "WARN");
    assert.match(persistence.finding, /^off \(no AOF, no RDB save points\): a restart forgets every lock/);
    assert.match(r.stdout, /— fix: set appendonly yes/);
    assert.deepEqual([find(report, "redis role").status, find(report, "redis role").finding], ["OK", "primary, no replicas"]);
    assert.equal(find(report, "redis eviction").status, "OK");
    assert.deepEqual([find(report, "redis locks").status, find(report, "redis locks").finding], ["OK", 'the lock scripts run; under prefix "waitlock:": 0 lock(s) in use, 0 holder(s), 0 waiting']);
    assert.equal(find(report, "WASM core").status, "OK", "the checks that need no server still run");
  });

  test("AOF on, or RDB save points: no persistence warning", async (t) => {
    const aof = await started(t, { persistence: "aof" });
    const withAof = lines((await doctor(["--backend", `redis://${aof.endpoint}`])).stdout);
    assert.deepEqual([find(withAof, "redis persistence").status, find(withAof, "redis persistence").finding], ["OK", "AOF on (appendfsync always): locks survive a restart"]);
    const rdb = await started(t, { extraArgs: ["--save", "60 1"] });
    const withRdb = find(lines((await doctor(["--backend", `redis://${rdb.endpoint}`])).stdout), "redis persistence");
    assert.equal(withRdb.status, "OK");
    assert.match(withRdb.finding, /^RDB snapshots only \(save 60 1\)/);
  });

  test("a replica: a warning naming its primary; the primary counts it", async (t) => {
    const primary = await started(t);
    const replica = await started(t, { extraArgs: ["--replicaof", "127.0.0.1", String(primary.port)] });
    const r = await doctor(["--backend", `redis://${replica.endpoint}`]);
    assert.equal(r.code, 0, "a warning, not a failure");
    const role = find(lines(r.stdout), "redis role");
    assert.equal(role.status, "WARN");
    assert.match(role.finding, new RegExp(`^a replica of 127\\.0\\.0\\.1:${primary.port}: it refuses lock writes`));
    assert.match(r.stdout, /— fix: point --backend at the primary/);
    await waitUntil(async () => find(lines((await doctor(["--backend", `redis://${primary.endpoint}`])).stdout), "redis role").finding.startsWith("primary with 1 replica(s)"), "the primary to count its replica", { timeoutMs: 10_000 });
  });

  test("an eviction policy that may drop keys with a TTL is a warning", async (t) => {
    const server = await started(t, { extraArgs: ["--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru"] });
    const eviction = find(lines((await doctor(["--backend", `redis://${server.endpoint}`])).stdout), "redis eviction");
    assert.equal(eviction.status, "WARN");
    assert.match(eviction.finding, /^maxmemory-policy volatile-lru with maxmemory 67108864: .* a held lock vanishes — fix: use maxmemory-policy noeviction/);
  });

  test("ACL users: one that may lock but not read INFO gets warnings; one that may not run scripts gets a FAIL", async (t) => {
    const server = await started(t);
    assert.equal(await redisCommand(server.port, ["ACL", "SETUSER", "locker", "on", ">lockerpw", "~*", "&*", "+@all", "-info", "-role", "-config"]), "OK");
    assert.equal(await redisCommand(server.port, ["ACL", "SETUSER", "reader", "on", ">readerpw", "~*", "&*", "+@read", "+@connection"]), "OK");
    const locker = await doctor(["--backend", `redis://locker:lockerpw@${server.endpoint}`]);
    assert.equal(locker.code, 0, locker.stdout + locker.stderr);
    const report = lines(locker.stdout);
    assert.match(find(report, "redis").finding, /answers: \(version not readable: INFO refused to this user\)/);
    assert.equal(find(report, "redis locks").status, "OK");
    assert.equal(find(report, "redis persistence").status, "WARN");
    assert.match(find(report, "redis persistence").finding, /^cannot tell: INFO is refused to this user — fix: ask whoever runs the server/);
    assert.equal(find(report, "redis role").status, "WARN");
    assert.equal(report.find((l) => l.check === "redis eviction"), undefined, "CONFIG refused: nothing said about eviction");
    const reader = await doctor(["--backend", `redis://reader:readerpw@${server.endpoint}`]);
    assert.equal(reader.code, 1, reader.stdout + reader.stderr);
    const locks = find(lines(reader.stdout), "redis locks");
    assert.equal(locks.status, "FAIL");
    assert.match(locks.finding, /^the lock scripts do not run: .*NOPERM/);
    assert.ok(!(locker.stdout + reader.stdout).includes("pw@"), "no password");
  });

  test("unreachable: FAIL naming the endpoint, never the password, exit 1, within 10 s", async () => {
    const began = Date.now();
    const r = await doctor(["--backend", "redis://alice:hunter2@127.0.0.1:9/0"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(Date.now() - began < 10_000);
    const line = find(lines(r.stdout), "redis");
    assert.equal(line.status, "FAIL");
    assert.match(line.finding, /^redis:\/\/alice:\*\*\*@127\.0\.0\.1:9\/0: .*ECONNREFUSED/);
    assert.match(r.stdout, /— fix: check that redis-server runs/);
    assert.ok(!(r.stdout + r.stderr).includes("hunter2"));
  });

  test("refused credentials: FAIL saying so, never the password", async (t) => {
    const server = await started(t);
    // Set once the harness has seen the server answer PING (it sends no password).
    assert.equal(await redisCommand(server.port, ["CONFIG", "SET", "requirepass", "s3cretpw"]), "OK");
    for (const [url, env] of [[`redis://default:wr0ngpw@${server.endpoint}`, {}], [`redis://${server.endpoint}`, {}], [`redis://default@${server.endpoint}`, { WAITLOCK_BACKEND_PASSWORD: "wr0ngpw" }]] as const) {
      const r = await doctor(["--backend", url], env);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const line = find(lines(r.stdout), "redis");
      assert.equal(line.status, "FAIL");
      assert.match(line.finding, /WRONGPASS|NOAUTH/);
      assert.match(r.stdout, /— fix: check the user name and the password/);
      assert.ok(!(r.stdout + r.stderr).includes("wr0ngpw"), r.stdout);
    }
    const good = await doctor(["--backend", `redis://default@${server.endpoint}`], { WAITLOCK_BACKEND_PASSWORD: "s3cretpw" });
    assert.equal(good.code, 0, good.stdout);
    assert.ok(!(good.stdout + good.stderr).includes("s3cretpw"));
  });
});

describe("the doctor plugin's package", () => {
  test("is a core plugin of the CLI, with a built manifest listing the doctor command", () => {
    const pjson = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    assert.ok(pjson.oclif.plugins.includes("@waitlock/plugin-doctor"));
    assert.equal(pjson.dependencies["@waitlock/plugin-doctor"], "file:plugins/doctor");
    const manifest = JSON.parse(readFileSync(join(ROOT, "plugins/doctor/oclif.manifest.json"), "utf8"));
    assert.deepEqual(Object.keys(manifest.commands), Object.keys(COMMANDS));
    assert.deepEqual(Object.keys(manifest.commands.doctor.flags).sort(), Object.keys(COMMANDS.doctor.flags).sort());
  });
});

describe("doctor's readers", () => {
  const MOUNTINFO = [
    "22 1 8:3 / / rw,relatime shared:1 - ext4 /dev/sda3 rw",
    "30 22 0:25 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=8G",
    "41 22 0:50 / /mnt/shared\\040locks rw,relatime shared:9 - nfs4 srv:/export rw,vers=4.2,local_lock=none,addr=10.0.0.2",
    "42 22 0:51 / /mnt/old rw,relatime - nfs srv:/old rw,vers=3,nolock,local_lock=all",
    "garbage line",
  ].join("\n");

  test("parseMountinfo reads types, sources, escaped mount points and options", () => {
    const mounts = parseMountinfo(MOUNTINFO);
    assert.equal(mounts.length, 4);
    assert.deepEqual(mounts[2], {
      device: "0:50", mountPoint: "/mnt/shared locks", options: ["rw", "relatime"],
      fsType: "nfs4", source: "srv:/export", superOptions: ["rw", "vers=4.2", "local_lock=none", "addr=10.0.0.2"],
    });
  });

  test("mountOf picks the deepest mount above a path, preferring its device", () => {
    const mounts = parseMountinfo(MOUNTINFO);
    assert.equal(mountOf(mounts, "/tmp/waitlock", "0:25")?.fsType, "tmpfs");
    assert.equal(mountOf(mounts, "/tmpfoo", "8:3")?.fsType, "ext4", "/tmp is not a prefix of /tmpfoo");
    assert.equal(mountOf(mounts, "/mnt/shared locks/w", "0:50")?.fsType, "nfs4");
    assert.equal(mountOf(mounts, "/var/lock/waitlock", "8:3")?.mountPoint, "/");
  });

  test("NFS is explained, and a mount whose locks stay on this host is a warning", () => {
    const [, , v4, v3] = parseMountinfo(MOUNTINFO);
    const good = meaning("nfs4", v4);
    assert.equal(good.status, "OK");
    assert.match(good.text, /NFS lock manager/);
    const local = meaning("nfs", v3);
    assert.equal(local.status, "WARN");
    assert.match(local.text, /nolock/);
    assert.equal(meaning("tmpfs").status, "OK");
    assert.equal(meaning("fuse.sshfs").status, "WARN");
  });

  test("deviceOf splits dev_t as the kernel encodes it", () => {
    assert.equal(deviceOf(0x803n), "8:3");
    assert.equal(deviceOf(0x10301n), "259:1");
    const makedev = (major: bigint, minor: bigint) =>
      ((major & 0xfffn) << 8n) | ((major & 0xfffff000n) << 32n) | (minor & 0xffn) | ((minor & 0xffffff00n) << 12n);
    assert.equal(deviceOf(makedev(0x12345n, 0xabc21n)), `${0x12345}:${0xabc21}`);
  });

  test("Deno missing is fine and says so to whoever installed waitlock, not to a contributor", async (t) => {
    const found = await deno(tempDir(t), { PATH: tempDir(t) });
    assert.equal(found.status, "OK");
    assert.equal(found.finding, "not installed; only waitlock's Deno library needs it (the CLI and the Node library do not)");
  });

  test("parseTarget accepts udp://, tcp:// and unix:// targets and nothing else", () => {
    assert.deepEqual(parseTarget("udp://logs.example.org:514"), { kind: "udp", host: "logs.example.org", port: 514 });
    assert.deepEqual(parseTarget("tcp://[::1]:601"), { kind: "tcp", host: "::1", port: 601 });
    assert.deepEqual(parseTarget("unix:///run/log.sock"), { kind: "unix", path: "/run/log.sock" });
    for (const bad of ["logs:514", "udp://host", "tcp://host:0", "tcp://host:70000", "http://host:80", "unix://relative"]) {
      assert.equal(parseTarget(bad), undefined, bad);
    }
  });

  test("syslog: a local socket is OK, a refused TCP target and a missing socket are warnings", async (t) => {
    const dir = tempDir(t);
    const sock = join(dir, "log.sock");
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    t.after(() => server.close());
    assert.equal((await syslog(() => undefined, sock)).status, "OK");
    assert.equal((await syslog(() => undefined, join(dir, "none"))).status, "WARN");
    assert.equal((await syslog((n) => (n === "WAITLOCK_SYSLOG" ? `unix://${sock}` : undefined), join(dir, "none"))).status, "OK");
    mkdirSync(join(dir, "sub"));
    assert.equal((await syslog((n) => (n === "WAITLOCK_SYSLOG" ? `unix://${join(dir, "sub")}` : undefined), sock)).status, "WARN");
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const { port } = closed.address() as { port: number };
    await new Promise((r) => closed.close(r));
    const refused = await syslog((n) => (n === "WAITLOCK_SYSLOG" ? `tcp://127.0.0.1:${port}` : undefined), sock);
    assert.equal(refused.status, "WARN");
    assert.match(refused.finding, /ECONNREFUSED/);
  });
});
