// Helpers for tests that use real processes.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { sourceHash } from "../scripts/source-hash.mjs";

export const ROOT = new URL("..", import.meta.url).pathname;
export const FIXTURES = join(ROOT, "tests/fixtures");

// One truth: tests import the sources, while the CLI, the holders and the
// fixtures they start run dist/. A dist/ built from other sources would have a
// test check two versions at once: refuse it, saying what to do.
{
  let built = "";
  try {
    built = readFileSync(join(ROOT, "dist/sources.sha256"), "utf8").trim();
  } catch {
    // not built
  }
  if (built !== sourceHash(ROOT)) {
    throw new Error(`dist/ ${built ? "was built from other sources than these" : "is not built"}: run npm run build (npm test does) before running tests on their own`);
  }
}

/**
 * tempDir makes a fresh directory, removed when the test ends. A process of the
 * test may still be writing there as it is removed (a holder's last events, a
 * child killed by a later hook): removal retries a directory that is not empty.
 */
export function tempDir(t: { after(fn: () => void): void }, prefix = "waitlock-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }));
  return dir;
}

/** A waiter's ticket in a queue directory, as the file queue names it (adapters/file-queue.ts). */
const TICKET = /^[0-9a-f]{14}-[0-9]{1,10}-[0-9a-f]{8}\.[wr]$/;

/** queueTickets lists the tickets in descriptor's queue directory under dir (none if it does not exist). */
export function queueTickets(dir: string, descriptor: string): string[] {
  try {
    return readdirSync(join(dir, `${descriptor}.queue`)).filter((n) => TICKET.test(n));
  } catch {
    return [];
  }
}

/** lockDirEntries: the names in a lock directory, but the events files every lock operation appends to (docs/METRICS.md). */
export function lockDirEntries(dir: string): string[] {
  return readdirSync(dir).filter((n) => n !== ".waitlock-events" && n !== ".waitlock-events.1");
}

/** firstLine resolves with the first line a child prints on stdout (rejects if it exits first). */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    let stderr = "";
    child.stderr?.on("data", (d) => (stderr += d));
    rl.once("line", (line) => {
      rl.close();
      resolve(line);
    });
    child.once("exit", (code, signal) => reject(new Error(`child exited (${code ?? signal}) before printing: ${stderr}`)));
  });
}

/** exited resolves with a child's exit code and signal. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

export interface Holder {
  pid: number;
  slot: number;
  child: ChildProcess;
  /** Ends the hold cleanly (closes the holder's stdin) and waits for it to exit. */
  release(): Promise<void>;
  /** SIGKILLs the holder and waits for it to be gone. */
  kill(): Promise<void>;
}

/**
 * spawnHolder starts a separate Node process holding descriptor
 * (tests/fixtures/hold.mjs), as another user if `as` says so.
 */
export async function spawnHolder(
  t: { after(fn: () => void): void }, lockDir: string, descriptor: string, options: object = {},
  as?: { uid: number; gid: number },
): Promise<Holder> {
  const child = spawn(process.execPath, [join(FIXTURES, "hold.mjs"), lockDir, descriptor, JSON.stringify(options)], {
    stdio: ["pipe", "pipe", "pipe"], uid: as?.uid, gid: as?.gid,
  });
  t.after(() => child.kill("SIGKILL"));
  const info = JSON.parse(await firstLine(child));
  if (info.error) throw new Error(`holder${as ? ` as uid ${as.uid}` : ""} failed: ${info.error} ${info.message}`);
  return {
    pid: child.pid!,
    slot: info.slot,
    child,
    async release() {
      child.stdin!.end();
      await exited(child);
    },
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
  };
}

/** rejectsWith asserts that promise rejects with a WaitlockError of the given code. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if ((err as { code?: string }).code === code) return err as Error;
    throw new Error(`expected ${code}, got ${(err as { code?: string }).code}: ${(err as Error).message}`);
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

/**
 * falseBusies takes and drops descriptor `attempts` times without waiting while
 * nobody else holds it, and counts the attempts that were refused: each one is a
 * false "busy" (caused, in the tests, by a concurrent prober).
 */
