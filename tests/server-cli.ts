// The CLI and library helpers the server-backend suites (etcd, Redis) share:
// spawning waitlock, logging a held command's span, waiting for a queue, and
// the never-two-holders check over the spans, and the cases both must pass alike.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { list } from "../adapters/node/index.ts";
import { ROOT, exited, firstLine, lineReader, tempDir, WAITLOCK, runCli } from "./helpers.ts";
import { waitUntil } from "./servers/server-process.ts";

export { WAITLOCK };

/** run runs waitlock ARGS to its end, env added. */
export const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

export function start(args: string[], env: Record<string, string> = {}): ChildProcess & { stderrText: () => string } {
  const child = spawn(process.execPath, [WAITLOCK, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  child.stdout!.resume();
  return Object.assign(child, { stderrText: () => err });
}

/**
 * A command for --exec that logs "start TAG NS FENCE PID" and, when it ends
 * (SIGTERM, or after secs), "end TAG NS" to log (CLOCK_REALTIME, one host).
 */
export function logged(log: string, tag: string, secs = 30): string[] {
  return ["/bin/sh", "-c", `echo "start ${tag} $(date +%s%N) $WAITLOCK_FENCE $$" >> ${log}; trap 'echo "end ${tag} $(date +%s%N)" >> ${log}; exit 143' TERM; sleep ${secs} & wait; echo "end ${tag} $(date +%s%N)" >> ${log}`];
}

export interface Span { tag: string; start: bigint; end?: bigint; fence?: bigint; pid: number }
export function spans(log: string): Span[] {
  const out = new Map<string, Span>();
  for (const line of readFileSync(log, "utf8").split("\n").filter(Boolean)) {
    const [what, tag, ns, fence, pid] = line.split(" ");
    if (what === "start") out.set(tag, { tag, start: BigInt(ns), fence: fence ? BigInt(fence) : undefined, pid: Number(pid) });
    else out.get(tag)!.end = BigInt(ns);
  }
  return [...out.values()].sort((a, b) => (a.start < b.start ? -1 : 1));
}

/** running starts `waitlock ARGS --exec sh -c 'touch READY; SCRIPT'` and resolves once its command runs. */
export async function running(t: { after(fn: () => void): void }, args: string[], script: string, env: Record<string, string> = {}) {
  const ready = join(tempDir(t), "ready");
  const child = start([...args, "--exec", "sh", "-c", `touch ${ready}; ${script}`], env);
  t.after(() => child.kill("SIGKILL"));
  await waitUntil(() => existsSync(ready) || (child.exitCode !== null && `exited ${child.exitCode}: ${child.stderrText()}`), "the holder's command to run", { timeoutMs: 10_000 });
  assert.equal(child.exitCode, null, `the holder exited early: ${child.stderrText()}`);
  return child;
}

/** queued resolves once at least n requests wait in descriptor's queue. */
export async function queued(backend: string, descriptor: string, n = 1): Promise<void> {
  await waitUntil(async () => (await list({ backend, descriptor })).filter((e) => e.kind === "waiter").length >= n, `${n} waiting for ${descriptor}`, { timeoutMs: 10_000 });
}

/** noOverlap: each span ends before the next starts, and fences strictly increase. */
export function assertNoOverlap(all: Span[]): void {
  for (let i = 1; i < all.length; i++) {
    const [a, b] = [all[i - 1], all[i]];
    assert.ok(a.end !== undefined && a.end <= b.start, `${a.tag} (ended ${a.end}) overlaps ${b.tag} (started ${b.start})`);
    if (a.fence !== undefined && b.fence !== undefined) assert.ok(a.fence < b.fence, `fence ${a.fence} then ${b.fence}`);
  }
}

/** keptByLeaseHolder: whether descriptor has at least `holders` slots held and, by their records, each by a foreground lease holder process. */
export async function keptByLeaseHolder(backend: string, descriptor: string, holders = 1): Promise<boolean> {
  const pids = (await list({ backend, descriptor })).filter((e) => e.kind === "slot").map((e) => e.record?.holderPid);
  return pids.length >= holders && pids.every((pid) => {
    try {
      return pid !== undefined && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("lease-holder");
    } catch {
      return false;
    }
  });
}

export const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/**
 * ownDoneIsQuiet: two scripts hold a semaphore of 2 in foreground mode; one
 * runs its own `waitlock --done`, which lets both holds go: its own quietly
 * (it carries on), the other's with that owner sent its lost signal.
 */
export async function ownDoneIsQuiet(t: { after(fn: () => void): void }, backend: string): Promise<void> {
  const sh = (script: string) => spawn("/bin/sh", ["-c", script], { env: { ...process.env, PATH: `${join(ROOT, "bin")}:${process.env.PATH}` }, stdio: ["pipe", "pipe", "pipe"] });
  const other = sh(`waitlock --backend ${backend} -m 2 pool || exit 1; echo locked; while :; do sleep 0.05; done`);
  t.after(() => other.kill("SIGKILL"));
  assert.equal(await firstLine(other), "locked");
  const self = sh(`waitlock --backend ${backend} -m 2 --lost-signal USR1 pool || exit 1; echo locked; read line; waitlock --backend ${backend} --done pool; echo "done $?"; read line; echo alive`);
  t.after(() => self.kill("SIGKILL"));
  const next = lineReader(self);
  assert.equal(await next("locked"), "locked");
  await waitUntil(() => keptByLeaseHolder(backend, "pool", 2), "the lease holders took over", { timeoutMs: 10_000 });
  self.stdin!.write("go\n");
  assert.equal(await next("done"), "done 0");
  await waitUntil(async () => run(["--backend", backend, "--check", "-m", "2", "pool"]).code === 0, "both let go", { timeoutMs: 5000 });
  self.stdin!.end("go\n");
  assert.equal(await next("alive"), "alive", "the caller was not signalled");
  assert.equal((await exited(self)).code, 0);
  await waitUntil(() => other.signalCode !== null, "the other owner was told", { timeoutMs: 5000 });
  assert.equal(other.signalCode, "SIGTERM");
}
