// The foreground holder for locks on a server: what cli/holder.ts is for the
// lock directory. It keeps the lock's lease alive for its owner after
// `waitlock DESCRIPTOR` has returned, and lets go (revoking the lease) when
// the owner exits or when it gets SIGTERM/SIGINT/SIGHUP. If the lease is lost
// (the server unreachable for too long), it sends the owner the lost signal
// (SIGTERM unless --lost-signal says otherwise) before the lease can expire,
// and exits.
//
// usage: lease-holder.cjs, with a JSON HandOff on stdin; says "ready" on fd 3.
import * as fs from "node:fs";
import { spawn } from "node:child_process";
import { parseBackendUrl, type EtcdTarget } from "../adapters/backend-url.ts";
import { EtcdClient } from "../adapters/etcd/client.ts";
import { KeptLease } from "../adapters/etcd/lease.ts";
import { EtcdLocks, type HolderInfo } from "../adapters/etcd/locks.ts";
import { nodeNetwork } from "../adapters/node/network.ts";
import { startTimeFrom } from "../adapters/proc.ts";

const READY_FD = 3;
const OWNER_CHECK_MS = 100;

/** What waitlock hands the lease holder (on stdin: the URL may carry a password). */
export interface HandOff {
  backend: string;
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
  /** The grant's revision (its fence): --done requests from then on are for this holder. */
  fence: string;
  /** The record kept with the grant, as --done answers carry it. */
  info: HolderInfo;
  syslog?: { facility: string; target: unknown };
  acquiredAt: number;
}

const monoMs = () => Number(process.hrtime.bigint() / 1000n) / 1000;
const h = JSON.parse(fs.readFileSync(0, "utf8")) as HandOff;

function startTime(pid: number): number | undefined {
  try {
    return startTimeFrom(fs.readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return undefined;
  }
}

function log(severity: "info" | "err", text: string): void {
  if (!h.syslog) return;
  try {
    const script = new URL("./syslog-event.cjs", import.meta.url).pathname;
    spawn(process.execPath, [script, JSON.stringify({ ...h.syslog, pid: process.pid, severity, text })], { detached: true, stdio: "ignore" }).unref();
  } catch {
    // logging must never keep a lock
  }
}

const target = parseBackendUrl(h.backend, (n) => process.env[n]) as EtcdTarget;
const client = EtcdClient.connect(target, nodeNetwork);
const lease = KeptLease.adopt(client, h.leaseId, h.ttlSeconds, h.certainUntilMono - monoMs());
let ending = false;

async function release(): Promise<never> {
  if (!ending) {
    ending = true;
    await lease.revoke().catch(() => undefined); // unreachable: it expires by itself
    log("info", `released ${h.what} (held for ${((Date.now() - h.acquiredAt) / 1000).toFixed(3)} s)`);
  }
  process.exit(0);
}

lease.lost.addEventListener("abort", () => {
  ending = true;
  const why = String((lease.lost.reason as Error)?.message ?? "lock lost");
  log("err", `lost ${h.what}: ${why}`);
  if (h.lostSignal !== "none") {
    try {
      process.kill(h.ownerPid, h.lostSignal);
    } catch {
      // the owner is gone already
    }
  }
  process.exit(7);
});
for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(s, () => void release());
// --done from any host: this process keeps the lease, so it is the one to let go.
const stopDone = new AbortController();
lease.lost.addEventListener("abort", () => stopDone.abort(), { once: true });
new EtcdLocks(client, target.prefix).followDone(h.descriptor, h.leaseId, { ...h.info, pid: process.pid }, BigInt(h.fence), stopDone.signal, (signal) => {
  try {
    process.kill(process.pid, signal);
  } catch {
    void release();
  }
});
const ownerAlive = () => startTime(h.ownerPid) === h.ownerStart;
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