export async function falseBusies(lockDir: string, descriptor: string, attempts = 3000): Promise<number> {
  const { tryAcquire } = await import("../adapters/node/index.ts");
  let refused = 0;
  for (let i = 0; i < attempts; i++) {
    const lock = await tryAcquire(descriptor, { lockDir });
    if (!lock) refused++;
    else await lock.release();
  }
  return refused;
}

/**
 * noPidNamespace tells why a PID namespace of our own cannot be made here
 * (unshare needs root, or the sandbox forbids it), or false when it can: tests
 * that need one skip with that reason.
 */
export function noPidNamespace(): string | false {
  if (process.getuid?.() !== 0) return "unshare needs root";
  const r = spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "true"], { stdio: "ignore", timeout: 10_000 });
  return r.status === 0 ? false : `unshare --pid cannot run here (${r.error?.message ?? `exit ${r.status}`})`;
}

/** eventually polls cond (a fact about the world, not a timing) until it holds, or fails after ms. */
export async function eventually(cond: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** watchedInodes lists the inodes a process watches with inotify (/proc/PID/fdinfo). */
export function watchedInodes(pid: number): number[] {
  const out: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
    } catch {
      continue;
    }
    for (const m of info.matchAll(/^inotify wd:\S+ ino:([0-9a-f]+) /gm)) out.push(parseInt(m[1], 16));
  }
  return out;
}

export const WAITLOCK = join(ROOT, "bin/waitlock");
export { DENO } from "./deno-binary.ts";

const runnableAs = new Map<number, string | false>();

/**
 * cannotRunAs says why this test process cannot run this checkout's
 * bin/waitlock as user uid, or false when it can: switching users needs root,
 * and the other user must be able to reach the checkout (one under a 0700
 * home or temp directory is out of its reach). Tests that run waitlock as
 * another user skip with that reason, rather than fail for where the checkout lives.
 */
export function cannotRunAs(uid: number, gid = uid): string | false {
  if (process.getuid?.() !== 0) return "needs root to run processes as another user";
  let why = runnableAs.get(uid);
  if (why === undefined) {
    const files = [join(ROOT, "dist/cli/run.cjs"), join(ROOT, "build/waitlock.wasm"), join(ROOT, "node_modules/fs-native-extensions/package.json")];
    const r = spawnSync("/bin/sh", ["-c", 'for f; do test -r "$f" || exit 1; done', "sh", ...files], { uid, gid, stdio: "ignore" });
    why = r.status === 0 ? false : `uid ${uid} cannot read this checkout (${ROOT}): a directory above it is closed to other users; run from a checkout they can read`;
    runnableAs.set(uid, why);
  }
  return why;
}

export interface CliResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; error?: Error }

export interface CliOptions {
  /** Added to the environment, after the caller's WAITLOCK_DIR, _DEBUG, _TIMEOUT and _SLOT are cleared. */
  env?: Record<string, string>;
  input?: string;
  uid?: number;
  gid?: number;
  timeoutMs?: number;
}

