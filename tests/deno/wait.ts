// Waits for a held lock from Deno: prints {"busy":true} once a first attempt
// has failed, then waits (acquire with a timeout) and prints
// {"slot":N,"waitedMs":T} when it gets the lock, or {"error":CODE}.
// usage: deno run --allow-read --allow-write --allow-ffi --allow-env wait.ts LOCKDIR DESCRIPTOR TIMEOUT_MS [POLL_MS]
import { acquire, tryAcquire } from "../../adapters/deno/mod.ts";

const [lockDir, descriptor, timeout, poll] = Deno.args;
const first = await tryAcquire(descriptor, { lockDir });
if (first) {
  console.log(JSON.stringify({ error: "not held to begin with" }));
  Deno.exit(1);
}
console.log(JSON.stringify({ busy: true }));
const started = performance.now();
try {
  const lock = await acquire(descriptor, { lockDir, timeout: Number(timeout), pollInterval: poll === undefined ? undefined : Number(poll) });
  console.log(JSON.stringify({ slot: lock.slot, waitedMs: performance.now() - started }));
  await lock.release();
} catch (err) {
  console.log(JSON.stringify({ error: (err as { code?: string }).code, message: (err as Error).message }));
}
