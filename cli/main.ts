// The main command's behaviour: waitlock [options] DESCRIPTOR [--exec CMD...],
// --check, --done, --list. It maps flags to the library and errors to exit
// codes, nothing more. It parses with oclif's parser alone, so the common paths
// (acquire, exec, check, done) start without loading oclif's plugin machinery;
// help and plugin commands go through the full oclif CLI (cli/run.ts).
import { parse } from "@oclif/core/parser";
import { lstatSync, writeSync } from "node:fs";
import { constants } from "node:os";
import { waitlock as wl } from "../adapters/node/index.ts";
import { WaitlockError, EXIT_CODES, signalExit } from "../adapters/errors.ts";
import { isUsageError } from "./command-errors.ts";
import type { LockRecord } from "../adapters/wasm-core.ts";
import { flagProblem } from "./flag-errors.ts";
import { buildInvocation, isDebugEnv, type Invocation } from "./invocation.ts";
import { MODE_FLAGS, mainFlags, type MainFlags } from "./options.ts";
import { readFirstLine } from "./stdin-line.ts";
import { chooseOwner } from "../adapters/proc.ts";
import { commandLineOf, readAncestry } from "../adapters/node/ancestry.ts";
import type { Owner } from "./foreground.ts";
import type { Lock } from "../adapters/api.ts";
import type { EventLog } from "./syslog.ts";

/**
 * splitExec separates waitlock's own arguments from the command after -e/--exec.
 * "--" makes the next word the descriptor even if it looks like an option or a
 * command name (`waitlock -- doctor --exec ./check.sh`).
 */
export function splitExec(argv: string[]): { own: string[]; command?: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      i++; // the descriptor
      continue;
    }
    if (a === "-e" || a === "--exec") return { own: argv.slice(0, i), command: argv.slice(i + 1) };
    if (a.startsWith("--exec=")) return { own: argv.slice(0, i), command: [a.slice(7), ...argv.slice(i + 1)] };
  }
  return { own: argv };
}

/** MainRun runs one invocation of the main command and returns its exit code. */
export class MainRun {
  readonly #version: () => string;
  #verbose = isDebugEnv((n) => process.env[n]);
  #quiet = false;
  #events?: EventLog;
  /** The command's process, made while waiting (exec mode on a server); cancelled unless used. */
  #starter?: import("./exec.ts").Starter;

  /** version is asked for only by -V, so the common paths read nothing for it. */
  constructor(version: () => string) {
    this.#version = version;
  }

  async main(argv: string[]): Promise<number> {
    const { own, command } = splitExec(argv);
    if (own.includes("-V") || own.includes("--version")) {
      process.stdout.write(`waitlock ${this.#version()}\n`);
      return 0;
    }
    let inv: Invocation;
    try {
      // The command is split off first (it may hold anything); --exec goes back
      // in front, where no "--" can hide it, for the table's relations to see it.
      const mine = command === undefined ? own : ["--exec", ...own];
      const { flags, argv: rest } = await parse<MainFlags, object, object>(mine, { flags: mainFlags, strict: false, "--": true });
      this.#quiet = !!flags.quiet;
      this.#verbose ||= !!flags.verbose;
      if (rest.length > 1) throw new WaitlockError("EUSAGE", `unexpected argument ${JSON.stringify(rest[1])} (one DESCRIPTOR; put the command after --exec)`);
      const positional = rest[0] as string | undefined;
      const descriptor = positional ?? (flags.list ? undefined : readFirstLine(0));
      inv = buildInvocation(wl, flags, descriptor, command);
    } catch (err) {
      return this.#fail(parseFailure(err));
    }
    try {
      switch (inv.mode) {
        case "list":
          return await this.#list(inv);
        case "check":
          return await this.#check(inv);
        case "done":
          return await this.#done(inv);
        default:
          return await this.#acquire(inv);
      }
    } catch (err) {
      return this.#fail(err);
    } finally {
      await this.#events?.flush();
      this.#starter?.cancel(); // not granted (busy, timed out, interrupted): it runs nothing
      wl.close(); // idle keep-alive connections to a server would hold the process
    }
  }

