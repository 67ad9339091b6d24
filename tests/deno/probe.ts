// Looks at a descriptor from Deno the way a user would, then tries to take it
// once. Prints one JSON line: {free, entries, acquired, pid}: free is check(),
// entries the list() rows (slot, status, held, holder PID), acquired the slot
// tryAcquire got (then released) or null.
// usage: deno run --allow-read --allow-write --allow-ffi --allow-env probe.ts LOCKDIR DESCRIPTOR [JSON-OPTIONS]
import { check, list, tryAcquire } from "../../adapters/deno/mod.ts";

const [lockDir, descriptor, json] = Deno.args;
const options = { lockDir, ...(json ? JSON.parse(json) : {}) };
const free = await check(descriptor, options);
const entries = (await list({ lockDir, descriptor, all: true })).map((e) => ({
  slot: e.slot, status: e.status, held: e.held, pid: e.record?.holderPid,
}));
const lock = await tryAcquire(descriptor, options);
console.log(JSON.stringify({ free, entries, acquired: lock ? lock.slot : null, pid: Deno.pid }));
await lock?.release();
