// Exec mode: run a command while holding the lock, pass its fate through.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import type { Lock } from "../adapters/api.ts";
import { signalExit } from "../adapters/errors.ts";
import { GroupSignalWitness, processGroup } from "./group-signals.ts";

/** Signals passed on to the command, as the README's exec mode lists them. */
export const FORWARDED_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

/** Exit status when the lock was lost while the command ran (ELOST). */
export const LOST_STATUS = 7;
/** util-linux's setpriv: makes the command die with waitlock (PR_SET_PDEATHSIG). */
const SETPRIV = "/usr/bin/setpriv";

/**
 * diesWithWaitlock wraps argv so that it is SIGKILLed if waitlock dies. A lease
 * lives only while waitlock renews it: a command left running after waitlock
 * is killed would run on after the lease ran out, beside the next holder.
 * (Files need no such care: the command inherits the kernel lock itself.)
 */
function diesWithWaitlock(argv: string[]): string[] {
  return existsSync(SETPRIV) ? [SETPRIV, "--pdeathsig", "KILL", "--", ...argv] : argv;
}
/** How long the command runs before the witness of group signals (group-signals.ts) joins. */
const WITNESS_AFTER_MS = 10;

export interface ExecResult {
  status: number;
  /** Set when the command could not be started (status 126 or 127). */
  error?: string;
}

/**
 * The starter waits, as a shell, for the line that says the lock is granted
 * (its environment: WAITLOCK_SLOT=… WAITLOCK_DESCRIPTOR=… WAITLOCK_FENCE=…, all
 * of characters a shell takes as they are) and then becomes the command. It
 * never runs the command without that line: waitlock giving up, exiting or
 * dying closes the pipe, and the starter exits 0 having done nothing.
 */
const STARTER_SCRIPT = 'IFS= read -r granted <&3 || exit 0; [ -n "$granted" ] || exit 0; exec 3<&-; eval "export $granted"; exec "$@"';

/**
 * A command's process, made while the lock is awaited so that the fork and the
 * shell's start-up are not paid after the grant: a hand-over is then a pipe
 * write and an exec. Only where the hold is not made of inherited files (a
 * server's lease: the files a lock directory hands over exist only once it is
 * granted).
 */
export class Starter {
  readonly #child: ReturnType<typeof spawn>;
  /**
   * The group-signal witness, started with the starter for the same reason:
   * its fork would otherwise land while the command starts.
   */
  #witness: GroupSignalWitness | undefined;

  constructor(command: string[]) {
    const argv = ["/bin/sh", "-c", STARTER_SCRIPT, "waitlock", ...argvFor(command)];
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of ["WAITLOCK_SLOT", "WAITLOCK_DESCRIPTOR", "WAITLOCK_FENCE"]) delete env[name]; // set on grant
    const [run, ...args] = diesWithWaitlock(argv);
    this.#child = spawn(run, args, { stdio: ["inherit", "inherit", "inherit", "pipe"], env });
    this.#child.on("error", () => undefined); // no shell: runHolding spawns the command itself
    (this.#child.stdio[3] as NodeJS.WritableStream).on("error", () => undefined);
    this.#witness = new GroupSignalWitness(FORWARDED_SIGNALS);
  }

  /** The witness, for the command go() started (then only signals from now on count). */
  takeWitness(): GroupSignalWitness | undefined {
    const w = this.#witness;
    this.#witness = undefined;
    w?.fresh();
    return w;
  }

  /** go hands the grant to a starter still waiting for it and returns its process, or undefined. */
  go(lock: Lock): ReturnType<typeof spawn> | undefined {
    const child = this.#child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null || lock.fds.length > 0) {
      this.cancel();
      return undefined;
    }
    const vars = { WAITLOCK_SLOT: String(lock.slot), WAITLOCK_DESCRIPTOR: lock.descriptor, WAITLOCK_FENCE: lock.fence === undefined ? "" : String(lock.fence) };
    const pipe = child.stdio[3] as NodeJS.WritableStream;
    pipe.end(`${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(" ")}\n`);
    return child;
  }

  /** cancel lets the starter go without running anything. */
  cancel(): void {
    (this.#child.stdio[3] as NodeJS.WritableStream | null)?.end();
    this.#witness?.stop();
    this.#witness = undefined;
  }
}

/** argvFor runs a single argument containing whitespace through /bin/sh -c, as documented. */
export function argvFor(command: string[]): string[] {
  return command.length === 1 && /\s/.test(command[0]) ? ["/bin/sh", "-c", command[0]] : command;
}

/**
 * spawnHolding starts the command itself (no starter, or one that could not
 * take the grant). The environment is copied and setpriv looked for only
 * here: a starter's hand-over is a pipe write, and each step before it is
 * paid between the grant and the command's start.
 */
