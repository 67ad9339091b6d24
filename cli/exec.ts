// Exec mode: run a command while holding the lock, pass its fate through.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { Lock } from "../adapters/api.ts";

/** Signals passed on to the command, as SPEC §3 lists them. */
export const FORWARDED_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

export interface ExecResult {
  status: number;
  /** Set when the command could not be started (status 126 or 127). */
  error?: string;
}

/** argvFor runs a single argument containing whitespace through /bin/sh -c, as documented. */
export function argvFor(command: string[]): string[] {
  return command.length === 1 && /\s/.test(command[0]) ? ["/bin/sh", "-c", command[0]] : command;
}

/**
 * runHolding runs command with WAITLOCK_SLOT and WAITLOCK_DESCRIPTOR set. The
 * locked files are passed to the child from fd 3 on, so the lock stays held while the
 * command runs even if this process is killed with SIGKILL.
 */
export function runHolding(lock: Lock, command: string[], onStart: (pid: number) => void): Promise<ExecResult> {
  const [file, ...args] = argvFor(command);
  // Listen before spawning: a signal that lands between the spawn and a later
  // listener would meet the default disposition and kill waitlock, orphaning the
  // command. One that arrives before the child exists is passed on right after.
  let child: ReturnType<typeof spawn> | undefined;
  const early: NodeJS.Signals[] = [];
  const handlers = FORWARDED_SIGNALS.map((s) => [s, () => (child ? child.kill(s) : early.push(s))] as const);
  for (const [s, h] of handlers) process.on(s, h);
  child = spawn(file, args, {
    stdio: ["inherit", "inherit", "inherit", ...lock.fds],
    env: { ...process.env, WAITLOCK_SLOT: String(lock.slot), WAITLOCK_DESCRIPTOR: lock.descriptor },
  });
  for (const s of early) child.kill(s);
  if (child.pid !== undefined) onStart(child.pid);
  const started = child;
  return new Promise((resolve) => {
    const done = (r: ExecResult) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(r);
    };
    started.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") done({ status: 127, error: `${file}: command not found` });
      else if (err.code === "EACCES" || err.code === "ENOEXEC" || err.code === "EISDIR") done({ status: 126, error: `${file}: not executable (${err.code})` });
      else done({ status: 126, error: `${file}: cannot run (${err.code ?? err.message})` });
    });
    started.once("exit", (code, signal) => {
      if (signal) done({ status: 128 + (constants.signals[signal] ?? 0) });
      else done({ status: code ?? 0 });
    });
  });
}
