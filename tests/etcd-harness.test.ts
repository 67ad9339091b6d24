// The harness the etcd backend tests stand on (tests/servers/): real etcd
// servers that start, stop, pause, die and come back on command, and a TCP
// proxy that cuts the network between a client and them. Requests go through
// etcd's v3 JSON gateway. A request meant to fail gets a short deadline (an
// answer cannot come); one meant to succeed a long one.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { FIXTURES, exited, firstLine } from "./helpers.ts";
import { startEtcd, startEtcdCluster } from "./servers/etcd.ts";
import { etcdGet, etcdPut, etcdStatus } from "./servers/etcd-http.ts";
import { INSTALL_HINT, skipUnlessInstalled } from "./servers/installed.ts";
import { ServerProcess, waitUntil } from "./servers/server-process.ts";
import { startTcpProxy, type TcpProxy } from "./servers/tcp-proxy.ts";

const skip = skipUnlessInstalled("etcd");
const LONG = { timeoutMs: 10_000 };
const SHORT = { timeoutMs: 300 };

/** gone tells whether a process has exited: no /proc entry, or a zombie nobody reaps (PID 1 here does not). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] === "Z";
  } catch {
    return true;
  }
}

describe("the skip rule", () => {
  test("off CI a missing server skips its tests, naming the packages; on CI it runs them (and fails)", (t) => {
    const ci = process.env.CI;
    t.after(() => (ci === undefined ? delete process.env.CI : (process.env.CI = ci)));
    delete process.env.CI;
    assert.equal(skipUnlessInstalled("sh"), false);
    const reason = skipUnlessInstalled("waitlock-no-such-server");
    assert.ok(reason && reason.includes("waitlock-no-such-server") && reason.includes(INSTALL_HINT), String(reason));
    process.env.CI = "true";
    assert.equal(skipUnlessInstalled("waitlock-no-such-server"), false);
    assert.throws(() => new ServerProcess("waitlock-no-such-server", []), (err: Error) => err.message.includes(INSTALL_HINT));
  });
});

describe("etcd harness: one node", { skip }, () => {
  test("starts on loopback ports and serves puts and gets through the v3 gateway", async (t) => {
    const etcd = await startEtcd();
    t.after(() => etcd.stop());
    assert.match(etcd.endpoint, /^127\.0\.0\.1:\d+$/);
    assert.equal(etcd.url, `http://${etcd.endpoint}`);
    assert.ok(!gone(etcd.pid));
    await etcdPut(etcd.url, "greeting", "hello", LONG);
    assert.equal(await etcdGet(etcd.url, "greeting", LONG), "hello");
    assert.equal(await etcdGet(etcd.url, "nobody-wrote-this", LONG), undefined);
  });

  test("paused, it answers nothing; resumed, it answers again", async (t) => {
    const etcd = await startEtcd();
    t.after(() => etcd.stop());
    await etcdPut(etcd.url, "k", "v", LONG);
    etcd.pause();
    await assert.rejects(etcdGet(etcd.url, "k", SHORT), { code: "ETIMEDOUT" });
    etcd.resume();
    assert.equal(await etcdGet(etcd.url, "k", LONG), "v");
  });

  test("kill (even while paused) ends and reaps it; restart serves the same data on the same port; stop removes the data dir", async (t) => {
    const etcd = await startEtcd();
    t.after(() => etcd.stop());
    await etcdPut(etcd.url, "kept", "across restarts", LONG);
    const { endpoint, pid } = etcd;
    etcd.pause();
    await etcd.kill();
    assert.ok(gone(pid), "the killed etcd is gone");
    assert.equal(etcd.running, false);
    await assert.rejects(etcdGet(etcd.url, "kept", SHORT), { code: "ECONNREFUSED" });
    await etcd.restart();
    assert.equal(etcd.endpoint, endpoint);
    assert.notEqual(etcd.pid, pid);
    assert.equal(await etcdGet(etcd.url, "kept", LONG), "across restarts");
    const newPid = etcd.pid;
    await etcd.stop();
    assert.ok(gone(newPid));
    assert.equal(existsSync(etcd.dataDir), false);
  });

  for (const death of ["throw", "hang"] as const) {
    test(`its etcd dies with a test process that ${death === "throw" ? "fails with an uncaught error" : "is SIGKILLed"}`, async () => {
      const child = spawn(process.execPath, ["--import", "tsx", join(FIXTURES, "server-then-die.ts"), death], { stdio: ["pipe", "pipe", "pipe"] });
      let pid = 0;
      let dataDir = "";
      try {
        const [first, second] = (await firstLine(child)).split(" ");
        [pid, dataDir] = [Number(first), second];
        assert.ok(pid > 0 && !gone(pid) && existsSync(dataDir));
        if (death === "hang") child.kill("SIGKILL");
        else child.stdin!.end();
        await exited(child);
        await waitUntil(() => gone(pid), `etcd ${pid} to end with its test process`, { timeoutMs: 5_000 });
        // An exit handler can remove the data dir; nothing runs after a SIGKILL.
        if (death === "throw") assert.equal(existsSync(dataDir), false);
      } finally {
        child.kill("SIGKILL");
        // A harness that failed this test must not leave its etcd running.
        if (pid > 0 && !gone(pid)) process.kill(pid, "SIGKILL");
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});

describe("etcd harness: a cluster of three", { skip }, () => {
  test("has one leader, and survives killing it: a new one is elected, writes work, the old one rejoins", async (t) => {
    const cluster = await startEtcdCluster(3);
    t.after(() => cluster.stop());
    assert.equal(new Set(cluster.endpoints).size, 3);
    const statuses = await Promise.all(cluster.members.map((m) => etcdStatus(m.url, LONG)));
    const leaders = statuses.filter((s) => s.leader === s.memberId);
    assert.equal(leaders.length, 1, "exactly one member leads");
    assert.ok(statuses.every((s) => s.leader === leaders[0].memberId), "everyone agrees who leads");

    const old = await cluster.leader();
    assert.equal((await etcdStatus(old.url, LONG)).memberId, leaders[0].memberId);
    await old.kill();
    const next = await cluster.leader();
    assert.notEqual(next, old);
    await etcdPut(next.url, "after-failover", "written", LONG);
    const follower = cluster.members.find((m) => m !== old && m !== next)!;
    assert.equal(await etcdGet(follower.url, "after-failover", LONG), "written");

    await old.restart();
    assert.equal(await etcdGet(old.url, "after-failover", LONG), "written");
  });
});

/** rawConnection opens a TCP connection and collects what it receives. */
async function rawConnection(endpoint: string): Promise<{ socket: Socket; received: () => string; closed: Promise<NodeJS.ErrnoException | undefined> }> {
  const [host, port] = endpoint.split(":");
  const socket = connect(Number(port), host);
  let text = "";
  socket.setEncoding("utf8").on("data", (d: string) => (text += d));
  const closed = new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    let error: NodeJS.ErrnoException | undefined;
    socket.on("error", (err) => (error = err));
    socket.once("close", () => resolve(error));
  });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return { socket, received: () => text, closed };
}

