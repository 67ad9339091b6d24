// The foreground holder for locks on a server: what cli/holder.ts is for the
// lock directory. It keeps the lock's lease alive for its owner after
// `waitlock DESCRIPTOR` has returned (the backend's adopt), and lets go when
// the owner exits, and when the lock is taken from it. If the lease is lost
// (the server unreachable for too long, or it forgot the lock), it sends the
// owner the lost signal (SIGTERM unless --lost-signal says otherwise) before
// the lease can expire, and exits. The lock taken away (`waitlock --done` from
// anyone but the owner, on any host, or SIGTERM/SIGINT/SIGHUP) is the same
// news for the owner: it gets the lost signal, then the lock is let go. The
// owner's own `--done` (sent from a process the owner started, on this host)
// and SIGUSR2 let go quietly, as the lock directory's holder does.
//
// usage: lease-holder.cjs. On stdin, one line of JSON LeaseHolderStart; it
// loads its client, connects, and says "warm" on fd 3; then one line of JSON
// HandOff; it says "ready" (or "owner-gone") on fd 3 once it keeps the lease.
import * as fs from "node:fs";
import { hostname } from "node:os";
import { spawn } from "node:child_process";
import type { AdoptedLease, BackendHost, HolderInfo } from "../adapters/backend.ts";
import { parseBackendUrl } from "../adapters/backend-url.ts";
import { nodeNetwork } from "../adapters/node/network.ts";
import { parentPidFrom, startTimeFrom } from "../adapters/proc.ts";
import { serverBackend } from "../adapters/server-backend.ts";
import { recordHeldEvent, type HeldEvents } from "./record-event.ts";

const READY_FD = 3;
const OWNER_CHECK_MS = 100;

/** Where the lock lives: what the lease holder needs to get ready (on stdin: the URL may carry a password). */
export interface LeaseHolderStart {
  backend: string;
}

/** The lease itself, handed over once the lease holder is ready for it. */
export interface HandOff {
  leaseId: string;
  ttlSeconds: number;
  /** Absolute CLOCK_MONOTONIC ms (process.hrtime) until which the lease is certainly alive. */
  certainUntilMono: number;
  ownerPid: number;
  ownerStart: number;
  /** Signal for the owner when the lease is lost, or "none". */
  lostSignal: string;
  /** "DESCRIPTOR slot N", for the syslog lines. */
  what: string;
  descriptor: string;
  slot: number;
  /** The hold's fence (on etcd, the grant's revision: --done requests from then on are for this holder). */
  fence: string;
  /** The record kept with the grant, as --done answers carry it. */
  info: HolderInfo;
  syslog?: { facility: string; target: unknown };
  acquiredAt: number;
  /** Where to record the release or loss for metrics, if waitlock records this lock's events. */
  events?: HeldEvents;
}

const monoMs = () => Number(process.hrtime.bigint() / 1000n) / 1000;

let pending = "";
/** readLine reads one line from stdin, blocking: there is nothing else to do until it comes. */
function readLine(): string {
  const buf = Buffer.alloc(4096);
  while (!pending.includes("\n")) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); // a non-blocking pipe: wait a moment
      continue;
    }
    if (n === 0) break;
    pending += buf.toString("utf8", 0, n);
  }
  const nl = pending.indexOf("\n");
  const line = nl >= 0 ? pending.slice(0, nl) : pending;
  pending = nl >= 0 ? pending.slice(nl + 1) : "";
  return line;
}

const start = JSON.parse(readLine()) as LeaseHolderStart;
let h: HandOff;

