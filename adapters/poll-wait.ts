// Waiting for a lock that can only be tried, not queued for: retry whenever
// the backend reports a change (a release is seen within milliseconds) and on
// a jittered poll (a holder killed by SIGKILL leaves no event), until it wins,
// the deadline passes, or the signal fires. Nothing here blocks a thread.
import type { HeldSlot, SlotRequest, WaitOptions } from "./backend.ts";
import { WaitlockError } from "./errors.ts";
import { setLongTimeout, type CancelTimer } from "./long-timer.ts";

/** Mean interval of the safety poll that notices holders killed without a trace. */
export const DEFAULT_POLL_MS = 50;

export interface Tryable {
  /** One attempt; knownBusy carries what earlier attempts learnt, so busy slots are tried last. */
  tryOnce(req: SlotRequest, knownBusy: Set<number>): HeldSlot | undefined | Promise<HeldSlot | undefined>;
  watch(descriptor: string, onChange: () => void): () => void;
}

export function waitByPolling(b: Tryable, req: SlotRequest, wait: WaitOptions): Promise<HeldSlot> {
  const pollMs = wait.pollMs ?? DEFAULT_POLL_MS;
  const busy = new Set<number>();
  return new Promise<HeldSlot>((resolve, reject) => {
    let settled = false;
    let running = false;
    let again = false;
    // Both delays come from the caller (timeout, pollInterval) and may pass setTimeout's limit.
    let stopPoll: CancelTimer | undefined;
    let stopDeadline: CancelTimer | undefined;
    const finish = (err: unknown, held?: HeldSlot) => {
      if (settled) {
        void held?.release();
        return;
      }
      settled = true;
      unwatch();
      stopPoll?.();
      stopDeadline?.();
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
      stopPoll = setLongTimeout(() => {
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
    stopDeadline = setLongTimeout(() => {
      // One last try: a release may have landed between the last poll and now.
      void attempt().then(() => finish(new WaitlockError("ETIMEDOUT", `timed out waiting for ${req.descriptor}`)));
    }, wait.deadline - performance.now());
    schedulePoll();
    void attempt(); // the first try, or a release that happened before the watch was set up
  });
}
