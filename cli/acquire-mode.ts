// The main command's modes that take the lock: foreground (hand it to a
// holder process bound to the caller) and --exec (run a command holding it).
// Signals to waitlock itself, until the lock is passed on, are cli/interrupts.ts's.
import { writeSync } from "node:fs";
import type { Lock } from "../adapters/api.ts";
import { WaitlockError } from "../adapters/errors.ts";
import { commandLineOf } from "../adapters/node/ancestry.ts";
import { waitlock as wl } from "../adapters/node/index.ts";
import type { LockRecord } from "../adapters/wasm-core.ts";
import { callerOwner } from "./caller-owner.ts";
import type { Owner } from "./foreground.ts";
import { Interrupts } from "./interrupts.ts";
import type { Invocation } from "./invocation.ts";
import type { ModeContext } from "./mode-context.ts";

/** How long a busy or timed-out acquire waits to name the holder in its message (a paused server must not delay the exit). */
const HOLDER_LOOKUP_MS = 300;

/** acquireMode waits for the lock as inv says, then holds it in the foreground or runs the command. */
export async function acquireMode(inv: Invocation, ctx: ModeContext): Promise<number> {
  const foreground = inv.mode === "acquire";
  const owner = foreground ? inv.owner ?? callerOwner(inv.descriptor, (m) => ctx.trace(m)) : wl.platform.pid;
  const ownerStart = wl.platform.processStartTime(owner);
  if (ownerStart === undefined) {
    throw inv.owner !== undefined
      ? new WaitlockError("EUSAGE", `owner PID ${owner} is not running`)
      : new WaitlockError("ESYSTEM", `the calling process (PID ${owner}) exited before waitlock could take ${inv.descriptor} for it; nothing taken`);
  }

  // A command will be run: load exec mode now, while the lock is awaited, not
  // after it is granted (a hand-over is that much shorter). On a server, start
  // the command's process too (exec.ts Starter): it runs nothing until granted.
  if (inv.mode === "exec" && inv.timeoutMs > 0) {
    const loading = import("./exec.ts");
    if (inv.network) ctx.starter = new (await loading).Starter(inv.command);
    else void loading.catch(() => undefined);
  }

  const interrupts = new Interrupts();
  try {
    const stopStatus = inv.timeoutMs > 0 && !inv.quiet && process.stderr.isTTY
      ? (await import("./status-line.ts")).showWaiting(wl, inv.descriptor, inv.where, inv.timeoutMs, process.stderr) : () => undefined;
    if (inv.syslog) {
      const { EventLog } = await import("./syslog.ts");
      ctx.events = new EventLog({ facility: inv.facility, target: inv.syslogTarget, quiet: inv.quiet });
    }
    const events = ctx.events;
    ctx.trace(`acquiring ${inv.descriptor} (${inv.maxHolders > 1 ? `${inv.maxHolders} slots` : inv.shared ? "shared" : "mutex"}, timeout ${inv.timeoutMs / 1000} s)`);
    // What listings and syslog show as the holder's command: the owner's, in foreground mode.
    const command = foreground ? commandOf(owner) : inv.command.join(" ");
    let lock;
    try {
      lock = await wl.acquire(inv.descriptor, {
        ...inv.where, lease: inv.leaseSeconds, maxHolders: inv.maxHolders, preferredSlot: inv.preferredSlot, shared: inv.shared,
        timeout: inv.timeoutMs, signal: interrupts.signal, owner: foreground ? owner : undefined,
        command,
      });
    } catch (err) {
      interrupts.pass();
      const interrupted = interrupts.exitCode();
      if (interrupted !== undefined) return interrupted;
      // The library refuses an owner that is not running as a caller's mistake; this
      // one was running when checked above, so its end since is a race, not a usage error.
      if (err instanceof WaitlockError && err.code === "EUSAGE" && owner !== wl.platform.pid && wl.platform.processStartTime(owner) !== ownerStart) {
        throw new WaitlockError("ESYSTEM", `owner PID ${owner} exited before waitlock could take ${inv.descriptor} for it; nothing taken`);
      }
      if (err instanceof WaitlockError && (err.code === "EBUSY" || err.code === "ETIMEDOUT")) {
        const h = await holderOf(inv);
        const by = h ? ` (held by PID ${h.holderPid}: ${h.command.slice(0, 200)})` : "";
        if (err.code === "ETIMEDOUT") events?.warning(`timeout waiting for ${inv.descriptor} after ${inv.timeoutMs / 1000} s${by}`);
        else events?.warning(`conflict on ${inv.descriptor}${by}`);
        // text.ts (and string-width with it) is loaded only on this path, not on every start.
        const holderText = h && (await holderTextOf(h));
        if (err.code === "EBUSY") throw new WaitlockError("EBUSY", busyMessage(inv, holderText));
        if (holderText) throw new WaitlockError("ETIMEDOUT", `${err.message}; ${inv.maxHolders > 1 ? `all ${inv.maxHolders} slots held, one` : "held"} by ${holderText}`);
      }
      throw err;
    } finally {
      stopStatus();
    }
    return await hold(inv, lock, foreground, { pid: owner, start: ownerStart }, command, interrupts, ctx);
  } finally {
    interrupts.pass();
  }
}

