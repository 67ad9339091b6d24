// One worker of the contended-throughput benchmark. For each "go" line on
// stdin it takes the lock M times back to back (acquire, release at once) and
// prints one JSON line {start, end, waits}: times in ms of CLOCK_MONOTONIC,
// waits = how long each acquire() took. "exit" (or end of stdin) ends it.
// usage: contention-worker.mjs LOCKDIR DESCRIPTOR MAXHOLDERS M
import { createInterface } from "node:readline";
import { acquire } from "../dist/node/index.js";

const [lockDir, descriptor, max, m] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e6;
for (let i = 0; i < 20; i++) await (await acquire(`warm-${process.pid}`, { lockDir })).release(); // load and JIT first
process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== "go") break;
  const waits = [];
  const start = now();
  for (let i = 0; i < Number(m); i++) {
    const t = now();
    const lock = await acquire(descriptor, { lockDir, maxHolders: Number(max) });
    waits.push(now() - t);
    await lock.release();
  }
  process.stdout.write(`${JSON.stringify({ start, end: now(), waits })}\n`);
}
process.exit(0);
