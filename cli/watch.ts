// waitlock --list --watch: the listing, kept current. On a terminal the table is
// redrawn in place (and ages tick once a second); otherwise each changed listing
// is printed again, after a blank line, so a pipe sees every state once.
import type { LockBackend } from "../adapters/backend.ts";

const TICK_MS = 1000;
const SETTLE_MS = 30; // coalesce a burst of file events into one redraw

export function watchListing(backend: LockBackend, text: () => Promise<string>, out: NodeJS.WriteStream): Promise<number> {
  const tty = !!out.isTTY;
  let last: string | undefined;
  let pending: ReturnType<typeof setTimeout> | undefined;
  const draw = async () => {
    pending = undefined;
    let now: string;
    try {
      now = await text();
    } catch (err) {
      now = `waitlock: ${(err as Error).message}\n`;
    }
    if (tty) out.write(`\x1b[H\x1b[2J${now || "(no locks held)\n"}`);
    else if (now !== last) out.write(`${last === undefined ? "" : "\n"}${now || "(no locks held)\n"}`);
    last = now;
  };
  const soon = () => {
    pending ??= setTimeout(draw, SETTLE_MS);
  };
  void draw();
  // Every lock file of the directory matters here, not one descriptor's: watch it whole.
  const stopWatch = backend.watch(undefined, soon);
  // File events miss holders killed by SIGKILL (and ages must tick): redraw on a timer too.
  const timer = setInterval(soon, TICK_MS);
  return new Promise((resolve) => {
    const stop = () => {
      clearInterval(timer);
      clearTimeout(pending);
      stopWatch();
      resolve(0);
    };
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(s, stop);
  });
}
