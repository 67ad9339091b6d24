// Waiting for a lock that can only be tried, not queued for: retry whenever
// the backend reports a change (a release is seen within milliseconds) and on
// a jittered poll (a holder killed by SIGKILL leaves no event), until it wins,
// the deadline passes, or the signal fires. Nothing here blocks a thread.
import type { HeldSlot, SlotRequest, WaitOptions } from "./backend.ts";
import { WaitlockError } from "./errors.ts";

/** Mean interval of the safety poll that notices holders killed without a trace. */
export const DEFAULT_POLL_MS = 50;
/** setTimeout's longest delay; longer waits re-arm (a longer one would fire at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Tryable {
  /** One attempt; knownBusy carries what earlier attempts learnt, so busy slots are tried last. */
  tryOnce(req: SlotRequest, knownBusy: Set<number>): HeldSlot | undefined | Promise<HeldSlot | undefined>;
  watch(descriptor: string, onChange: () => void): () => void;
}

/**
 * atDeadline calls fn at performance.now() ≥ deadline, however far away that
 * is, and returns a canceller. An infinite deadline never fires.
 */
export function atDeadline(deadline: number, fn: () => void, maxChunkMs = MAX_TIMER_MS): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    const left = deadline - performance.now();
    if (left <= 0) return fn();
    timer = setTimeout(arm, Math.min(left, maxChunkMs));
  };
  if (Number.isFinite(deadline)) arm();
  return () => clearTimeout(timer);
}

export function waitByPolling(b: Tryable, req: SlotRequest, wait: WaitOptions): Promise<HeldSlot> {
  const pollMs = wait.pollMs ?? DEFAULT_POLL_MS;
  const busy = new Set<number>();
  return new Promise<HeldSlot>((resolve, reject) => {
    let settled = false;
    let running = false;
    let again = false;
    let pollTimer: ReturnType<typeof setTimeout> | undefined;
    let cancelDeadline = () => undefined as void;
    const finish = (err: unknown, held?: HeldSlot) => {
      if (settled) {
        void held?.release();
        return;
      }
      settled = true;
      unwatch();
      clearTimeout(pollTimer);
      cancelDeadline();
      wait.signal?.removeEventListener("abort", onAbort);
      if (held) resolve(held);
      else reject(err);
    };
    const attempt = async (): Promise<void> => {
      if (settled) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const held = await b.tryOnce(req, busy);
          if (held) return finish(undefined, held);
        } while (again && !settled);
      } catch (err) {
        finish(err);
      } finally {
        running = false;
      }
    };
    const schedulePoll = () => {
      pollTimer = setTimeout(() => {
        void attempt().then(() => {
          if (!settled) schedulePoll();
        });
      }, pollMs * (0.5 + Math.random()));
    };
    const onAbort = () =>
      finish(new WaitlockError("EABORTED", `stopped waiting for ${req.descriptor}: aborted`, { cause: wait.signal?.reason }));
    if (wait.signal?.aborted) return onAbort();
    const unwatch = b.watch(req.descriptor, () => void attempt());
    wait.signal?.addEventListener("abort", onAbort, { once: true });
    cancelDeadline = atDeadline(wait.deadline, () => {
      // One last try: a release may have landed between the last poll and now.
      void attempt().then(() => finish(new WaitlockError("ETIMEDOUT", `timed out waiting for ${req.descriptor}`)));
    });
    schedulePoll();
    void attempt(); // the first try, or a release that happened before the watch was set up
  });
}
