// A pause that an AbortSignal cuts short, for retry loops that may run for
// the life of a lock: the listener goes when the pause ends either way, so a
// long-lived signal does not collect one per retry.

/** sleep resolves after ms, or at once when signal aborts. unref lets the timer not keep the process alive. */
export function sleep(ms: number, signal?: AbortSignal, unref: (t: unknown) => void = () => undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    unref(t);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
