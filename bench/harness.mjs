// Shared plumbing for the benchmark sections: temp dirs on tmpfs that are always
// removed, child processes that are always ended (by their own PID), and small
// helpers to read lines, wait for conditions and read /proc.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const BENCH = fileURLToPath(new URL(".", import.meta.url));
export const WAITLOCK = `${ROOT}bin/waitlock`;
export const NODE = process.execPath;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6; // CLOCK_MONOTONIC, shared by all processes

/** EPOCHREALTIME "sec.usec" (bash's CLOCK_REALTIME, µs) → ms since baseSec (exact: no float rounding of the epoch). */
export function epochMs(text, baseSec) {
  const [s, us] = text.split(".");
  return (Number(s) - baseSec) * 1000 + Number(us) / 1000;
}

const dirs = new Set();
const children = new Set();
const strays = new Set(); // PIDs we caused to exist but did not spawn ourselves (foreground holders)

/** tempDir makes a fresh directory under /dev/shm (tmpfs), removed at exit at the latest. */
export function tempDir(tag) {
  const d = mkdtempSync(`/dev/shm/waitlock-bench-${tag}-`);
  dirs.add(d);
  return d;
}

export function removeDir(d) {
  rmSync(d, { recursive: true, force: true });
  dirs.delete(d);
}

/** start spawns a tracked child: it is SIGKILLed at exit if still running. */
export function start(cmd, args, options = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  children.add(child);
  child.exited = new Promise((resolve) =>
    child.once("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  child.once("error", () => undefined);
  child.out = "";
  child.err = "";
  child.stdout?.setEncoding("utf8").on("data", (d) => (child.out += d));
  child.stderr?.setEncoding("utf8").on("data", (d) => (child.err += d));
  return child;
}

/** run runs a command to completion and returns its exit status and output. */
export async function run(cmd, args, options = {}) {
  const child = start(cmd, args, options);
  const { code, signal } = await child.exited;
  return { code, signal, stdout: child.out, stderr: child.err };
}

/** mustRun is run, failing with the command's stderr on a non-zero status. */
export async function mustRun(cmd, args, options = {}) {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 500)}`);
  return r;
}

/** until polls pred every `every` ms until it returns a truthy value, or fails after timeoutMs. */
export async function until(pred, what, timeoutMs = 30_000, every = 10) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** lineFrom resolves with the first line of a child's stdout matching re (fails if the child exits first). */
export function lineFrom(child, re, timeoutMs = 60_000) {
  return until(
    () => {
      const line = child.out.split("\n").slice(0, -1).find((l) => re.test(l)); // complete lines only
      if (line !== undefined) return line;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`child ${child.spawnargs.join(" ")} exited (${child.exitCode ?? child.signalCode}) before printing ${re}: ${child.err.trim().slice(0, 500)}`);
      }
      return undefined;
    },
    `${re} from ${child.spawnargs.slice(0, 3).join(" ")}`,
    timeoutMs,
    5,
  );
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** procStatus reads VmRSS/VmHWM (KiB) of a process, or undefined if it is gone. */
export function procStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1]);
    return { rssKiB: kb("VmRSS"), hwmKiB: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

export function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

/** childPids lists the direct children of a process. */
export function childPids(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * waiting tells whether a waitlock process is parked waiting: its first attempt
 * failed and it set up the inotify watch of the lock directory (the library's
 * waitFor does this only after a failed try; Node makes no inotify otherwise).
 */
export function waiting(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === "anon_inode:inotify";
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** adoptStray records a PID we caused (e.g. a detached foreground holder) so cleanup can end it. */
export function adoptStray(pid, marker) {
  strays.add({ pid, marker });
}

/** endStray SIGTERMs a stray if it is still the process we meant (checked by its command line). */
export function endStray(pid, marker, signal = "SIGTERM") {
  for (const s of strays) if (s.pid === pid) strays.delete(s);
  if (cmdline(pid).includes(marker)) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function cleanup() {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      // gone
    }
  }
  for (const s of [...strays]) endStray(s.pid, s.marker, "SIGKILL");
  for (const d of [...dirs]) removeDir(d);
}

process.once("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(sig, () => {
    cleanup();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })[sig]);
  });
}