function spawnHolding(lock: Lock, argv: string[]): ReturnType<typeof spawn> {
  const [run, ...args] = lock.lease ? diesWithWaitlock(argv) : argv;
  const env: NodeJS.ProcessEnv = { ...process.env, WAITLOCK_SLOT: String(lock.slot), WAITLOCK_DESCRIPTOR: lock.descriptor };
  if (lock.fence !== undefined) env.WAITLOCK_FENCE = String(lock.fence);
  else delete env.WAITLOCK_FENCE; // an outer lock's token must not pass for this one's
  return spawn(run, args, { stdio: ["inherit", "inherit", "inherit", ...lock.fds], env });
}

/**
 * runHolding runs command with WAITLOCK_SLOT and WAITLOCK_DESCRIPTOR set, and
 * releases the lock the moment it exits. The locked files are passed to the
 * child from fd 3 on, so the lock stays held while the command runs even if
 * this process is killed with SIGKILL.
 */
export function runHolding(
  lock: Lock, command: string[], onStart: (pid: number) => void,
  onSignal: (signal: NodeJS.Signals, passedOn: boolean) => void = () => undefined,
  starter?: Starter,
): Promise<ExecResult> {
  const argv = argvFor(command);
  const [file] = argv;
  // Listen before spawning: a signal that lands between the spawn and a later
  // listener would meet the default disposition and kill waitlock, orphaning the
  // command. One that arrives before the child exists is passed on right after.
  // Once it runs, the command (in waitlock's process group) gets a signal sent
  // to the group by itself: only one sent to waitlock alone is passed on (see
  // group-signals.ts for how they are told apart).
  let child: ReturnType<typeof spawn> | undefined;
  let witness: GroupSignalWitness | undefined;
  const early: NodeJS.Signals[] = [];
  const reachedCommand = (s: NodeJS.Signals, pid: number) =>
    !!witness?.sentToGroup(s) && processGroup(pid) === processGroup(process.pid);
  const forward = (s: NodeJS.Signals) => {
    if (!child) early.push(s);
    else if (child.pid !== undefined && reachedCommand(s, child.pid)) onSignal(s, false);
    else {
      child.kill(s);
      onSignal(s, true);
    }
  };
  const handlers = FORWARDED_SIGNALS.map((s) => [s, () => forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  child = starter?.go(lock);
  if (child) witness = starter!.takeWitness();
  else child = spawnHolding(lock, argv);
  for (const s of early) child.kill(s);
  // The witness joins after the command: a signal raised before the command
  // existed did not reach it and must be passed on, and the witness sees only
  // signals raised after it joined. It costs a fork (a few ms), which a command
  // that is over in a moment (`--exec true`) is spared; a signal to the group in
  // that moment is passed on anyway, as without a witness. A starter brings
  // its own, forked while waiting and made fresh as the command starts.
  let witnessTimer: ReturnType<typeof setTimeout> | undefined;
  if (child.pid !== undefined) {
    if (!witness) {
      witnessTimer = setTimeout(() => (witness = new GroupSignalWitness(FORWARDED_SIGNALS)), WITNESS_AFTER_MS);
      witnessTimer.unref();
    }
    onStart(child.pid);
  }
  const started = child;
  return new Promise((resolve) => {
    // Lost lock: stop the command while the lease is still certainly ours
    // (SIGTERM, then SIGKILL after the lease's grace), and report exit 7.
    let lost: string | undefined;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const onLost = () => {
      lost = String((lock.signal.reason as Error)?.message ?? "lock lost");
      started.kill("SIGTERM");
      killTimer = setTimeout(() => started.kill("SIGKILL"), lock.lease?.graceMs ?? 0);
    };
    if (lock.signal.aborted) onLost();
    else lock.signal.addEventListener("abort", onLost, { once: true });
    const done = (r: ExecResult) => {
      for (const [s, h] of handlers) process.off(s, h);
      lock.signal.removeEventListener("abort", onLost);
      clearTimeout(killTimer);
      clearTimeout(witnessTimer);
      witness?.stop();
      resolve(lost ? { status: LOST_STATUS, error: `${lost}; the command was stopped` } : r);
    };
    started.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") done({ status: 127, error: `${file}: command not found` });
      else if (err.code === "EACCES" || err.code === "ENOEXEC" || err.code === "EISDIR") done({ status: 126, error: `${file}: not executable (${err.code})` });
      else done({ status: 126, error: `${file}: cannot run (${err.code ?? err.message})` });
    });
    started.once("exit", (code, signal) => {
      // Let go before tidying up: on a server the next holder is waiting for
      // this hand-over, and the caller's own release() joins this one. The
      // tidying (stopping the witness is a kill) waits until the release has
      // gone as far as it can this turn: release() starts a microtask later,
      // so done() run here would come first.
      void lock.release().catch(() => undefined);
      setImmediate(() => done(signal ? { status: signalExit(constants.signals[signal] ?? 0) } : { status: code ?? 0 }));
    });
  });
}
