// Deno's permission flags, turned into errors a user can act on.
//
// A missing permission must fail the first call with a WaitlockError (code
// EPERM) that names the flag to add, never with a raw Deno.errors.NotCapable
// stack, and it must never be skipped silently: the lock-directory search
// treats an unreadable candidate as "not usable" and moves on, and a Deno
// process that moved on where Node did not would lock in another directory,
// so the two would no longer exclude each other. Permissions therefore
// remembers every refusal, and strict() fails an operation that hit one even
// when the code it ran caught it.
import { WaitlockError } from "../errors.ts";

/** How a permission is named on the command line. */
export type Flag = "--allow-read" | "--allow-write" | "--allow-env" | "--allow-ffi" | "--allow-run";

/** Everything the library needs, said in every refusal so one run tells the whole story. */
const ALL_FLAGS = "waitlock needs --allow-read --allow-write --allow-ffi --allow-env, and --allow-run for signalHolders";

export class Permissions {
  #seen?: WaitlockError[];

  /** denied makes (and remembers) the error for a refused permission. */
  denied(flag: Flag, what: string, scope?: string, cause?: unknown): WaitlockError {
    const hint = scope ? ` (or ${flag}=${scope})` : "";
    const err = new WaitlockError("EPERM", `Deno did not allow ${what}: run deno with ${flag}${hint} (${ALL_FLAGS})`, { cause });
    this.#seen?.push(err);
    return err;
  }

  /**
   * requirePath checks a path permission before a libc call that Deno cannot
   * check itself (FFI bypasses the permission system), so the flags mean the
   * same for every file waitlock touches. Like Deno's own calls, it asks the
   * user when Deno would prompt, and refuses otherwise.
   */
  requirePath(kind: "read" | "write", path: string, scope: string): void {
    const descriptor = { name: kind, path } as const;
    let state = Deno.permissions.querySync(descriptor).state;
    if (state === "prompt") state = Deno.permissions.requestSync(descriptor).state;
    if (state !== "granted") throw this.denied(kind === "read" ? "--allow-read" : "--allow-write", `${kind} access to ${path}`, scope);
  }

  /** requireRun checks what Deno.kill needs, before signalling anyone. */
  requireRun(why: string): void {
    let state = Deno.permissions.querySync({ name: "run" }).state;
    if (state === "prompt") state = Deno.permissions.requestSync({ name: "run" }).state;
    if (state !== "granted") throw this.denied("--allow-run", why);
  }

  /**
   * strict runs fn and fails with the first permission refusal it met, even
   * one that fn caught and recovered from.
   */
  strict<T>(fn: () => T): T {
    const outer = this.#seen;
    const seen: WaitlockError[] = [];
    this.#seen = seen;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      throw seen[0] ?? err;
    } finally {
      this.#seen = outer;
      outer?.push(...seen);
    }
    if (seen[0]) throw seen[0];
    return result;
  }
}

/** isNotCapable tells a missing Deno permission from an operating-system refusal (Deno.errors.PermissionDenied). */
export function isNotCapable(err: unknown): boolean {
  return err instanceof Deno.errors.NotCapable;
}
