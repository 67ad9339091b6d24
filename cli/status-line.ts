// The live "waiting for …" line on a terminal: how long so far and how long
// left before the timeout, who holds the lock, and for how long.
import type { LockDirOption, Waitlock } from "../adapters/api.ts";
import { cut, duration, printable } from "./text.ts";

const REFRESH_MS = 500;

/**
 * showWaiting draws the line on stream every half second, for a wait of at
 * most timeoutMs (Infinity: no limit); the returned function erases it.
 */
export function showWaiting(wl: Waitlock, descriptor: string, where: LockDirOption, timeoutMs: number, stream: NodeJS.WriteStream): () => void {
  const started = Date.now();
  const draw = async () => {
    let who = "";
    try {
      const holders = (await wl.list({ descriptor, ...where })).filter((e) => e.record);
      const h = holders[0]?.record;
      if (h) {
        const more = holders.length > 1 ? ` and ${holders.length - 1} more` : "";
        // The command goes last: a narrow terminal cuts it, not the facts before it.
        who = `: held by PID ${h.holderPid}${more} for ${duration(Date.now() - h.acquiredAt)} (${printable(h.command)})`;
      }
    } catch {
      // the line is a courtesy; never let it fail the wait
    }
    const waited = Date.now() - started;
    // Time left is rounded up: "1s left" until the very end, never "0s left" with time to go.
    const left = timeoutMs === Infinity ? "" : `, ${duration(Math.ceil(Math.max(0, timeoutMs - waited) / 1000) * 1000)} left`;
    const line = `waitlock: waiting for ${descriptor} [${duration(waited)}${left}]${who}`;
    const width = stream.columns || 80; // 0 when the terminal reports no size
    // One column spare: a line that fills the last column wraps on some terminals.
    stream.write(`\r\x1b[K${cut(line, Math.max(20, width - 1))}`);
  };
  void draw();
  const timer = setInterval(draw, REFRESH_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    stream.write("\r\x1b[K");
  };
}
