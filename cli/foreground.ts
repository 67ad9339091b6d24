// Foreground mode: hand the held lock to a small detached holder process bound
// to the owner, so `waitlock NAME || exit 1` returns and the script keeps the lock.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Lock } from "../adapters/api.ts";
import { WaitlockError } from "../adapters/errors.ts";
import type { HandOff, LeaseHolderStart } from "./lease-holder.ts";
import type { SyslogTarget } from "./syslog-target.ts";
import type { HeldEvents } from "./record-event.ts";

const HOLDER = fileURLToPath(new URL("./holder.cjs", import.meta.url));
const LEASE_HOLDER = fileURLToPath(new URL("./lease-holder.cjs", import.meta.url));
// The holder only waits: a small heap and no JIT keep its memory low.
const HOLDER_NODE_FLAGS = ["--max-old-space-size=16", "--max-semi-space-size=1", "--jitless"];

export interface Owner {
  pid: number;
  start: number;
}

/** What the holder logs to syslog when it lets go (see cli/syslog-event.ts). */
export interface ReleaseEvent {
  facility: string;
  target: SyslogTarget;
  /** "DESCRIPTOR slot N" */
  what: string;
  acquiredAt: number;
}

/** How a lock on a server is handed over: where it lives, and what to do to the owner if it is lost. */
export interface NetworkHandOff {
  backend: string;
  ttlSeconds: number;
  lostSignal: string;
  /** The record kept with the grant (the holder answers --done with it). */
  info: HandOff["info"];
}

/** heldEvents: where the holder records the hold's release for metrics (docs/METRICS.md), where this process would have. */
function heldEvents(lock: Lock): HeldEvents | undefined {
  return lock.events && { file: lock.events.sink.file, descriptor: lock.descriptor, acquiredAt: lock.events.acquiredAt };
}

/**
 * spawnHolder starts the holder that fits the lock: inherited files, or a
 * lease to keep alive. The lease holder is told where the lock lives first;
 * once it has loaded its client and connected (it says "warm"), onWarm sends
 * it the lease, with this process's judgement of how long the lease is
 * certainly alive taken at that moment, not before the holder even started
 * (a short lease could run out of certainty during its start-up alone).
 * lostSignal is what the lock directory's holder sends the owner when the
 * lock is taken from it (the lease holder has network.lostSignal).
 */
function spawnHolder(lock: Lock, owner: Owner, releaseEvent: ReleaseEvent | undefined, network: NetworkHandOff | undefined, lostSignal: string) {
  const detached = true; // its own session: a terminal's Ctrl-C to the script's group does not reach it
  const lease = lock.lease;
  if (lease && network) {
    const child = spawn(process.execPath, [LEASE_HOLDER], { detached, stdio: ["pipe", "ignore", "ignore", "pipe"] });
    child.stdin!.on("error", () => undefined); // a holder that died at once shows as "did not start"
    const start: LeaseHolderStart = { backend: network.backend };
    child.stdin!.write(`${JSON.stringify(start)}\n`);
    const onWarm = () => {
      const monoMs = Number(process.hrtime.bigint() / 1000n) / 1000;
      const handOff: HandOff = {
        leaseId: lease.id, ttlSeconds: network.ttlSeconds,
        certainUntilMono: monoMs + lease.certainForMs(), ownerPid: owner.pid, ownerStart: owner.start,
        lostSignal: network.lostSignal, what: releaseEvent?.what ?? `${lock.descriptor} slot ${lock.slot}`,
        descriptor: lock.descriptor, slot: lock.slot, fence: String(lock.fence ?? 0n), info: network.info,
        syslog: releaseEvent && { facility: releaseEvent.facility, target: releaseEvent.target },
        acquiredAt: releaseEvent?.acquiredAt ?? Date.now(),
        events: heldEvents(lock),
      };
      child.stdin!.end(`${JSON.stringify(handOff)}\n`);
    };
    return { child, onWarm };
  }
  const fds = lock.fds;
  const args = [...HOLDER_NODE_FLAGS, HOLDER, String(owner.pid), String(owner.start), lock.recordPath!, String(fds.length), lostSignal];
  // The holder records the release for metrics (docs/METRICS.md) where this process would have.
  const events = heldEvents(lock);
  if (releaseEvent || events) args.push(releaseEvent ? JSON.stringify(releaseEvent) : "");
  if (events) args.push(JSON.stringify(events));
  return { child: spawn(process.execPath, args, { detached, stdio: ["ignore", "ignore", "ignore", "pipe", ...fds] }), onWarm: () => undefined };
}

/**
 * handOver starts the holder and returns its PID once it holds the lock.
 * lostSignal (or "none") is sent to the owner if the lock is taken from it.
 */
export async function handOver(lock: Lock, owner: Owner, releaseEvent?: ReleaseEvent, network?: NetworkHandOff, lostSignal = "SIGTERM"): Promise<number> {
  const { child, onWarm } = spawnHolder(lock, owner, releaseEvent, network, network?.lostSignal ?? lostSignal);
  const answer = await new Promise<string>((resolve) => {
    let text = "";
    const pipe = child.stdio[3]!;
    pipe.on("data", (d) => {
      text += d;
      if (text.startsWith("warm\n")) {
        text = text.slice(5);
        onWarm();
      }
    });
    pipe.on("end", () => resolve(text));
    pipe.on("error", () => resolve(""));
    child.once("error", () => resolve(""));
  });
  if (answer.startsWith("owner-gone")) {
    await lock.release(); // (the holder has let go already)
    throw new WaitlockError("ESYSTEM", `owner PID ${owner.pid} exited before waitlock could hand ${lock.descriptor} over to it; released`);
  }
  const ready = answer.startsWith("ready");
  if (!ready || child.pid === undefined) {
    child.kill("SIGKILL");
    throw new WaitlockError("ESYSTEM", "the foreground holder process did not start; try --exec instead");
  }
  await lock.updateRecord({ holderPid: child.pid, ownerPid: owner.pid, ownerStart: owner.start });
  child.unref();
  return child.pid;
}
