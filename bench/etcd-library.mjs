// One process of the etcd library benchmarks (bench/etcd.mjs starts them).
// Times are CLOCK_MONOTONIC (process.hrtime), which every process on the host
// shares, so one process's release and another's grant compare directly.
//   pairs BACKEND MS            acquire+release as fast as it can for MS ms; prints the count
//   hold BACKEND NAME           takes NAME, prints "held", and on a line on stdin prints
//                               the time and releases
//   wait BACKEND NAME           waits for NAME (its watch open), prints the time it got it
//   contend BACKEND NAME ROUNDS takes and releases NAME ROUNDS times; prints each wait (ms)
import { createInterface } from "node:readline";
import { acquire } from "../dist/node/index.js";

const [mode, backend, arg, rounds] = process.argv.slice(2);
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

if (mode === "pairs") {
  const until = nowMs() + Number(arg);
  let n = 0;
  while (nowMs() < until) {
    const lock = await acquire("pairs", { backend });
    await lock.release();
    n++;
  }
  console.log(n);
} else if (mode === "hold") {
  const lock = await acquire(arg, { backend });
  console.log("held");
  const lines = createInterface({ input: process.stdin });
  for await (const _ of lines) break;
  console.log(nowMs());
  await lock.release();
  process.exit(0);
} else if (mode === "wait") {
  const lock = await acquire(arg, { backend });
  console.log(nowMs());
  await lock.release();
} else if (mode === "contend") {
  const waits = [];
  for (let i = 0; i < Number(rounds); i++) {
    const t0 = nowMs();
    const lock = await acquire(arg, { backend });
    waits.push(nowMs() - t0);
    await lock.release();
  }
  console.log(JSON.stringify(waits));
}
