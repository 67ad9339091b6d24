// One side of the hand-over benchmark: repeatedly wait for the lock, note when
// it was acquired, hold it briefly, note when it was released. Times are
// process.hrtime (CLOCK_MONOTONIC), comparable across processes on one machine.
// usage: handover-peer.mjs LOCKDIR DESCRIPTOR MAXHOLDERS ROUNDS HOLD_MS
import { acquire } from "../dist/node/index.js";

const [lockDir, descriptor, max, rounds, holdMs] = process.argv.slice(2);
const events = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (let i = 0; i < Number(rounds); i++) {
  const lock = await acquire(descriptor, { lockDir, maxHolders: Number(max) });
  events.push(["a", Number(process.hrtime.bigint()) / 1e6]);
  await sleep(Number(holdMs));
  events.push(["r", Number(process.hrtime.bigint()) / 1e6]);
  await lock.release();
  await sleep(Number(holdMs) / 2); // let the waiting peer win the next round
}
console.log(JSON.stringify(events));
