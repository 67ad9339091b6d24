// A lock directory that runs out of space or inodes: on a tiny tmpfs mounted by
// the test (root only), and at the Platform boundary (everywhere: writeHead
// failing with ENOSPC, half-way through a record). An acquisition that cannot
// write its record fails with one clear line and exit 75; no slot stays locked
// or half-written; once space returns, the next acquirer succeeds.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquire, check, list } from "../adapters/node/index.ts";
import { createWaitlock } from "../adapters/api.ts";
import { core } from "../adapters/node/core.ts";
import { NodePlatform } from "../adapters/node/platform.ts";
import { exited, rejectsWith, tempDir, WAITLOCK, runCli } from "./helpers.ts";

// These cases count pages and inodes of a 64 KiB tmpfs to the last one: lock events
// (docs/METRICS.md) would take a page and an inode of their own, and their writes
// would land at moments the cases do not control. They are off here, for this
// process and the CLIs it runs (that an events file that cannot be written never
// fails a lock is tests/exporter.test.ts's).
process.env.WAITLOCK_EVENTS = "off";

interface Result { code: number | null; stdout: string; stderr: string }

function run(dir: string, args: string[]): Result {
  const r = runCli(["-d", dir, ...args]);
  assert.equal(r.error, undefined, `waitlock ${args.join(" ")} did not finish: ${r.error}`);
  return r;
}

/** noSpaceFailure: exit 75 (temporary failure), one line naming the problem, the command never ran. */
function assertNoSpace(r: Result, what: string): void {
  assert.equal(r.code, 75, `${what}: ${r.stderr}`);
  assert.match(r.stderr, /^waitlock: [^\n]*no space left on device \(ENOSPC\)[^\n]*\n$/, `${what}: one clear line`);
  assert.equal(r.stdout, "", `${what}: the command did not run`);
}

/** fill writes to fd until the filesystem refuses another byte; returns the bytes written. */
function fill(fd: number): number {
  const chunk = Buffer.alloc(4096, 1);
  let bytes = 0;
  for (;;) {
    try {
      bytes += writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOSPC") return bytes;
      throw err;
    }
  }
}

/** Nothing but what `held` says is listed, and every listed record is whole. */
async function onlyHeld(dir: string, held: number[]): Promise<void> {
  const entries = await list({ lockDir: dir, all: true });
  assert.deepEqual(entries.map((e) => [e.slot, e.status]), held.map((s) => [s, "active"]), `listing: ${JSON.stringify(entries.map((e) => [e.location, e.status, e.problem]))}`);
  for (const e of entries) assert.ok(e.record, "no truncated record");
}

