// Cases every lock server must pass, written once: etcd.test.ts and
// redis.test.ts register each against their own server (a ServerUnderTest),
// beside the cases that are that server's own. What every backend, the lock
// directory included, must do is in conformance.test.ts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquire, tryAcquire } from "../adapters/node/index.ts";
import { DENO, ROOT, exited, firstLine, tempDir } from "./helpers.ts";
import { WAITLOCK, assertNoOverlap, keptByLeaseHolder, logged, nowNs, queued, run, running, spans, start } from "./server-cli.ts";
import { sleep, waitUntil } from "./servers/server-process.ts";

type T = { after(fn: () => void): void };

export interface ServerUnderTest {
  /** A backend URL with a prefix no other test uses. */
  url(): string;
  /** A URL of this scheme where nothing answers. */
  unreachableUrl: string;
  /** SIGSTOP and SIGCONT the server. */
  pause(): void;
  resume(): void;
  /** What Deno needs to reach the server beyond reading, FFI, the environment and the network. */
  denoFlags?: string[];
}

/** gone: the process has exited (a zombie nobody reaps counts as gone). */
export function gone(pid: number): boolean {
  try {
    return /^[ZX]/.test(readFileSync(`/proc/${pid}/stat`, "latin1").replace(/^.*\) /s, ""));
  } catch {
    return true;
  }
}

/**
 * holderThenWaiter starts A holding d (its command logged, a 2 s lease) and
 * B queued behind it with a bWaitSeconds timeout, each through its own URL.
 */
export async function holderThenWaiter(t: T, backendA: string, d: string, bWaitSeconds: number, backendB = backendA) {
  const log = join(tempDir(t), "log");
  writeFileSync(log, "");
  const a = start(["--backend", backendA, "--lease", "2", d, "--exec", ...logged(log, "A")]);
  t.after(() => a.kill("SIGKILL"));
  await waitUntil(async () => readFileSync(log, "utf8").includes("start A") || (a.exitCode !== null && `A exited ${a.exitCode}: ${a.stderrText()}`), "A started", { timeoutMs: 10_000 });
  const b = start(["--backend", backendB, "-t", String(bWaitSeconds), d, "--exec", ...logged(log, "B", 0)]);
  t.after(() => b.kill("SIGKILL"));
  await queued(backendB, d);
  return { log, a, b };
}

export async function denoBesideNode(t: T, s: ServerUnderTest): Promise<void> {
  const backend = s.url();
  const denoHold = () => spawn(DENO, ["run", "--quiet", "--no-prompt", "--allow-read", "--allow-ffi", "--allow-env", "--allow-net", ...(s.denoFlags ?? []), join(ROOT, "tests/deno/hold.ts"), "", "mixed", JSON.stringify({ backend })], {
    stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" },
  });
  const child = denoHold();
  t.after(() => child.kill("SIGKILL"));
  const held = JSON.parse(await firstLine(child));
  assert.equal(held.slot, 0, JSON.stringify(held));
  assert.equal(await tryAcquire("mixed", { backend }), undefined);
  const waiting = acquire("mixed", { backend });
  await queued(backend, "mixed");
  child.stdin!.end();
  const mine = await waiting;
  assert.ok(mine.fence! > BigInt(held.fence));
  assert.equal((await exited(child)).code, 0);
  // And the other way round: Deno waits in the queue behind Node.
  const next = denoHold();
  t.after(() => next.kill("SIGKILL"));
  await queued(backend, "mixed");
  await mine.release();
  const got = JSON.parse(await firstLine(next));
  assert.ok(BigInt(got.fence) > mine.fence!, JSON.stringify(got));
  next.stdin!.end();
  assert.equal((await exited(next)).code, 0);
}

export async function doneAcrossHosts(t: T, s: ServerUnderTest): Promise<void> {
  const backend = s.url();
  const dir = tempDir(t);
  const a = await running(t, ["--backend", backend, "d1"], `sleep 30 & wait`);
  const done = run(["-v", "--backend", backend, "--done", "d1"]);
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, new RegExp(`sent SIGTERM to ${a.pid}`));
  assert.equal((await exited(a)).code, 143);
  assert.equal(run(["--backend", backend, "--check", "d1"]).code, 0);
  assert.equal(run(["--backend", backend, "--done", "d1"]).code, 1, "nothing holds it now");

  const script = join(dir, "fg.sh");
  writeFileSync(script, `${process.execPath} ${WAITLOCK} --backend '${backend}' d2 || exit 1\nsleep 30\n`);
  const owner = spawn("/bin/sh", [script], { stdio: "ignore" });
  t.after(() => owner.kill("SIGKILL"));
  // Once the lease holder has taken over (the record names it), --done reaches it.
  await waitUntil(() => keptByLeaseHolder(backend, "d2"), "the lease holder took over", { timeoutMs: 10_000 });
  const doneFg = run(["-v", "--backend", backend, "--done", "d2"]);
  assert.equal(doneFg.code, 0, `${doneFg.stderr}; listed now: ${run(["--backend", backend, "--list", "--format", "json"]).stdout}; owner ${owner.exitCode ?? "running"}`);
  await waitUntil(async () => run(["--backend", backend, "--check", "d2"]).code === 0, "foreground holder let go", { timeoutMs: 5000 });
}

