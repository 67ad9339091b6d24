// The /proc/<pid>/fdinfo lock parser that decides whom --done may signal
// (adapters/proc-locks.ts): on lines the kernel really prints, and on the shapes
// it prints for other kinds of locks.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { closeSync, openSync, readdirSync, readFileSync, fstatSync, statSync } from "node:fs";
import { join } from "node:path";
import { holderProver, holdsSlot, locksIn, proveHolder, type ProcReader } from "../adapters/proc-locks.ts";
import { linuxSystem } from "../adapters/node/system-linux.ts";
import { tempDir } from "./helpers.ts";

const line = (rest: string) => `pos:\t0\nflags:\t0100002\nmnt_id:\t26\nino:\t1234\nlock:\t1: ${rest}\n`;

describe("locksIn reads fdinfo lock lines", () => {
  test("an OFD lock, with /proc's hex device and decimal inode", () => {
    assert.deepEqual(locksIn(line("OFDLCK ADVISORY  WRITE -1 00:2d:1234 0 1")), [
      { kind: "OFDLCK", access: "WRITE", major: 0, minor: 0x2d, ino: 1234n, start: 0n, end: 1n },
    ]);
  });

  test("a POSIX lock to the end of the file", () => {
    assert.deepEqual(locksIn(line("POSIX  ADVISORY  READ  4242 fe:01:99 1 EOF")), [
      { kind: "POSIX", access: "READ", major: 0xfe, minor: 1, ino: 99n, start: 1n, end: undefined },
    ]);
  });

  test("anything else in fdinfo is not a lock", () => {
    assert.deepEqual(locksIn("pos:\t0\nflags:\t02\nino:\t1234\nlock:\tgarbage 0 1\n"), []);
  });
});

describe("holdsSlot: a holder keeps GATE (byte 0) and HELD (byte 1)", () => {
  const cases: [string, string, boolean][] = [
    ["an exclusive holder (the kernel merges bytes 0 and 1)", "OFDLCK ADVISORY  WRITE -1 00:2d:1234 0 1", true],
    ["a shared holder", "OFDLCK ADVISORY  READ  -1 00:2d:1234 0 1", true],
    ["a POSIX lock over the whole file", "POSIX  ADVISORY  WRITE 77 00:2d:1234 0 EOF", true],
    ["a probe (HELD only)", "OFDLCK ADVISORY  WRITE -1 00:2d:1234 1 1", false],
    ["an acquirer that has GATE only", "OFDLCK ADVISORY  WRITE -1 00:2d:1234 0 0", false],
    ["another inode", "OFDLCK ADVISORY  WRITE -1 00:2d:4321 0 1", false],
    ["a flock(2) lock, which never excludes waitlock's", "FLOCK  ADVISORY  WRITE 77 00:2d:1234 0 EOF", false],
  ];
  for (const [who, lock, expected] of cases) {
    test(who, () => assert.equal(holdsSlot(line(lock), 1234n), expected));
  }

  test("GATE and HELD on two lines (different types do not merge)", () => {
    const text = line("OFDLCK ADVISORY  WRITE -1 00:2d:1234 0 0") + "lock:\t2: OFDLCK ADVISORY  READ  -1 00:2d:1234 1 1\n";
    assert.equal(holdsSlot(text, 1234n), true);
  });

  test("what this kernel prints for this process's own locks", (t) => {
    const fd = openSync(join(tempDir(t), "x.slot0.lock"), "w+");
    try {
      const ino = BigInt(fstatSync(fd).ino);
      const fdinfo = () => readFileSync(`/proc/self/fdinfo/${fd}`, "latin1");
      assert.equal(holdsSlot(fdinfo(), ino), false, "no lock yet");
      linuxSystem().tryLock(fd, 1, 1, false);
      assert.equal(holdsSlot(fdinfo(), ino), false, "HELD alone, as a probe has it");
      linuxSystem().tryLock(fd, 0, 1, false);
      assert.equal(holdsSlot(fdinfo(), ino), true, `GATE and HELD: ${fdinfo()}`);
      assert.equal(locksIn(fdinfo())[0].kind, "OFDLCK");
    } finally {
      closeSync(fd);
    }
  });
});

describe("holderProver: many locks of one process, its open files read once", () => {
  test("answers as proveHolder does, with one read of /proc/PID/fd for every lock", async (t) => {
    const { acquire } = await import("../adapters/node/index.ts");
    const dir = tempDir(t);
    const locks = await Promise.all(["a", "b", "c", "d"].map((d) => acquire(d, { lockDir: dir })));
    const other = openSync(join(dir, "not-held"), "w+");
    t.after(() => closeSync(other));
    const idOf = (path: string) => {
      const st = statSync(path, { bigint: true });
      return { dev: st.dev, ino: st.ino };
    };
    let fdListings = 0;
    const proc: ProcReader = {
      listDir: (path) => {
        if (/^\/proc\/\d+\/fd$/.test(path)) fdListings++;
        return readdirSync(path);
      },
      statFollow: (path) => {
        try {
          return idOf(path);
        } catch {
          return undefined;
        }
      },
      readText: (path) => readFileSync(path, "latin1"),
    };
    const holds = holderProver(proc);
    for (const d of ["a", "b", "c", "d"]) {
      const id = idOf(join(dir, `${d}.slot0.lock`));
      assert.equal(holds(process.pid, id), "holds", d);
      assert.equal(proveHolder(proc, process.pid, id), "holds", `${d}, asked alone`);
    }
    fdListings = 0;
    const fresh = holderProver(proc);
    for (const d of ["a", "b", "c", "d"]) assert.equal(fresh(process.pid, idOf(join(dir, `${d}.slot0.lock`))), "holds");
    assert.equal(fresh(process.pid, idOf(join(dir, "not-held"))), "does-not-hold", "open, not locked");
    assert.equal(fdListings, 1, "this process's fds listed once for all five questions");
    assert.equal(fresh(2 ** 22 + 1, idOf(join(dir, "a.slot0.lock"))), "gone", "a PID above any pid_max");
    for (const l of locks) await l.release();
  });
});