  #trace(message: string): void {
    if (this.#verbose) process.stderr.write(`waitlock: ${message}\n`);
  }

  #fail(err: unknown): number {
    const e = err instanceof WaitlockError ? err : new WaitlockError("ESYSTEM", `internal error: ${(err as Error)?.message ?? err}`);
    if (!this.#quiet) process.stderr.write(`waitlock: ${e.message}\n`);
    if (this.#verbose && !(err instanceof WaitlockError)) process.stderr.write(`${(err as Error)?.stack}\n`);
    return EXIT_CODES[e.code];
  }

  async #list(inv: Invocation): Promise<number> {
    if (inv.format === "prometheus" || inv.format === "openmetrics") {
      const { MetricsSource, eventsDirOf } = await import("./metrics-source.ts");
      process.stdout.write(await new MetricsSource(wl, inv.where, eventsDirOf(wl, inv.where)).render(inv.format));
      return 0;
    }
    const { render, toRows } = await import("./listing.ts");
    const { userName } = await import("./users.ts");
    const rows = async () => toRows(await wl.list({ ...inv.where, all: inv.all, staleOnly: inv.staleOnly }), Date.now(), userName);
    const view = { format: inv.format, showStatus: inv.all || inv.staleOnly };
    if (!inv.watch) {
      process.stdout.write(render(await rows(), view.format, view.showStatus));
      return 0;
    }
    const { watchListing } = await import("./watch.ts");
    return watchListing(wl.backend(inv.where), rows, view, process.stdout);
  }

