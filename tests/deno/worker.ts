// A real Deno process that takes a lock in a loop and checks, inside the
// critical section, that nobody else holds the same slot (an O_EXCL marker file
// per slot): the Deno twin of tests/fixtures/worker.mjs, so Node and Deno
// workers can share one marker directory. Prints one JSON line:
// {acquired, violations, slots, pid, firstAt, lastAt}: firstAt and lastAt
// (Date.now()) bound the loop, so a test can tell it really overlapped others.
// usage: deno run --allow-read --allow-write --allow-ffi --allow-env worker.ts LOCKDIR MARKERDIR DESCRIPTOR MAXHOLDERS ITERATIONS
import { acquire } from "../../adapters/deno/mod.ts";

const [lockDir, markerDir, descriptor, maxHolders, iterations] = Deno.args;
const max = Number(maxHolders);
let acquired = 0;
let violations = 0;
const slots: Record<number, number> = {};
let firstAt = 0;
for (let i = 0; i < Number(iterations); i++) {
  const lock = await acquire(descriptor, { lockDir, maxHolders: max });
  if (acquired++ === 0) firstAt = Date.now();
  slots[lock.slot] = (slots[lock.slot] ?? 0) + 1;
  const marker = `${markerDir}/${descriptor}.${lock.slot}`;
  try {
    Deno.openSync(marker, { write: true, createNew: true }).close();
  } catch {
    violations++; // another process holds the same slot
  }
  if (Array.from(Deno.readDirSync(markerDir)).filter((e) => e.name.startsWith(`${descriptor}.`)).length > max) violations++;
  // Stay a little while in the critical section so overlaps would show.
  await new Promise((r) => setTimeout(r, 0));
  try {
    Deno.removeSync(marker);
  } catch {
    violations++;
  }
  await lock.release();
}
console.log(JSON.stringify({ acquired, violations, slots, pid: Deno.pid, firstAt, lastAt: Date.now() }));