/** runCli runs bin/waitlock ARGS to its end, untouched by the test runner's own WAITLOCK_* settings. */
export function runCli(args: string[], o: CliOptions = {}): CliResult {
  const r = spawnSync(WAITLOCK, args, {
    env: { ...process.env, WAITLOCK_DIR: "", WAITLOCK_DEBUG: "", WAITLOCK_TIMEOUT: "", WAITLOCK_SLOT: "", ...o.env },
    input: o.input ?? "", encoding: "utf8", timeout: o.timeoutMs ?? 30_000, uid: o.uid, gid: o.gid ?? o.uid,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

/** lineReader follows a child's stdout: each call resolves with its next line (undefined once it has exited). */
export function lineReader(child: ChildProcess): (what: string) => Promise<string | undefined> {
  const seen: string[] = [];
  let buffer = "";
  child.stdout!.on("data", (d) => {
    buffer += d;
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    seen.push(...parts);
  });
  let read = 0;
  return async (what: string) => {
    await eventually(() => seen.length > read || child.exitCode !== null || child.signalCode !== null, what);
    return seen[read++];
  };
}

/**
 * spawnReader starts an innocent process that only has path open for reading
 * (as `exec 5< path` in a shell does), the kind a forged record may name.
 */
export async function spawnReader(t: { after(fn: () => void): void }, path: string): Promise<ChildProcess> {
  const child = spawn("/bin/sh", ["-c", 'exec 5<"$1" && echo ready && exec sleep 300', "sh", path], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill("SIGKILL"));
  await firstLine(child);
  return child;
}

/**
 * forgeHolderPid rewrites the record in a slot file to name pid as its holder,
 * with a valid CRC: what any local user can do to a 0666 slot file.
 */
export async function forgeHolderPid(path: string, pid: number): Promise<void> {
  const { core } = await import("../adapters/node/core.ts");
  const record = core.decodeRecord(readFileSync(path));
  writeFileSync(path, core.encodeRecord({ ...record, holderPid: pid }));
}

/**
 * signalSoFar tells which signal, if any, a child had been sent before now: it
 * SIGKILLs the child, and the kernel reports the first fatal signal sent, so a
 * SIGTERM sent earlier still shows, however slowly the child would have died.
 */
export async function signalSoFar(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  const { signal } = await exited(child);
  return signal === "SIGKILL" ? null : signal;
}

type SignalCounts = { SIGINT: number; SIGTERM: number; SIGUSR1: number };
const BLOCKED = (1n << 1n) | (1n << 14n); // SIGINT (2) and SIGTERM (15), as SigBlk shows them

/**
 * witnessReady: some process of the group blocks SIGINT and SIGTERM and has
 * none pending (waitlock's witness, cli/group-signals.ts; one that caught a
 * group signal is replaced, and until its successor is ready a signal to the
 * group may be passed on again: documented, not what these tests are about).
 */
function witnessReady(pgid: number): boolean {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== pgid) continue;
      const status = readFileSync(`/proc/${pid}/status`, "latin1");
      const mask = (field: string) => BigInt(`0x${new RegExp(`^${field}:\\s*([0-9a-f]+)`, "m").exec(status)![1]}`);
      if ((mask("SigBlk") & BLOCKED) === BLOCKED && (mask("ShdPnd") & BLOCKED) === 0n) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/**
 * signalCounter runs `waitlock ARGS --exec count-signals.mjs` (env added to
 * the environment) in a process group of its own, as a shell runs a job (the
 * group can then be signalled as Ctrl-C signals it). The returned
 * send(signal, to, expected) signals the group or waitlock alone, waits until
 * the command has counted the signal `expected` times, then sends the marker
 * SIGUSR1 to waitlock, which passes it on after any second copy of the
 * signal, and returns the counts once the marker is in.
 */
export async function signalCounter(t: { after(fn: () => void): void }, args: string[], env: Record<string, string>) {
  const out = join(tempDir(t), "counts.json");
  const child = spawn(join(ROOT, "bin/waitlock"), [...args, "--exec", process.execPath, join(FIXTURES, "count-signals.mjs"), out], {
    detached: true, env: { ...process.env, WAITLOCK_DEBUG: "", ...env }, stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid!;
  t.after(() => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  });
  assert.equal(await firstLine(child), "ready");
  await eventually(() => witnessReady(pid), "waitlock's witness has joined the group");
  const counts = (): SignalCounts => (existsSync(out) ? JSON.parse(readFileSync(out, "utf8")) : { SIGINT: 0, SIGTERM: 0, SIGUSR1: 0 });
  return async (signal: "SIGINT" | "SIGTERM", to: "group" | "waitlock", expected: number): Promise<number> => {
    if (to === "group") await eventually(() => witnessReady(pid), "a fresh witness is in the group");
    process.kill(to === "group" ? -pid : pid, signal);
    await eventually(() => counts()[signal] >= expected, `the command got ${signal}`);
    const marks = counts().SIGUSR1;
    process.kill(pid, "SIGUSR1");
    await eventually(() => counts().SIGUSR1 > marks, "the marker reached the command");
    return counts()[signal];
  };
}
