// --syslog against a real rsyslogd started by the test with its own config:
// a unix socket (as /dev/log is), a UDP and a TCP listener on loopback, and a
// file that records each message's PRI, tag and text.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { check } from "../adapters/node/index.ts";
import { ROOT, exited, firstLine, spawnHolder, tempDir } from "./helpers.ts";

const RSYSLOGD = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"].find(existsSync);
const WAITLOCK = join(ROOT, "bin/waitlock");
// CI installs rsyslog (.ci/run); elsewhere the suite says why it did not run.
const skip = !RSYSLOGD && !process.env.CI ? "rsyslogd is not installed (apt-get install rsyslog)" : false;

const DAEMON = 3;
const LOCAL3 = 19;
const INFO = 6;
const WARNING = 4;
const pri = (facility: number, severity: number) => facility * 8 + severity;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let dir: string;
let daemon: ChildProcess;
let udpPort: number;
let tcpPort: number;
let socket: string;
let logFile: string;

/** lines returns what rsyslog has written so far: "PRI tag: text". */
function lines(): string[] {
  try {
    return readFileSync(logFile, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** arrives waits until a received line matches re (rsyslog writes asynchronously). */
async function arrives(re: RegExp): Promise<string> {
  const until = Date.now() + 10_000;
  for (;;) {
    const hit = lines().find((l) => re.test(l));
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`no syslog line matching ${re}; got:\n${lines().join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function waitlock(args: string[], env: Record<string, string> = {}) {
  return spawnSync(WAITLOCK, args, {
    encoding: "utf8", timeout: 30_000,
    env: { ...process.env, WAITLOCK_DIR: join(dir, "locks"), WAITLOCK_SYSLOG: "", ...env },
  });
}

describe("syslog delivery to a real rsyslogd", { skip }, () => {
  before(async () => {
    assert.ok(RSYSLOGD, "rsyslogd must be installed (.ci/run installs it)");
    dir = mkdtempSync(join(tmpdir(), "waitlock-syslog-"));
    spawnSync("mkdir", [join(dir, "locks")]);
    socket = join(dir, "log.sock");
    logFile = join(dir, "received.log");
    [udpPort, tcpPort] = [await freePort(), await freePort()];
    writeFileSync(join(dir, "rsyslog.conf"), `
global(workDirectory="${dir}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="${socket}" CreatePath="on")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="${udpPort}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}")
template(name="line" type="string" string="%pri% %syslogtag%%msg%\\n")
*.* action(type="omfile" file="${logFile}" template="line")
`);
    daemon = spawn(RSYSLOGD!, ["-n", "-f", join(dir, "rsyslog.conf"), "-i", join(dir, "rsyslogd.pid")], { stdio: "ignore" });
    // Ready when a probe through each listener has landed in the file.
    const until = Date.now() + 15_000;
    while (!existsSync(socket)) {
      if (Date.now() > until || daemon.exitCode !== null) throw new Error("rsyslogd did not start");
      await new Promise((r) => setTimeout(r, 20));
    }
    spawnSync("logger", ["-u", socket, "-t", "probe", "ready"]);
    await arrives(/probe.*ready/);
  });

  after(async () => {
    daemon?.kill("SIGTERM");
    if (daemon) await exited(daemon);
    rmSync(dir, { recursive: true, force: true });
  });

  test("acquired and released arrive at info, with the facility asked for", async () => {
    const unix = `unix://${socket}`;
    const r = waitlock(["--syslog", "--syslog-target", unix, "job1", "--exec", "sh", "-c", "exit 0"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(await arrives(/acquired job1 /), new RegExp(`^${pri(DAEMON, INFO)} waitlock\\[\\d+\\]: acquired job1 slot 0 \\(command: sh -c exit 0\\)$`));
    assert.match(await arrives(/released job1 /), new RegExp(`^${pri(DAEMON, INFO)} waitlock\\[\\d+\\]: released job1 slot 0 \\(held for \\d+\\.\\d{3} s\\)$`));
    assert.equal(waitlock(["--syslog", "--syslog-target", unix, "--syslog-facility", "local3", "job2", "--exec", "true"]).status, 0);
    assert.match(await arrives(/acquired job2 /), new RegExp(`^${pri(LOCAL3, INFO)} `));
  });

  test("conflict and timeout arrive at warning, naming the holder", async (t) => {
    const holder = await spawnHolder(t, join(dir, "locks"), "busy1");
    const unix = `unix://${socket}`;
    assert.equal(waitlock(["--syslog", "--syslog-target", unix, "busy1", "--exec", "true"]).status, 1);
    assert.match(await arrives(/conflict on busy1/), new RegExp(`^${pri(DAEMON, WARNING)} waitlock\\[\\d+\\]: conflict on busy1 \\(held by PID ${holder.pid}: `));
    assert.equal(waitlock(["--syslog", "--syslog-target", unix, "-t", "0.2", "busy1", "--exec", "true"]).status, 2);
    assert.match(await arrives(/timeout waiting for busy1/), new RegExp(`^${pri(DAEMON, WARNING)} waitlock\\[\\d+\\]: timeout waiting for busy1 after 0.2 s \\(held by PID ${holder.pid}: `));
    await holder.release();
  });

  test("a stale lock taken over is reported with its dead holder", async (t) => {
    const holder = await spawnHolder(t, join(dir, "locks"), "stale1");
    await holder.kill();
    assert.equal(waitlock(["--syslog", "--syslog-target", `unix://${socket}`, "stale1", "--exec", "true"]).status, 0);
    assert.match(await arrives(/stale lock stale1/), new RegExp(`^${pri(DAEMON, INFO)} waitlock\\[\\d+\\]: stale lock stale1 slot 0 taken over \\(left by PID ${holder.pid}: `));
  });

  test("the foreground holder logs released when its script exits", async (t) => {
    const script = spawn("/bin/sh", ["-c", `${WAITLOCK} --syslog fg1 || exit 1; echo locked; read line`], {
      env: { ...process.env, WAITLOCK_DIR: join(dir, "locks"), WAITLOCK_SYSLOG: `unix://${socket}` },
      stdio: ["pipe", "pipe", "pipe"],
    });
    t.after(() => script.kill("SIGKILL"));
    assert.equal(await firstLine(script), "locked");
    await arrives(/acquired fg1 /);
    script.stdin!.end("\n");
    await exited(script);
    assert.match(await arrives(/released fg1 /), /waitlock\[\d+\]: released fg1 slot 0 \(held for \d+\.\d{3} s\)$/);
    assert.equal(await check("fg1", { lockDir: join(dir, "locks") }), true);
  });

  test("remote targets over UDP and TCP on loopback (WAITLOCK_SYSLOG or the flag)", async () => {
    assert.equal(waitlock(["--syslog", "udp1", "--exec", "true"], { WAITLOCK_SYSLOG: `udp://127.0.0.1:${udpPort}` }).status, 0);
    assert.match(await arrives(/acquired udp1 /), new RegExp(`^${pri(DAEMON, INFO)} waitlock\\[\\d+\\]: acquired udp1 slot 0`));
    assert.equal(waitlock(["--syslog", "--syslog-target", `tcp://127.0.0.1:${tcpPort}`, "tcp1", "--exec", "true"]).status, 0);
    assert.match(await arrives(/released tcp1 /), new RegExp(`^${pri(DAEMON, INFO)} waitlock\\[\\d+\\]: released tcp1 slot 0`));
  });
});

describe("syslog that cannot be reached never fails a lock operation", () => {
  test("a missing socket or a closed TCP port: one warning, the command's status, no warning with -q", async (t) => {
    const locks = tempDir(t);
    const env = { ...process.env, WAITLOCK_DIR: locks };
    const port = await freePort();
    for (const target of ["unix:///nonexistent/waitlock.sock", `tcp://127.0.0.1:${port}`]) {
      const r = spawnSync(WAITLOCK, ["--syslog", "--syslog-target", target, "x", "--exec", "sh", "-c", "exit 5"], { env, encoding: "utf8" });
      assert.equal(r.status, 5, r.stderr);
      assert.match(r.stderr, new RegExp(`^waitlock: syslog ${target.replace(/[/.]/g, "\\$&")} unreachable \\(.*\\); continuing without it\\n$`));
      const quiet = spawnSync(WAITLOCK, ["-q", "--syslog", "--syslog-target", target, "x", "--exec", "true"], { env, encoding: "utf8" });
      assert.equal(quiet.status, 0);
      assert.equal(quiet.stderr, "");
    }
  });

  test("a malformed target or facility is a usage error", (t) => {
    const locks = tempDir(t);
    for (const args of [["--syslog-target", "http://x"], ["--syslog-target", "udp://host"], ["--syslog-facility", "local9"]]) {
      const r = spawnSync(WAITLOCK, ["--syslog", ...args, "x", "--exec", "true"], { env: { ...process.env, WAITLOCK_DIR: locks }, encoding: "utf8" });
      assert.equal(r.status, 3, r.stderr);
    }
  });
});

describe("watching lock activity", () => {
  test("--list --format json tells how long each lock has been held", async (t) => {
    const locks = tempDir(t);
    const holder = await spawnHolder(t, locks, "held");
    await new Promise((r) => setTimeout(r, 50));
    const r = spawnSync(WAITLOCK, ["--list", "--format", "json"], { env: { ...process.env, WAITLOCK_DIR: locks }, encoding: "utf8" });
    const [row] = JSON.parse(r.stdout);
    assert.equal(row.pid, holder.pid);
    assert.ok(row.heldForMs >= 50, `heldForMs ${row.heldForMs}`);
    await holder.release();
  });

  test("--list --watch shows locks as they come and go", async (t) => {
    const locks = tempDir(t);
    const watcher = spawn(WAITLOCK, ["--list", "--watch"], { env: { ...process.env, WAITLOCK_DIR: locks }, stdio: ["ignore", "pipe", "pipe"] });
    t.after(() => watcher.kill("SIGKILL"));
    let out = "";
    watcher.stdout!.on("data", (d) => (out += d));
    const seen = async (cond: () => boolean, what: string) => {
      const until = Date.now() + 10_000;
      while (!cond()) {
        if (Date.now() > until) throw new Error(`never saw ${what}:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await seen(() => out.includes("(no locks held)"), "the empty listing");
    const holder = await spawnHolder(t, locks, "comes-and-goes");
    await seen(() => new RegExp(`comes-and-goes\\s+0\\s+${holder.pid}`).test(out), "the new holder");
    const mark = out.length;
    await holder.release();
    await seen(() => out.slice(mark).includes("(no locks held)"), "the holder gone");
    watcher.kill("SIGINT");
    assert.equal((await exited(watcher)).code, 0);
  });
});
