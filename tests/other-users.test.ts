// Two users on one machine: root and the unprivileged waitlock-test (created by
// .ci/run), plus nobody where a third is needed. Processes run as another user
// through spawn's uid/gid. Skipped, with the reason, when not root or when the
// user does not exist (a developer's plain `npm test`).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { check, list } from "../adapters/node/index.ts";
import { DENO, ROOT, exited, firstLine, spawnHolder, tempDir, WAITLOCK, runCli, cannotRunAs } from "./helpers.ts";

const USER = "waitlock-test";
const NOBODY = 65534;

function lookup(): { uid: number; gid: number } | string {
  if (process.getuid?.() !== 0) return "needs root to run processes as another user";
  const uid = spawnSync("id", ["-u", USER], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", USER], { encoding: "utf8" });
  if (uid.status !== 0 || gid.status !== 0) return `user ${USER} does not exist (.ci/run creates it: useradd --system --no-create-home ${USER})`;
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}
const who = lookup();
const skip = typeof who === "string" ? who : cannotRunAs(who.uid, who.gid) || cannotRunAs(NOBODY);
const other = typeof who === "string" ? { uid: -1, gid: -1 } : who;
const ROOT_USER = { uid: 0, gid: 0 };
const NOBODY_USER = { uid: NOBODY, gid: NOBODY };
type As = { uid: number; gid: number };

interface Result { code: number | null; stdout: string; stderr: string }

function run(as: As, args: string[]): Result {
  const r = runCli(args, { uid: as.uid, gid: as.gid });
  assert.equal(r.error, undefined, `waitlock ${args.join(" ")} did not finish: ${r.error}`);
  return r;
}

/** checkAs asks the library's check() about descriptor, in a Node process and a Deno process of that user. */
function checkAs(as: As, dir: string, descriptor: string): { node: unknown; deno: unknown } {
  const script = `import { check } from ${JSON.stringify(join(ROOT, "dist/node/index.js"))};
    check(process.argv[1], { lockDir: process.argv[2] }).then(
      (free) => console.log(JSON.stringify({ free })),
      (err) => console.log(JSON.stringify({ code: err.code, message: err.message })));`;
  const node = spawnSync(process.execPath, ["--input-type=module", "-e", script, descriptor, dir], { encoding: "utf8", timeout: 30_000, uid: as.uid, gid: as.gid });
  assert.equal(node.status, 0, node.stderr);
  // Deno caches what it compiles: give it a directory this user may write.
  const denoDir = mkdtempSync(join(tmpdir(), "waitlock-deno-"));
  try {
    chmodSync(denoDir, 0o777);
    const deno = spawnSync(DENO, [
      "run", "--quiet", "--no-prompt", "--allow-read", "--allow-write", "--allow-ffi", "--allow-env", join(ROOT, "tests/deno/check.ts"), dir, descriptor,
    ], { encoding: "utf8", timeout: 60_000, uid: as.uid, gid: as.gid, env: { ...process.env, DENO_DIR: denoDir, NO_COLOR: "1" } });
    assert.equal(deno.status, 0, deno.stderr);
    return { node: JSON.parse(node.stdout), deno: JSON.parse(deno.stdout) };
  } finally {
    rmSync(denoDir, { recursive: true, force: true });
  }
}

/** oneLine: a failure prints exactly one line, no stack trace. */
function oneLine(r: Result, pattern: RegExp): void {
  assert.match(r.stderr, /^waitlock: [^\n]+\n$/, `one line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

/** holdAs starts tests/fixtures/hold.mjs as a user and waits until it holds the lock. */
async function holdAs(t: { after(fn: () => void): void }, as: As, dir: string, descriptor: string, options: object = {}) {
  const holder = await spawnHolder(t, dir, descriptor, options, as);
  return { ...holder, alive: () => holder.child.exitCode === null && holder.child.signalCode === null };
}

/** sharedDir: a 1777 directory every user can reach, like /tmp/waitlock. */
function sharedDir(t: { after(fn: () => void): void }): string {
  const base = tempDir(t, "waitlock-users-");
  chmodSync(base, 0o755);
  const dir = join(base, "shared");
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  return dir;
}

describe("other users", { skip }, () => {
  test("in a shared 1777 directory a root-held lock is busy for another user, and the other way round", async (t) => {
    const dir = sharedDir(t);
    const rootHolder = await holdAs(t, ROOT_USER, dir, "shared-job");
    assert.equal(run(other, ["-d", dir, "--check", "shared-job"]).code, 1);
    const busy = run(other, ["-d", dir, "shared-job", "--exec", "true"]);
    assert.equal(busy.code, 1, busy.stderr);
    oneLine(busy, new RegExp(`held by PID ${rootHolder.pid}.*another instance is already running`));
    const listed = JSON.parse(run(other, ["-d", dir, "--list", "--format", "json"]).stdout);
    assert.deepEqual(listed.map((r: { pid: number; user: string; status: string }) => [r.pid, r.user, r.status]), [[rootHolder.pid, "root", "active"]]);
    await rootHolder.release();
    assert.equal(run(other, ["-d", dir, "shared-job", "--exec", "true"]).code, 0, "free once root let go");

    const theirs = await holdAs(t, other, dir, "shared-job");
    assert.equal(run(ROOT_USER, ["-d", dir, "--check", "shared-job"]).code, 1);
    assert.equal(run(ROOT_USER, ["-d", dir, "shared-job", "--exec", "true"]).code, 1);
    assert.equal(await check("shared-job", { lockDir: dir }), false, "busy for the library too");
    const [entry] = await list({ lockDir: dir });
    assert.equal(entry.record?.uid, other.uid, "the record names the other user");
    await theirs.release();
    assert.equal(await check("shared-job", { lockDir: dir }), true);
  });

  test("a stale file left by one user (SIGKILLed holder) is taken over by the other", async (t) => {
    const dir = sharedDir(t);
    const path = join(dir, "stale-job.slot0.lock");

    // Left by the unprivileged user, taken over by root.
    const theirs = await holdAs(t, other, dir, "stale-job");
    await theirs.kill();
    assert.equal(statSync(path).uid, other.uid, "their file stays behind");
    assert.equal((await list({ lockDir: dir, all: true }))[0].status, "stale");
    const byRoot = run(ROOT_USER, ["-d", dir, "stale-job", "--exec", "sh", "-c", "echo $WAITLOCK_SLOT"]);
    assert.equal(byRoot.code, 0, byRoot.stderr);
    assert.equal(byRoot.stdout, "0\n");

    // Left by root, taken over by the unprivileged user (the file is 0666 for this).
    const mine = await holdAs(t, ROOT_USER, dir, "stale-job");
    await mine.kill();
    assert.equal(statSync(path).uid, 0);
    assert.equal(statSync(path).mode & 0o777, 0o666, "slot files are writable by every user");
    const go = join(dir, "..", "go");
    const taker = spawn(WAITLOCK, ["-d", dir, "stale-job", "--exec", "sh", "-c", `echo held; while [ ! -e ${go} ]; do sleep 0.02; done`], {
      uid: other.uid, gid: other.gid, stdio: ["ignore", "pipe", "pipe"],
    });
    t.after(() => taker.kill("SIGKILL"));
    assert.equal(await firstLine(taker), "held");
    const [entry] = await list({ lockDir: dir });
    assert.equal(entry.status, "active");
    assert.equal(entry.record?.uid, other.uid, "now held by the other user");
    assert.equal(entry.record?.holderPid, taker.pid);
    writeFileSync(go, "");
    assert.equal((await exited(taker)).code, 0);
    // The sticky directory forbids unlinking root's file: the release empties it instead.
    assert.equal(await check("stale-job", { lockDir: dir }), true);
    const left = await list({ lockDir: dir, all: true });
    assert.ok(left.every((e) => e.status === "stale" && !e.record), `only an empty leftover: ${JSON.stringify(left)}`);
    assert.ok(!existsSync(path) || readFileSync(path).length === 0);
  });

  test("a slot file the user may only read (root's 0644 in a 1777 directory): --check and check() say EPERM, as acquiring does", (t) => {
    const dir = sharedDir(t);
    const path = join(dir, "pl.slot0.lock");
    writeFileSync(path, "");
    chmodSync(path, 0o644);
    const acquiring = run(other, ["-d", dir, "pl", "--exec", "true"]);
    assert.equal(acquiring.code, 5, acquiring.stderr);
    const checking = run(other, ["-d", dir, "--check", "pl"]);
    assert.equal(checking.code, 5, `--check must predict acquiring's refusal: ${checking.stderr}`);
    oneLine(checking, /cannot open .*pl\.slot0\.lock: permission denied/);
    const lib = checkAs(other, dir, "pl");
    assert.deepEqual([(lib.node as { code?: string }).code, (lib.deno as { code?: string }).code], ["EPERM", "EPERM"], JSON.stringify(lib));
    // Root may write the file: for root it is free, and acquiring agrees.
    assert.equal(run(ROOT_USER, ["-d", dir, "--check", "pl"]).code, 0);
    assert.equal(run(ROOT_USER, ["-d", dir, "pl", "--exec", "true"]).code, 0);
  });

  test("a lock directory the user cannot write: exit 5 or 6 with one clear line, nothing created", (t) => {
    const base = tempDir(t, "waitlock-users-");
    chmodSync(base, 0o755);
    const readOnly = join(base, "read-only");
    mkdirSync(readOnly, { mode: 0o755 });
    chmodSync(readOnly, 0o755);
    const closed = join(base, "closed");
    mkdirSync(closed);
    chmodSync(closed, 0o700);
    for (const dir of [readOnly, closed]) {
      for (const args of [["job"], ["job", "--exec", "true"], ["-m", "3", "-t", "1", "job", "--exec", "true"]]) {
        const r = run(other, ["-d", dir, ...args]);
        assert.ok(r.code === 5 || r.code === 6, `${dir} ${args.join(" ")}: exit ${r.code} ${r.stderr}`);
        oneLine(r, new RegExp(`lock directory ${dir}.*(not writable|permission)`));
      }
      assert.ok(!existsSync(join(dir, "job.slot0.lock")), "nothing created");
    }
  });

  test("--done against another user's holder: permission denied (exit 5), the holder survives", async (t) => {
    const dir = sharedDir(t);
    const rootHolder = await holdAs(t, ROOT_USER, dir, "svc");
    const denied = run(other, ["-d", dir, "--done", "svc"]);
    assert.equal(denied.code, 5, denied.stderr);
    oneLine(denied, /PID \d+|permit/);
    assert.ok(rootHolder.alive(), "root's holder survives");
    assert.equal(await check("svc", { lockDir: dir }), false, "and still holds the lock");

    // Between two unprivileged users too.
    const theirs = await holdAs(t, other, dir, "svc2");
    const byNobody = run(NOBODY_USER, ["-d", dir, "--done", "svc2"]);
    assert.equal(byNobody.code, 5, byNobody.stderr);
    oneLine(byNobody, /PID \d+|permit/);
    assert.ok(theirs.alive(), "their holder survives nobody's --done");

    // Root may end anyone's holder: the check is on the holder, not on the record's claims.
    assert.equal(run(ROOT_USER, ["-d", dir, "--done", "svc2"]).code, 0);
    assert.equal((await exited(theirs.child)).signal, "SIGTERM");
    await rootHolder.release();
  });
});