/** etcdBehindProxy starts an etcd and a proxy in front of it, and writes k = v through the proxy (its first connection). */
async function etcdBehindProxy(t: { after(fn: () => unknown): void }): Promise<{ proxy: TcpProxy; via: string }> {
  const etcd = await startEtcd();
  t.after(() => etcd.stop());
  const proxy = await startTcpProxy(etcd.endpoint);
  t.after(() => proxy.close());
  const via = `http://${proxy.endpoint}`;
  await etcdPut(via, "k", "v", LONG);
  return { proxy, via };
}

/** onlyOpen waits until the proxy's second connection is open and the first (etcdPut's) has closed. */
const onlyOpen = (proxy: TcpProxy) =>
  waitUntil(() => proxy.counters.accepted === 2 && proxy.counters.open === 1, "only the second connection to be open through the proxy");

const HEALTH_REQUEST = "GET /health HTTP/1.1\r\nHost: etcd\r\nConnection: close\r\n\r\n";

describe("etcd harness: a TCP proxy that cuts the network", { skip }, () => {
  test("reset: open connections get RST and new ones are refused; restore: requests work again", async (t) => {
    const { proxy, via } = await etcdBehindProxy(t);
    assert.equal(proxy.counters.accepted, 1);

    const open = await rawConnection(proxy.endpoint);
    await onlyOpen(proxy);
    proxy.cut("reset");
    assert.equal((await open.closed)?.code, "ECONNRESET");
    await assert.rejects(etcdGet(via, "k", LONG), { code: "ECONNRESET" });
    assert.equal(proxy.counters.reset, 2);

    proxy.restore();
    assert.equal(await etcdGet(via, "k", LONG), "v");
  });

  test("blackhole: nothing passes and nothing closes; restore delivers what was held", async (t) => {
    const { proxy, via } = await etcdBehindProxy(t);

    const held = await rawConnection(proxy.endpoint);
    t.after(() => held.socket.destroy());
    await onlyOpen(proxy);
    proxy.cut("blackhole");
    held.socket.write(HEALTH_REQUEST);
    await assert.rejects(etcdGet(via, "k", SHORT), { code: "ETIMEDOUT" });
    const accepted = proxy.counters.accepted;
    const late = etcdGet(via, "k", LONG); // accepted now, forwarded on restore
    await waitUntil(() => proxy.counters.accepted === accepted + 1, "the proxy to accept a connection while cut");
    assert.equal(held.received(), "", "nothing came back through the black hole");
    assert.equal(held.socket.destroyed, false);
    assert.equal(proxy.counters.reset, 0);

    proxy.restore();
    assert.equal(await late, "v");
    assert.equal(await held.closed, undefined);
    assert.match(held.received(), /^HTTP\/1\.1 200 [\s\S]*"health":"true"/);
  });
});
