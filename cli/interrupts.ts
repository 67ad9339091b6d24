// What SIGINT, SIGTERM and SIGHUP do to waitlock itself, from the moment it
// starts waiting until the lock is passed on. One object, three phases:
//
//   waiting  a signal stops the wait (through `signal`): nothing is held, and
//            waitlock exits 128+N;
//   granted  the lock is held and nothing is started yet: a signal caught
//            since waiting began cancels what would start (the caller lets go
//            of the lock) and waitlock exits 128+N;
//   passed   the command runs and exec.ts forwards these signals to it, or the
//            foreground holder has the lock: the listeners here are gone.
//
// Until passed, waitlock always listens: with no listener a signal meets the
// default disposition and kills waitlock half-way (a command started and
// nobody left to forward to it, or to let go after it). The phase that takes
// over installs its own handlers before calling pass().
import { constants } from "node:os";
import { signalExit } from "../adapters/errors.ts";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export class Interrupts {
  #passed = false;
  #caught: NodeJS.Signals | undefined;
  readonly #abort = new AbortController();
  readonly #onSignal = (s: NodeJS.Signals) => {
    this.#caught = s;
    this.#abort.abort();
  };

  /** Starts listening: the waiting phase begins. */
  constructor() {
    for (const s of SIGNALS) process.on(s, this.#onSignal);
  }

  /** Aborts when a signal arrives: what the wait for the lock is given. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * exitCode is 128+N if signal N came while waiting or once granted (the
   * last one, if several), else undefined: asked when the wait fails, and
   * again before anything is started with the lock.
   */
  exitCode(): number | undefined {
    return this.#caught === undefined ? undefined : signalExit(constants.signals[this.#caught]);
  }

  /** pass stops listening: the command or the holder has the lock now, or waiting ended. Safe to call again. */
  pass(): void {
    if (this.#passed) return;
    this.#passed = true;
    for (const s of SIGNALS) process.off(s, this.#onSignal);
  }
}