export async function listWatch(t: T, s: ServerUnderTest): Promise<void> {
  const backend = s.url();
  const watcher = spawn(process.execPath, [WAITLOCK, "--backend", backend, "--list", "--watch"], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => watcher.kill("SIGKILL"));
  let out = "";
  watcher.stdout!.on("data", (d) => (out += d));
  await waitUntil(() => out.includes("(no locks held)"), "the first listing", { timeoutMs: 10_000 });
  const lock = await acquire("watched", { backend });
  await waitUntil(() => /watched\s+0\s+held/.test(out), "the holder listed", { timeoutMs: 5000 });
  const before = out.length;
  await lock.release();
  await waitUntil(() => out.slice(before).includes("(no locks held)"), "the release listed", { timeoutMs: 5000 });
  watcher.kill("SIGINT");
  await exited(watcher);
}

export function backendFromEnvironment(s: ServerUnderTest): void {
  const backend = s.url();
  assert.equal(run(["envjob", "--exec", "true"], { WAITLOCK_BACKEND: backend }).code, 0);
  assert.equal(run(["--backend", s.unreachableUrl, "--check", "envjob"], { WAITLOCK_BACKEND: backend }).code, 75);
}

export async function foregroundKeepsLease(t: T, s: ServerUnderTest): Promise<void> {
  const backend = s.url();
  const script = join(tempDir(t), "job.sh");
  writeFileSync(script, `${process.execPath} ${WAITLOCK} --backend '${backend}' --lease 2 fg || exit 1\nsleep 3.5\n`);
  const owner = spawn("/bin/sh", [script], { stdio: "ignore" });
  t.after(() => owner.kill("SIGKILL"));
  await waitUntil(async () => run(["--backend", backend, "--check", "fg"]).code === 1, "lock taken", { timeoutMs: 10_000 });
  await sleep(2500); // past the 2 s lease: only renewals keep it
  assert.equal(run(["--backend", backend, "--check", "fg"]).code, 1, "still held while the owner runs");
  await exited(owner);
  await waitUntil(async () => run(["--backend", backend, "--check", "fg"]).code === 0, "released after the owner exited", { timeoutMs: 5000 });
}

export async function killedInExecMode(t: T, s: ServerUnderTest): Promise<void> {
  const { log, a, b } = await holderThenWaiter(t, s.url(), "k", 20);
  const A = spans(log).find((x) => x.tag === "A")!;
  const killedAt = Date.now();
  a.kill("SIGKILL");
  await waitUntil(() => gone(A.pid), "A's command to die with waitlock (pdeathsig)", { timeoutMs: 2000 });
  const diedBy = nowNs();
  assert.equal((await exited(b)).code, 0, b.stderrText());
  assert.ok(Date.now() - killedAt < 2000 + 1000 + 1500, "back within lease + 1 s (and start-up)");
  const all = spans(log);
  assert.equal(all.find((x) => x.tag === "A")!.end, undefined, "A's command was killed, not ended");
  all.find((x) => x.tag === "A")!.end = diedBy; // dead by then at the latest
  assertNoOverlap(all);
}

export async function pausedPastLease(t: T, s: ServerUnderTest): Promise<void> {
  const { log, a, b } = await holderThenWaiter(t, s.url(), "p", 30);
  s.pause();
  try {
    const ra = await exited(a);
    assert.equal(ra.code, 7, a.stderrText());
    assert.match(a.stderrText(), /lock lost/);
    await sleep(1500); // past the lease on the server's clock too
  } finally {
    s.resume();
  }
  assert.equal((await exited(b)).code, 0, b.stderrText());
  assertNoOverlap(spans(log));
}

export async function waiterOutlivesAbsence(t: T, s: ServerUnderTest): Promise<void> {
  const backend = s.url();
  const release = join(tempDir(t), "release");
  const a = await running(t, ["--backend", backend, "--lease", "30", "w"], `while [ ! -e ${release} ]; do sleep 0.05; done`);
  const b = start(["--backend", backend, "--lease", "2", "-t", "40", "w", "--exec", "true"]);
  const cStarted = Date.now();
  const c = start(["--backend", backend, "-t", "2", "w", "--exec", "true"]);
  t.after(() => b.kill("SIGKILL"));
  t.after(() => c.kill("SIGKILL"));
  await queued(backend, "w", 2);
  s.pause();
  try {
    assert.equal((await exited(c)).code, 2, c.stderrText());
    // -t 2 is a promise to the caller, whatever the server does: start-up, 2 s, and leaving the queue (best effort: its lease runs out anyway).
    assert.ok(Date.now() - cStarted < 2000 + 2000, `-t 2 gave up after ${Date.now() - cStarted} ms with the server paused`);
    await sleep(2500); // past B's 2 s lease: its place in the queue is gone
  } finally {
    s.resume();
  }
  await sleep(1000); // time for a B that wrongly gave up on the server's return to exit
  assert.equal(b.exitCode, null, `B still waits: ${b.stderrText()}`);
  writeFileSync(release, "");
  assert.equal((await exited(a)).code, 0, a.stderrText());
  assert.equal((await exited(b)).code, 0, b.stderrText());
}

export async function shortPause(t: T, s: ServerUnderTest): Promise<void> {
  // Lease 6 s: renewals every 2 s, loss declared 1.5 s before 6 s have passed since the last acknowledged one.
  const a = await running(t, ["--backend", s.url(), "--lease", "6", "slow"], `sleep 4`);
  s.pause();
  await sleep(2500); // at least one renewal waits on the paused server
  s.resume();
  const ra = await exited(a);
  assert.equal(ra.code, 0, a.stderrText());
}