/**
 * hold does what was asked with an acquired lock: hand it to the foreground
 * holder, or run the command. A signal caught since the wait began cancels
 * that: the lock is released and nothing is started.
 */
async function hold(inv: Invocation, lock: Lock, foreground: boolean, owner: Owner, command: string, interrupts: Interrupts, ctx: ModeContext): Promise<number> {
  const events = ctx.events;
  ctx.trace(`acquired ${inv.descriptor} slot ${lock.slot} in ${lock.location}${lock.fence !== undefined ? ` (fence ${lock.fence})` : ""}`);
  if (inv.printSlot && !printSlot(lock.slot)) {
    await lock.release(); // nobody can learn which slot is held: do not hold it
    throw new WaitlockError("ESYSTEM", "cannot print the slot: standard output is closed; released");
  }
  const acquiredAt = Date.now();
  const what = `${inv.descriptor} slot ${lock.slot}`;
  events?.info(`acquired ${what} (command: ${command.slice(0, 200)})`);
  if (lock.tookOver !== undefined) {
    const left = lock.tookOver ? `left by PID ${lock.tookOver.holderPid}: ${lock.tookOver.command.slice(0, 200)}` : "unreadable record";
    events?.info(`stale lock ${what} taken over (${left})`);
    ctx.trace(`took over a stale lock file (${left})`);
  }

  // foreground.ts and exec.ts are loaded only here, so --check, --done and
  // --list never load child_process.
  if (foreground) {
    const { handOver } = await import("./foreground.ts");
    const cancelled = interrupts.exitCode();
    if (cancelled !== undefined) {
      await lock.release();
      return cancelled;
    }
    const releaseEvent = inv.syslog
      ? { facility: inv.facility, target: inv.syslogTarget, what, acquiredAt }
      : undefined;
    const network = lock.lease && inv.where.backend !== undefined
      ? {
        backend: inv.where.backend, ttlSeconds: lock.lease.ttlMs / 1000, lostSignal: inv.lostSignal,
        info: { host: wl.platform.hostname(), uid: wl.platform.uid(), pid: 0, ownerPid: owner.pid, ownerStart: owner.start, command },
      }
      : undefined;
    const pid = await handOver(lock, owner, releaseEvent, network, inv.lostSignal);
    ctx.trace(`holder PID ${pid} keeps ${inv.descriptor} until PID ${owner.pid} exits`);
    return 0; // exit without releasing: the holder has the lock now
  }
  try {
    const { runHolding } = await import("./exec.ts");
    const cancelled = interrupts.exitCode();
    if (cancelled !== undefined) return cancelled; // released below
    const starter = ctx.starter;
    ctx.starter = undefined;
    const result = await runHolding(lock, inv.command, (pid) => {
      interrupts.pass(); // runHolding forwards signals from here on
      ctx.trace(`running ${inv.command.join(" ")} as PID ${pid}`);
    }, (signal, passedOn) => ctx.trace(passedOn ? `passed ${signal} on to the command` : `${signal} was sent to the process group: the command has it already`), starter);
    if (result.error && !ctx.quiet) process.stderr.write(`waitlock: ${result.error}\n`);
    if (lock.signal.aborted) events?.error(`lost ${what}: ${String((lock.signal.reason as Error)?.message ?? "")}`);
    ctx.trace(`command exited with status ${result.status}`);
    return result.status;
  } finally {
    await lock.release();
    events?.info(`released ${what} (held for ${((Date.now() - acquiredAt) / 1000).toFixed(3)} s)`);
    ctx.trace(`released ${inv.descriptor}`);
  }
}

/**
 * holderOf returns the record of one current holder of the descriptor, if
 * any can be read soon: it only decorates a message, so a server that does
 * not answer must not delay the exit (a --timeout is kept to the second).
 */
async function holderOf(inv: Invocation): Promise<LockRecord | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const giveUp = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), HOLDER_LOOKUP_MS)));
    const listed = wl.list({ descriptor: inv.descriptor, ...inv.where }).then((l) => l.find((e) => e.record)?.record);
    return await Promise.race([listed, giveUp]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** printSlot writes the slot to stdout synchronously; false if stdout is closed (EPIPE, EBADF). */
function printSlot(slot: number): boolean {
  try {
    writeSync(1, `${slot}\n`);
    return true;
  } catch {
    return false;
  }
}

/** The holder as messages name it: its PID and its command, cut to 60 columns. */
async function holderTextOf(h: LockRecord): Promise<string> {
  const { cut, printable } = await import("./text.ts");
  return `PID ${h.holderPid} (${cut(printable(h.command), 60)})`;
}

function busyMessage(inv: Invocation, holder: string | undefined): string {
  const what = inv.maxHolders > 1 ? `all ${inv.maxHolders} slots of ${inv.descriptor} are held` : `${inv.descriptor} is held`;
  return holder ? `${what} by ${holder}; another instance is already running` : `${what}; another instance is already running`;
}

/** commandOf names the owner in listings: its command line, else its PID. */
function commandOf(pid: number): string {
  return commandLineOf(pid) ?? `pid ${pid}`;
}
