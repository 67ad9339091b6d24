// waitlock --list --watch: the listing, kept current. On a terminal the listing
// is redrawn in place (ages tick once a second), each line cut to the
// terminal's width so a narrow one never wraps it. Into a pipe or a file, each
// change in the locks is written once: with --format json as one JSON object
// per line (NDJSON: {"time": ISO-8601, "locks": [rows as --list --format json]}),
// so `jq` can follow it; in the other formats as the listing again, after a
// blank line. Ages going by are not a change.
import type { LockBackend } from "../adapters/backend.ts";
import type { Format } from "./invocation.ts";
import { render, type Row } from "./listing.ts";
import { cut } from "./text.ts";

const TICK_MS = 1000;
const SETTLE_MS = 30; // coalesce a burst of file events into one redraw
const EMPTY = "(no locks held)\n";

/** stateOf is what makes two listings the same state: everything but the ages. */
function stateOf(rows: Row[]): string {
  return JSON.stringify(rows.map(({ heldForMs: _held, leaseLeftS: _lease, ...rest }) => rest));
}

/** fitTo cuts each line of text to columns (display width), so a terminal never wraps it. */
export function fitTo(text: string, columns: number): string {
  return text.split("\n").map((line) => cut(line, columns)).join("\n");
}

export function watchListing(
  backend: LockBackend, rows: () => Promise<Row[]>, view: { format: Format; showStatus: boolean }, out: NodeJS.WriteStream,
): Promise<number> {
  const tty = !!out.isTTY;
  let last: string | undefined;
  let pending: ReturnType<typeof setTimeout> | undefined;
  const draw = async () => {
    pending = undefined;
    let now: Row[] | undefined;
    let failure: string | undefined;
    try {
      now = await rows();
    } catch (err) {
      failure = `waitlock: ${(err as Error).message}`;
    }
    if (tty) {
      const text = failure ? `${failure}\n` : render(now!, view.format, view.showStatus) || EMPTY;
      // One column spare: a line that fills the last column wraps on some terminals.
      out.write(`\x1b[H\x1b[2J${fitTo(text, Math.max(20, (out.columns || 80) - 1))}`);
      return;
    }
    const state = failure ?? stateOf(now!);
    if (state === last) return;
    const first = last === undefined;
    last = state;
    if (view.format === "json") {
      out.write(`${JSON.stringify(failure ? { time: new Date().toISOString(), error: failure.replace(/^waitlock: /, "") } : { time: new Date().toISOString(), locks: now })}\n`);
    } else {
      out.write(`${first ? "" : "\n"}${failure ? `${failure}\n` : render(now!, view.format, view.showStatus) || EMPTY}`);
    }
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
