// A real Deno process that takes a lock, prints {"slot":N,"fence":F,"pid":P} and
// holds it until killed or until stdin closes: the Deno twin of tests/fixtures/hold.mjs.
// usage: deno run --allow-read --allow-write --allow-ffi --allow-env hold.ts LOCKDIR DESCRIPTOR [JSON-OPTIONS]
// (LOCKDIR "" when the options name a backend; add --allow-net for a server)
import { acquire } from "../../adapters/deno/mod.ts";

const [lockDir, descriptor, json] = Deno.args;
try {
  const lock = await acquire(descriptor, { ...(lockDir ? { lockDir } : {}), ...(json ? JSON.parse(json) : {}) });
  // Deno.pid, not the spawner's child.pid: a launcher script may stand between them.
  console.log(JSON.stringify({ slot: lock.slot, fence: lock.fence === undefined ? null : String(lock.fence), pid: Deno.pid }));
  for await (const _ of Deno.stdin.readable) {
    // hold until stdin closes
  }
  await lock.release();
  Deno.exit(0);
} catch (err) {
  console.log(JSON.stringify({ error: (err as { code?: string }).code, message: (err as Error).message }));
  Deno.exit(1);
}
