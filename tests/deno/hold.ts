// A real Deno process that takes a lock, prints {"slot":N,"pid":P} and holds it
// until killed or until stdin closes: the Deno twin of tests/fixtures/hold.mjs.
// usage: deno run --allow-read --allow-write --allow-ffi --allow-env hold.ts LOCKDIR DESCRIPTOR [JSON-OPTIONS]
import { acquire } from "../../adapters/deno/mod.ts";

const [lockDir, descriptor, json] = Deno.args;
try {
  const lock = await acquire(descriptor, { lockDir, ...(json ? JSON.parse(json) : {}) });
  // Deno.pid, not the spawner's child.pid: a launcher script may stand between them.
  console.log(JSON.stringify({ slot: lock.slot, pid: Deno.pid }));
  for await (const _ of Deno.stdin.readable) {
    // hold until stdin closes
  }
  await lock.release();
  Deno.exit(0);
} catch (err) {
  console.log(JSON.stringify({ error: (err as { code?: string }).code, message: (err as Error).message }));
  Deno.exit(1);
}