  async #check(inv: Invocation): Promise<number> {
    const free = await wl.check(inv.descriptor, { ...inv.where, maxHolders: inv.maxHolders, shared: inv.shared });
    this.#trace(`${inv.descriptor} is ${free ? "free" : "busy"}`);
    return free ? 0 : 1;
  }

  /**
   * done ends every holder of the descriptor. A foreground holder ended so
   * sends its owner --lost-signal (cli/holder.ts), except the caller's own:
   * a script that says `waitlock --done NAME` for the lock it took lets go of
   * it and carries on.
   */
  async #done(inv: Invocation): Promise<number> {
    const own = inv.network ? [] : await this.#letGoOfOwn(inv);
    const pids = await wl.signalHolders(inv.descriptor, "SIGTERM", inv.where);
    if (pids.length === 0 && own.length === 0) {
      if (!this.#quiet) process.stderr.write(`waitlock: nothing holds ${inv.descriptor}\n`);
      return 1;
    }
    if (pids.length > 0) this.#trace(`sent SIGTERM to ${pids.join(", ")}`);
    return 0;
  }

  /**
   * letGoOfOwn ends, quietly (SIGUSR2), the foreground holders of the
   * descriptor whose owner is the caller of this --done, and waits until they
   * have let go; it returns their PIDs. The record says who the owner is, but
   * a record can be forged: the PID it names is signalled only if the kernel
   * says that process holds the slot file's lock.
   */
  async #letGoOfOwn(inv: Invocation): Promise<number[]> {
    let caller: number;
    try {
      caller = this.#callerOwner(inv.descriptor);
    } catch {
      return []; // no caller to tell by (an adopted waitlock, a wrapper's vanished caller)
    }
    const callerStart = wl.platform.processStartTime(caller);
    const ended: number[] = [];
    for (const e of await wl.list({ descriptor: inv.descriptor, ...inv.where })) {
      const r = e.record;
      if (!r || e.status !== "active" || r.ownerPid !== caller || r.ownerStart !== callerStart || r.holderPid === r.ownerPid) continue;
      const id = lstatSync(e.location, { bigint: true, throwIfNoEntry: false });
      if (!id || wl.platform.holdsLock(r.holderPid, { dev: id.dev, ino: id.ino }) !== "holds") continue;
      try {
        wl.platform.kill(r.holderPid, "SIGUSR2");
        ended.push(r.holderPid);
      } catch {
        // exited meanwhile
      }
    }
    // Until they are gone, signalHolders would find them still holding, and end them as another's.
    const until = Date.now() + 5000;
    while (ended.some((pid) => wl.platform.processStartTime(pid) !== undefined) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    if (ended.length > 0) this.#trace(`let go of the caller's own hold (holder PID ${ended.join(", ")})`);
    return ended;
  }

  async #acquire(inv: Invocation): Promise<number> {
    const foreground = inv.mode === "acquire";
    const owner = foreground ? inv.owner ?? this.#callerOwner(inv.descriptor) : wl.platform.pid;
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
      if (inv.network) this.#starter = new (await loading).Starter(inv.command);
      else void loading.catch(() => undefined);
    }

    // Ctrl-C or SIGTERM while waiting: stop waiting, hold nothing, exit 128+N.
    const abort = new AbortController();
    let caught: NodeJS.Signals | undefined;
    const onSignal = (s: NodeJS.Signals) => {
      caught = s;
      abort.abort();
    };
    const waitSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
    for (const s of waitSignals) process.on(s, onSignal);
    // These listeners stay until the next phase has its own: with none, a signal
    // meets the default disposition and kills waitlock half-way (say, with the
    // command started and nobody left to forward to it or release after it).
    const stopWaitSignals = () => {
      for (const s of waitSignals) process.off(s, onSignal);
    };
    const stopStatus = inv.timeoutMs > 0 && !inv.quiet && process.stderr.isTTY
      ? (await import("./status-line.ts")).showWaiting(wl, inv.descriptor, inv.where, inv.timeoutMs, process.stderr) : () => undefined;
    if (inv.syslog) {
      const { EventLog } = await import("./syslog.ts");
      this.#events = new EventLog({ facility: inv.facility, target: inv.syslogTarget, quiet: inv.quiet });
    }
    const events = this.#events;
    this.#trace(`acquiring ${inv.descriptor} (${inv.maxHolders > 1 ? `${inv.maxHolders} slots` : inv.shared ? "shared" : "mutex"}, timeout ${inv.timeoutMs / 1000} s)`);
    // What listings and syslog show as the holder's command: the owner's, in foreground mode.
    const command = foreground ? commandOf(owner) : inv.command.join(" ");
    let lock;
    try {
      lock = await wl.acquire(inv.descriptor, {
        ...inv.where, lease: inv.leaseSeconds, maxHolders: inv.maxHolders, preferredSlot: inv.preferredSlot, shared: inv.shared,
        timeout: inv.timeoutMs, signal: abort.signal, owner: foreground ? owner : undefined,
        command,
      });
    } catch (err) {
      stopWaitSignals();
      if (caught) return signalExit(constants.signals[caught]);
      if (err instanceof WaitlockError && (err.code === "EBUSY" || err.code === "ETIMEDOUT")) {
        const h = await this.#holderOf(inv);
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
    try {
      return await this.#hold(inv, lock, foreground, { pid: owner, start: ownerStart }, command, stopWaitSignals, () => caught);
    } finally {
      stopWaitSignals();
    }
  }

  /**
   * hold does what was asked with an acquired lock: hand it to the foreground
   * holder, or run the command. A signal caught since the wait (interrupted)
   * cancels that: the lock is released and nothing is started.
   */
  async #hold(inv: Invocation, lock: Lock, foreground: boolean, owner: Owner, command: string, stopWaitSignals: () => void, interrupted: () => NodeJS.Signals | undefined): Promise<number> {
    const events = this.#events;
    this.#trace(`acquired ${inv.descriptor} slot ${lock.slot} in ${lock.location}${lock.fence !== undefined ? ` (fence ${lock.fence})` : ""}`);
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
      this.#trace(`took over a stale lock file (${left})`);
    }

    // foreground.ts and exec.ts are loaded only here, so --check, --done and
    // --list never load child_process.
    const cancelledBy = () => {
      const signal = interrupted();
      return signal && signalExit(constants.signals[signal]);
    };
    if (foreground) {
      const { handOver } = await import("./foreground.ts");
      const cancelled = cancelledBy();
      if (cancelled) {
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
      this.#trace(`holder PID ${pid} keeps ${inv.descriptor} until PID ${owner.pid} exits`);
      return 0; // exit without releasing: the holder has the lock now
    }
    try {
      const { runHolding } = await import("./exec.ts");
      const cancelled = cancelledBy();
      if (cancelled) return cancelled; // released below
      const starter = this.#starter;
      this.#starter = undefined;
      const result = await runHolding(lock, inv.command, (pid) => {
        stopWaitSignals(); // runHolding forwards signals from here on
        this.#trace(`running ${inv.command.join(" ")} as PID ${pid}`);
      }, (signal, passedOn) => this.#trace(passedOn ? `passed ${signal} on to the command` : `${signal} was sent to the process group: the command has it already`), starter);
      if (result.error && !this.#quiet) process.stderr.write(`waitlock: ${result.error}\n`);
      if (lock.signal.aborted) events?.error(`lost ${what}: ${String((lock.signal.reason as Error)?.message ?? "")}`);
      this.#trace(`command exited with status ${result.status}`);
      return result.status;
    } finally {
      await lock.release();
      events?.info(`released ${what} (held for ${((Date.now() - acquiredAt) / 1000).toFixed(3)} s)`);
      this.#trace(`released ${inv.descriptor}`);
    }
  }

  /**
   * callerOwner finds the process a foreground lock without --owner is bound to:
   * the caller, past wrappers that exit when waitlock does (chooseOwner).
   */
  #callerOwner(descriptor: string): number {
    const parent = wl.platform.ppid;
    const ancestry = readAncestry(parent);
    const choice = ancestry && chooseOwner(ancestry.self, ancestry.ancestors);
    if (!choice) return parent; // no /proc: nothing to tell by
    if ("refused" in choice) {
      // Binding the lock to an adopter (init, a subreaper) would hold it for that
      // process's life: until reboot, for init. Binding it to a wrapper that exits
      // with waitlock would hold nothing.
      // The caller gone before waitlock started is a race, not a mistake; a wrapper whose
      // caller cannot be found is how waitlock was invoked (README: exit 3).
      throw choice.refused === "adopted"
        ? new WaitlockError("ESYSTEM", `the calling process exited before waitlock started (PID ${choice.pid} adopted it); not taking ${descriptor} for nobody (use --owner PID)`)
        : new WaitlockError("EUSAGE", `waitlock runs under ${choice.name} (PID ${choice.pid}), which exits when waitlock does, and the script that started it cannot be found; not taking ${descriptor} (use --owner PID, or --exec)`);
    }
    for (const p of choice.walkedPast) this.#trace(`PID ${p.pid} (${p.argv.join(" ").trim().slice(0, 60)}) exits with waitlock: binding the lock to its caller`);
    return choice.pid;
  }

  /**
   * holderOf returns the record of one current holder of the descriptor, if
   * any can be read soon: it only decorates a message, so a server that does
   * not answer must not delay the exit (a --timeout is kept to the second).
   */
  async #holderOf(inv: Invocation): Promise<LockRecord | undefined> {
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
}

/** How long a busy or timed-out acquire waits to name the holder in its message (a server answers in ms; a paused one must not delay the exit). */
/**
 * parseFailure says what a failure while reading the command line means: the
 * caller's mistake (oclif's parse errors, waitlock's own checks: exit 3), or a
 * bug, which must not pass for one (exit 4, saying so).
 */
export function parseFailure(err: unknown): WaitlockError {
  if (err instanceof WaitlockError) return err;
  const problem = flagProblem(err, mainFlags, MODE_FLAGS);
  if (problem !== undefined) return new WaitlockError("EUSAGE", problem);
  const text = String((err as Error)?.message ?? err).split("\n")[0];
  if (err !== null && typeof err === "object" && isUsageError(err)) return new WaitlockError("EUSAGE", `${text} (see waitlock --help)`);
  return new WaitlockError("ESYSTEM", `internal error while reading the command line (a bug; please report it): ${text}`);
}

const HOLDER_LOOKUP_MS = 300;

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
