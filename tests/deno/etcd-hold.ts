// A real Deno process that takes a lock on a server, prints
// {"slot":N,"fence":"F","pid":P} and holds it until stdin closes.
// usage: deno run --allow-read --allow-ffi --allow-env --allow-net etcd-hold.ts BACKEND DESCRIPTOR [JSON-OPTIONS]
import { acquire } from "../../adapters/deno/mod.ts";

const [backend, descriptor, json] = Deno.args;
try {
  const lock = await acquire(descriptor, { backend, ...(json ? JSON.parse(json) : {}) });
  console.log(JSON.stringify({ slot: lock.slot, fence: String(lock.fence), pid: Deno.pid }));
  for await (const _ of Deno.stdin.readable) {
    // hold until stdin closes
  }
  await lock.release();
  Deno.exit(0);
} catch (err) {
  console.log(JSON.stringify({ error: (err as { code?: string }).code, message: (err as Error).message }));
  Deno.exit(1);
}