function startTime(pid: number): number | undefined {
  try {
    return startTimeFrom(fs.readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return undefined;
  }
}

function log(severity: "info" | "err", text: string): void {
  if (!h?.syslog) return;
  try {
    const script = new URL("./syslog-event.cjs", import.meta.url).pathname;
    spawn(process.execPath, [script, JSON.stringify({ ...h.syslog, pid: process.pid, severity, text })], { detached: true, stdio: "ignore" }).unref();
  } catch {
    // logging must never keep a lock
  }
}

/** This process, as the backend sees it: it keeps the lease and takes --done signals itself. */
const host: BackendHost = {
  pid: process.pid,
  hostname: () => hostname(),
  uid: () => process.getuid?.() ?? -1,
  kill: (pid, signal) => process.kill(pid, signal),
  unrefTimer: (t) => (t as { unref?: () => void }).unref?.(),
};

let ending = false;
let held: AdoptedLease | undefined;

async function release(how = ""): Promise<never> {
  if (!ending) {
    ending = true;
    await held?.release().catch(() => undefined); // unreachable: it expires by itself
    recordHeldEvent(h.events, "released");
    log("info", `released ${h.what} (held for ${((Date.now() - h.acquiredAt) / 1000).toFixed(3)} s${how})`);
  }
  process.exit(0);
}

/** takenAway: the lock is being taken from a running owner; tell it, then let go. */
function takenAway(by: string): Promise<never> {
  let told = "";
  if (!ending && h.lostSignal !== "none" && ownerAlive()) {
    try {
      process.kill(h.ownerPid, h.lostSignal);
      told = `, owner PID ${h.ownerPid} sent ${h.lostSignal}`;
    } catch {
      // the owner is gone meanwhile
    }
  }
  return release(`; ended by ${by}${told}`);
}

/** startedByOwner: pid is the owner or one of its descendants (a walk up /proc, bounded). */
function startedByOwner(pid: number): boolean {
  for (let depth = 0; pid > 1 && depth < 32; depth++) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
    } catch {
      return false;
    }
    if (pid === h.ownerPid) return startTimeFrom(stat) === h.ownerStart;
    pid = parentPidFrom(stat) ?? 0;
  }
  return false;
}

const ownerAlive = () => startTime(h.ownerPid) === h.ownerStart;

async function main(): Promise<void> {
  const target = parseBackendUrl(start.backend, (n) => process.env[n]);
  if (target.kind === "file") throw new Error("the lease holder serves locks on a server only");
  const backend = serverBackend(target, nodeNetwork, host);
  const handOff = async () => {
    fs.writeSync(READY_FD, "warm\n");
    h = JSON.parse(readLine()) as HandOff;
    return {
      descriptor: h.descriptor, slot: h.slot, leaseId: h.leaseId, ttlSeconds: h.ttlSeconds,
      certainForMs: h.certainUntilMono - monoMs(), fence: h.fence, info: { ...h.info, pid: process.pid },
    };
  };
  // --done from any host: this process keeps the lease, so it is the one to let go.
  // Whose request it is is decided as it arrives: its sender waits for the answer, so is still there to look at.
  held = await backend.adopt!(handOff, (_signal, from) => {
    if (from && from.host === hostname() && startedByOwner(from.pid)) return () => void release("; let go by its owner");
    return () => void takenAway(`--done from ${from ? `PID ${from.pid} on ${from.host}` : "another process"}`);
  });
  const lost = held.lost;
  lost.addEventListener("abort", () => {
    ending = true;
    const why = String((lost.reason as Error)?.message ?? "lock lost");
    log("err", `lost ${h.what}: ${why}`);
    recordHeldEvent(h.events, "lost");
    if (h.lostSignal !== "none") {
      try {
        process.kill(h.ownerPid, h.lostSignal);
      } catch {
        // the owner is gone already
      }
    }
    process.exit(7);
  });
  for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(s, () => void takenAway(s));
  process.on("SIGUSR2", () => void release("; let go by its owner"));
  if (!ownerAlive()) {
    try {
      fs.writeSync(READY_FD, "owner-gone\n");
    } catch {
      // waitlock is gone too
    }
    void release();
  } else {
    setInterval(() => {
      if (!ownerAlive()) void release();
    }, OWNER_CHECK_MS);
    fs.writeSync(READY_FD, "ready\n");
    fs.closeSync(READY_FD);
  }
}

// Anything unexpected: say nothing on fd 3 (waitlock reports "did not start") and exit.
main().catch(() => process.exit(4));
