// A Deno waiter of the FIFO tests (tests/fifo.test.ts): waits for a lock (no
// timeout), appends TAG and a newline to LOG once it holds it, holds it HOLD_MS
// and releases it.
// usage: deno run --allow-read --allow-write --allow-ffi --allow-env fifo-waiter.ts LOCKDIR DESCRIPTOR MAXHOLDERS HOLD_MS TAG LOG
import { acquire } from "../../adapters/deno/mod.ts";

const [lockDir, descriptor, max, holdMs, tag, log] = Deno.args;
const lock = await acquire(descriptor, { lockDir, maxHolders: Number(max) });
Deno.writeTextFileSync(log, `${tag}\n`, { append: true });
await new Promise((r) => setTimeout(r, Number(holdMs)));
await lock.release();
