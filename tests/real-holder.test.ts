// --list names who really keeps a lock when the record's holder is gone: an
// --exec waitlock SIGKILLed while a background child of its command, which
// inherited the locked file, goes on holding the lock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, eventually, exited, firstLine, tempDir } from "./helpers.ts";

const WAITLOCK = join(ROOT, "bin/waitlock");

function listJson(dir: string): { descriptor: string; pid: number; holders: number[] | null; problem: string | null }[] {
  const r = spawnSync(WAITLOCK, ["-d", dir, "--list", "--format", "json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone already
  }
}

test("after waitlock is SIGKILLed, --list names the processes that kept the lock, not the dead PID", async (t) => {
  const dir = tempDir(t);
  const waitlock = spawn(WAITLOCK, ["-d", dir, "x", "--exec", "sh", "-c", 'sleep 100 & echo "$$ $!"; wait'], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => waitlock.kill("SIGKILL"));
  const [shPid, sleepPid] = (await firstLine(waitlock)).split(" ").map(Number);
  t.after(() => {
    kill(shPid);
    kill(sleepPid);
  });
  waitlock.kill("SIGKILL");
  await exited(waitlock);

  // sh and its background sleep share the locked file inherited from waitlock.
  let [row] = listJson(dir);
  assert.equal(row.descriptor, "x");
  assert.notEqual(row.pid, waitlock.pid, "not the dead waitlock");
  assert.deepEqual(row.holders?.slice().sort(), [shPid, sleepPid].sort());
  assert.equal(row.problem, `PID ${waitlock.pid} in the record no longer holds it`);

  kill(shPid);
  await eventually(() => !listJson(dir)[0]?.holders?.includes(shPid), "sh no longer holds the lock");
  [row] = listJson(dir);
  assert.equal(row.pid, sleepPid, "the sleep alone keeps the lock");
  assert.deepEqual(row.holders, [sleepPid]);
  const human = spawnSync(WAITLOCK, ["-d", dir, "--list"], { encoding: "utf8" }).stdout.split("\n")[1];
  assert.match(human, new RegExp(`^x\\s+0\\s+${sleepPid}\\s`), "the human table's PID column");
});
