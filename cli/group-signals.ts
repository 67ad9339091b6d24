// Exec mode must pass each signal on to the command exactly once, whether it
// was sent to waitlock alone (kill -INT PID, --done) or to the whole process
// group (Ctrl-C on a terminal, kill -INT -PGID, a supervisor signalling every
// process).
//
// The command runs in waitlock's process group so that it stays in the
// terminal's foreground group: it can read the terminal, and Ctrl-C and Ctrl-Z
// reach it as they would without waitlock. (In a group of its own it would be
// stopped by SIGTTIN on its first read of the terminal; Node cannot hand it the
// terminal with tcsetpgrp.) A signal sent to the group therefore reaches the
// command by itself, and forwarding it would deliver it twice; a signal sent
// to waitlock alone reaches only waitlock and must be forwarded. Node does not
// say whom a signal was sent to (no siginfo), and looking for it among the
// command's pending signals is a race: the command may have handled it already.
//
// So a witness joins the group: `cat`, started by `env --block-signal`, which
// blocks these signals. Every signal sent to it stays pending, visible in
// /proc/PID/status, and is never handled. The kernel raises a signal sent to
// a group in every member within the one kill(2) call, while waitlock's
// handler runs only once its event loop has picked the signal up, later; so
// when that handler runs, the signal is pending in the witness if and only if
// it was sent to the group (or to every process), not to waitlock alone.
// (It must also have reached the command: one that has left the group is
// always forwarded to.)
// A witness holds a signal pending for good, so once it has vouched for one it
// is replaced by a fresh witness, and the other signals it held are kept for
// the handlers still to run. The witness reads a pipe from waitlock: it ends
// with waitlock, however waitlock ends.
//
// Where it cannot tell, waitlock forwards: a signal may then arrive twice,
// never not at all. That is when there is no witness (an env without
// --block-signal, as in coreutils before 8.31 or busybox), in the first
// moments of the command, before the witness has joined and blocked the
// signals, and when signals come so fast that one lands on a witness being
// replaced. A supervisor that signals processes one by one may also reach
// waitlock before the witness.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { constants } from "node:os";

function bit(signal: NodeJS.Signals): bigint {
  return 1n << BigInt(constants.signals[signal] - 1);
}

function maskField(status: string, name: string): bigint {
  const hex = new RegExp(`^${name}:\\s*([0-9a-fA-F]+)`, "m").exec(status)?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}

/** processGroup reads pid's process group from /proc (undefined if it is gone). */
export function processGroup(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return undefined;
  }
}

/** GroupSignalWitness tells a signal sent to this process's group from one sent to this process alone. */
export class GroupSignalWitness {
  readonly #signals: readonly NodeJS.Signals[];
  readonly #mask: bigint;
  #witness: ChildProcess | undefined;
  /** Signals the previous witnesses held that no handler has asked about yet. */
  readonly #held = new Set<NodeJS.Signals>();

  constructor(signals: readonly NodeJS.Signals[]) {
    this.#signals = signals;
    this.#mask = signals.reduce((m, s) => m | bit(s), 0n);
    this.#start();
  }

  /**
   * sentToGroup tells whether signal, which this process has just received,
   * was sent to its whole process group; false when it cannot tell. Ask once
   * per signal received.
   */
  sentToGroup(signal: NodeJS.Signals): boolean {
    if (this.#held.delete(signal)) return true;
    const pending = this.#pending();
    if (pending === undefined || (pending & bit(signal)) === 0n) return false;
    for (const s of this.#signals) if (s !== signal && (pending & bit(s)) !== 0n) this.#held.add(s);
    this.#witness?.kill("SIGKILL");
    this.#start();
    return true;
  }

  /**
   * fresh makes sure no signal from before now is taken for a group signal
   * later: a witness started ahead of time (while waitlock waited) is
   * replaced if it holds any. One /proc read when it holds none.
   */
  fresh(): void {
    this.#held.clear();
    const pending = this.#pending();
    if (pending === undefined || (pending & this.#mask) === 0n) return;
    this.#witness?.kill("SIGKILL");
    this.#start();
  }

  stop(): void {
    this.#witness?.kill("SIGKILL");
    this.#witness = undefined;
  }

  #start(): void {
    const names = this.#signals.map((s) => s.slice(3)).join(",");
    const w = spawn("env", [`--block-signal=${names}`, "cat"], { stdio: ["pipe", "ignore", "ignore"] });
    w.on("error", () => undefined); // no env: cannot tell, so every signal is forwarded
    w.stdin?.on("error", () => undefined);
    // Neither the witness nor its pipe may keep waitlock running.
    w.unref();
    (w.stdin as { unref?: () => void } | null)?.unref?.();
    this.#witness = w;
  }

  /** The signals pending in the witness; undefined if there is no witness that blocks them all. */
  #pending(): bigint | undefined {
    const w = this.#witness;
    if (!w?.pid || w.exitCode !== null || w.signalCode !== null) return undefined;
    let status: string;
    try {
      status = readFileSync(`/proc/${w.pid}/status`, "latin1");
    } catch {
      return undefined;
    }
    if (/^State:\s*[ZX]/m.test(status)) return undefined;
    if ((maskField(status, "SigBlk") & this.#mask) !== this.#mask) return undefined;
    return maskField(status, "SigPnd") | maskField(status, "ShdPnd");
  }
}