/** Can this process mount a tmpfs here? (root, and a kernel/container that allows it) */
function mountProblem(): string | undefined {
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  const probe = mkdtempSync(join(tmpdir(), "waitlock-mount-probe-"));
  const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], { encoding: "utf8" });
  if (m.status !== 0) {
    rmSync(probe, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${(m.stderr || m.error?.message || "").trim()}); the Platform-boundary simulation below still runs`;
  }
  spawnSync("umount", [probe]);
  rmSync(probe, { recursive: true, force: true });
  return undefined;
}
const cannotMount = mountProblem();

function tinyTmpfs(t: { after(fn: () => void): void }, options: string): string {
  const dir = mkdtempSync(join(tmpdir(), "waitlock-full-"));
  const m = spawnSync("mount", ["-t", "tmpfs", "-o", `${options},mode=0755`, "tmpfs", dir], { encoding: "utf8" });
  assert.equal(m.status, 0, m.stderr);
  t.after(() => {
    spawnSync("umount", ["-l", dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe("a lock directory on a tiny tmpfs", { skip: cannotMount ?? false }, () => {
  test("out of space: acquisitions fail with exit 75 and leave nothing; space back, the next one succeeds", async (t) => {
    const dir = tinyTmpfs(t, "size=64k");
    // Slot 0 held before the disk fills: it must come through unharmed.
    const first = await acquire("disk", { lockDir: dir, maxHolders: 3 });
    // A waiter, waiting on a mutex held by us, when the disk fills up under it.
    const blocker = await acquire("later", { lockDir: dir });
    const waiter = spawn(WAITLOCK, ["-d", dir, "-v", "-t", "20", "later", "--exec", "echo", "ran"], { stdio: ["ignore", "pipe", "pipe"] });
    t.after(() => waiter.kill("SIGKILL"));
    let waiterErr = "";
    let waiterOut = "";
    waiter.stderr!.on("data", (d) => (waiterErr += d));
    waiter.stdout!.on("data", (d) => (waiterOut += d));
    const until = Date.now() + 20_000;
    while (!waiterErr.includes("acquiring") && Date.now() < until) await new Promise((r) => setTimeout(r, 20));

    const filler = join(dir, "filler");
    const fillFd = openSync(filler, "w");
    const filled = fill(fillFd);
    t.diagnostic(`filled the 64 KiB tmpfs with ${filled} bytes`);

    // The holder lets go, which frees its file's page: freeze the waiter meanwhile and
    // fill that page too, so the waiter wakes to a full disk and a new file to write.
    process.kill(waiter.pid!, "SIGSTOP");
    await blocker.release();
    fill(fillFd);
    closeSync(fillFd);
    process.kill(waiter.pid!, "SIGCONT");
    const { code } = await exited(waiter);
    assert.equal(code, 75, `the waiter fails once the disk is full: ${waiterErr}`);
    assert.match(waiterErr.split("\n").filter((l) => !/acquiring/.test(l) && l).join("\n"), /^waitlock: [^\n]*no space left on device \(ENOSPC\)[^\n]*$/);
    assert.equal(waiterOut, "");

    assertNoSpace(run(dir, ["-m", "3", "disk", "--exec", "echo", "ran"]), "exec mode");
    assertNoSpace(run(dir, ["-m", "3", "disk"]), "foreground mode");
    assertNoSpace(run(dir, ["later", "--exec", "echo", "ran"]), "a free mutex");
    await rejectsWith(acquire("disk", { lockDir: dir, maxHolders: 3, timeout: 0 }), "EAGAIN");

    await onlyHeld(dir, [0]);
    assert.deepEqual(readdirSync(dir).sort(), ["disk.slot0.lock", "filler"], "no half-written slot file left behind");
    assert.equal((await list({ lockDir: dir }))[0].record?.holderPid, process.pid, "the earlier holder is intact");
    assert.equal(await check("later", { lockDir: dir }), true, "no lock left held by nobody");

    unlinkSync(filler); // space comes back
    const r = run(dir, ["-m", "3", "disk", "--exec", "sh", "-c", "echo $WAITLOCK_SLOT"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "1\n");
    assert.equal(run(dir, ["later", "--exec", "true"]).code, 0);
    await first.release();
    assert.deepEqual(readdirSync(dir), []);
  });

  test("out of inodes: the slot file cannot be created, exit 75, nothing held; inodes back, it works", async (t) => {
    const dir = tinyTmpfs(t, "size=1m,nr_inodes=16");
    const first = await acquire("nodes", { lockDir: dir, maxHolders: 2 });
    const fillers: string[] = [];
    for (let i = 0; ; i++) {
      const f = join(dir, `f${i}`);
      try {
        writeFileSync(f, "");
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, "ENOSPC");
        break;
      }
      fillers.push(f);
    }
    t.diagnostic(`${fillers.length} files exhausted the inodes`);
    assertNoSpace(run(dir, ["-m", "2", "nodes", "--exec", "echo", "ran"]), "exec mode");
    assertNoSpace(run(dir, ["-m", "2", "nodes"]), "foreground mode");
    await rejectsWith(acquire("nodes", { lockDir: dir, maxHolders: 2, timeout: 0 }), "EAGAIN");
    await onlyHeld(dir, [0]);
    unlinkSync(fillers.pop()!);
    const r = run(dir, ["-m", "2", "nodes", "--exec", "sh", "-c", "echo $WAITLOCK_SLOT"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "1\n");
    await first.release();
    for (const f of fillers) unlinkSync(f);
    assert.deepEqual(readdirSync(dir), []);
  });
});

/** A Node platform whose disk is full on demand: writes fail with ENOSPC, optionally half-way. */
class FullDiskPlatform extends NodePlatform {
  full: "no" | "at-once" | "half-way" = "no";
  override writeHead(fd: number, bytes: Uint8Array): void {
    if (this.full === "half-way") {
      super.writeHead(fd, bytes.subarray(0, bytes.length >> 1)); // a torn record on disk...
    }
    if (this.full !== "no") {
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
    }
    super.writeHead(fd, bytes);
  }
}

describe("a full disk at the Platform boundary (simulated, runs everywhere)", () => {
  for (const mode of ["at-once", "half-way"] as const) {
    test(`writeHead fails ${mode}: EAGAIN, nothing held or half-written, and the next acquirer succeeds`, async (t) => {
      const dir = tempDir(t);
      const p = new FullDiskPlatform();
      const wl = createWaitlock(p, core);
      const held = await wl.acquire("sim", { lockDir: dir, maxHolders: 2 });
      // A stale leftover with a whole record, to be taken over (rewritten) on a full disk.
      const stale = await wl.acquire("leftover", { lockDir: dir });
      const leftoverBytes = readFileSync(join(dir, "leftover.slot0.lock"));
      await stale.release();
      writeFileSync(join(dir, "leftover.slot0.lock"), leftoverBytes);

      p.full = mode;
      const err = await rejectsWith(wl.acquire("sim", { lockDir: dir, maxHolders: 2, timeout: 0 }), "EAGAIN");
      assert.match(err.message, /^cannot write the lock record to .*sim\.slot1\.lock: no space left on device \(ENOSPC\)$/);
      await rejectsWith(wl.acquire("leftover", { lockDir: dir, timeout: 0 }), "EAGAIN");
      // While the disk stays full, a waiter gives up with the same error rather than spin.
      await rejectsWith(wl.acquire("sim", { lockDir: dir, maxHolders: 2, timeout: 2000 }), "EAGAIN");

      const entries = await list({ lockDir: dir, all: true });
      const bySlot = entries.map((e) => [e.descriptor, e.slot, e.status, e.problem ?? null]);
      assert.ok(entries.some((e) => e.descriptor === "sim" && e.slot === 0 && e.status === "active" && e.record), "the earlier holder is intact");
      for (const e of entries.filter((x) => !(x.descriptor === "sim" && x.slot === 0))) {
        assert.notEqual(e.status, "active", `nothing else held: ${JSON.stringify(bySlot)}`);
        assert.equal(e.status === "corrupt", false, `no torn record left: ${JSON.stringify(bySlot)}`);
      }
      assert.equal(await check("sim", { lockDir: dir, maxHolders: 2 }), true, "slot 1 is free");
      assert.equal(await check("leftover", { lockDir: dir }), true);

      p.full = "no";
      const next = await wl.acquire("sim", { lockDir: dir, maxHolders: 2, timeout: 0 });
      assert.equal(next.slot, 1);
      const taken = await wl.acquire("leftover", { lockDir: dir, timeout: 0 });
      await Promise.all([next.release(), taken.release(), held.release()]);
      assert.deepEqual(readdirSync(dir), []);
    });
  }
});
