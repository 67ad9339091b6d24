// The live "waiting for …" line on a terminal: who holds the lock, and for how long.
import type { LockDirOption, Waitlock } from "../adapters/api.ts";

const REFRESH_MS = 500;

function age(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** showWaiting draws the line on stream every half second; the returned function erases it. */
export function showWaiting(wl: Waitlock, descriptor: string, where: LockDirOption, stream: NodeJS.WriteStream): () => void {
  const started = Date.now();
  const draw = async () => {
    let who = "";
    try {
      const holders = (await wl.list({ descriptor, ...where })).filter((e) => e.record);
      const h = holders[0]?.record;
      if (h) {
        const more = holders.length > 1 ? ` and ${holders.length - 1} more` : "";
        // The command goes last: a narrow terminal cuts it, not the facts before it.
        who = `: held by PID ${h.holderPid}${more} for ${age(Date.now() - h.acquiredAt)} (${h.command})`;
      }
    } catch {
      // the line is a courtesy; never let it fail the wait
    }
    const line = `waitlock: waiting for ${descriptor} [${age(Date.now() - started)}]${who}`;
    const width = stream.columns || 80; // 0 when the terminal reports no size
    stream.write(`\r\x1b[K${line.slice(0, Math.max(20, width - 1))}`);
  };
  void draw();
  const timer = setInterval(draw, REFRESH_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    stream.write("\r\x1b[K");
  };
}
