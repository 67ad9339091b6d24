// One library peer of the hand-over benchmark: after "go" on stdin, repeatedly
// wait for the lock, hold it HOLD_MS, release it, pause PAUSE_MS (so waiting
// peers, not this one, take the slot next). Prints one JSON array of
// [slot, waitStart, acquired, released] per round, times in ms of
// CLOCK_MONOTONIC (process.hrtime), comparable across processes.
// usage: handover-peer.mjs LOCKDIR DESCRIPTOR MAXHOLDERS ROUNDS HOLD_MS PAUSE_MS
import { acquire } from "../dist/node/index.js";

const [lockDir, descriptor, max, rounds, holdMs, pauseMs] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const warm = await acquire(`warm-${process.pid}`, { lockDir }); // load and JIT the code paths first
await warm.release();
process.stdout.write("ready\n");
await new Promise((resolve) => process.stdin.once("data", resolve));
process.stdin.destroy();
const rows = [];
for (let i = 0; i < Number(rounds); i++) {
  const w = now();
  const lock = await acquire(descriptor, { lockDir, maxHolders: Number(max) });
  const a = now();
  await sleep(Number(holdMs));
  const r = now();
  await lock.release();
  rows.push([lock.slot, w, a, r]);
  await sleep(Number(pauseMs));
}
process.stdout.write(`${JSON.stringify(rows)}\n`);
