// What recording lock events costs the library's hot path (docs/METRICS.md),
// as an A/B in one process: bursts of 2 000 uncontended acquire + release
// pairs, alternating between a lock directory that records and one with
// WAITLOCK_EVENTS=off, 30 of each after 5 to warm up. Prints the median CPU
// and wall time per pair of each, and their ratio. Alternating bursts in one
// process cancel most of a shared machine's drift, which separate 1-second
// runs (npm run bench -- --only uncontended) do not.
// usage: npm run build && node bench/events-ab.mjs [ROUNDS]
import { mkdtempSync, rmSync } from "node:fs";
import { acquire } from "../dist/node/index.js";

const rounds = Number(process.argv[2] ?? 30);
const PAIRS = 2000;
const on = mkdtempSync("/dev/shm/waitlock-events-on-");
const off = mkdtempSync("/dev/shm/waitlock-events-off-");
// WAITLOCK_EVENTS is read when a process first uses a directory: each keeps its setting.
process.env.WAITLOCK_EVENTS = "off";
await (await acquire("b", { lockDir: off })).release();
delete process.env.WAITLOCK_EVENTS;
await (await acquire("b", { lockDir: on })).release();

async function burst(dir) {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < PAIRS; i++) await (await acquire("b", { lockDir: dir })).release();
  const c = process.cpuUsage(cpu);
  return { cpu: (c.user + c.system) / PAIRS, wall: ((performance.now() - wall) * 1000) / PAIRS };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const with_ = [];
const without = [];
try {
  for (let i = 0; i < 5; i++) await burst(on), await burst(off);
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, so neither always follows the other's garbage.
    if (i % 2) with_.push(await burst(on)), without.push(await burst(off));
    else without.push(await burst(off)), with_.push(await burst(on));
  }
} finally {
  rmSync(on, { recursive: true, force: true });
  rmSync(off, { recursive: true, force: true });
}
const [cOn, cOff] = [median(with_.map((r) => r.cpu)), median(without.map((r) => r.cpu))];
const [wOn, wOff] = [median(with_.map((r) => r.wall)), median(without.map((r) => r.wall))];
console.log(`per pair, median of ${rounds} bursts of ${PAIRS}: CPU ${cOn.toFixed(1)} µs recording vs ${cOff.toFixed(1)} off (${((cOn / cOff - 1) * 100).toFixed(1)} %); wall ${wOn.toFixed(1)} vs ${wOff.toFixed(1)} µs (${((wOn / wOff - 1) * 100).toFixed(1)} %)`);
