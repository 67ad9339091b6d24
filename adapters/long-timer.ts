// Timers for durations a caller chooses. setTimeout holds at most 2^31 − 1 ms
// (about 24.9 days) in Node and in Deno: a longer delay fires after 1 ms,
// with a TimeoutOverflowWarning. A 30-day timeout must not expire at once.

/** The longest delay setTimeout keeps as given. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Cancels a long timer; calling it again, or after it fired, does nothing. */
export type CancelTimer = () => void;

/**
 * setLongTimeout calls fn once ms milliseconds have passed, however many that
 * is: it waits in chunks of at most chunkMs, re-armed until the deadline (on
 * the monotonic clock, so a change of the wall clock does not move it).
 * Infinity never fires and arms nothing.
 */
export function setLongTimeout(fn: () => void, ms: number, chunkMs = MAX_TIMER_MS): CancelTimer {
  if (ms === Infinity) return () => undefined;
  const deadline = performance.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (left: number) => {
    timer = setTimeout(() => {
      const rest = deadline - performance.now();
      if (rest > 0) arm(rest);
      else {
        timer = undefined;
        fn();
      }
    }, Math.min(Math.max(left, 0), chunkMs));
  };
  arm(ms);
  return () => {
    clearTimeout(timer);
    timer = undefined;
  };
}
