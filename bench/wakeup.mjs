// Wake-up of a parked waiter: the common case of a process that called
// acquire() once and waits. Each round starts a fresh Node process
// (bench/wakeup-waiter.mjs) on a lock this process holds; once it is parked
// (it said so and has its inotify watch) and has settled for 200 ms, this
// process releases; latency = the waiter's acquire() resolving − release()
// called, both on CLOCK_MONOTONIC.
import { acquire } from "../dist/node/index.js";
import { BENCH, NODE, lineFrom, nowMs, removeDir, sleep, start, tempDir, until, waiting } from "./harness.mjs";
import { quantile, summary } from "./stats.mjs";
import { num } from "./table.mjs";

export async function run({ quick }) {
  const dir = tempDir("wakeup");
  const rounds = quick ? 5 : 15;
  const ms = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const held = await acquire("wake", { lockDir: dir });
      const kid = start(NODE, [`${BENCH}wakeup-waiter.mjs`, dir, "wake"]);
      await lineFrom(kid, /^parked$/);
      await until(() => waiting(kid.pid), "the waiter's inotify watch", 30_000, 5);
      await sleep(200);
      const t0 = nowMs();
      await held.release();
      const got = await lineFrom(kid, /^got (\S+)$/);
      ms.push(Number(got.slice(4)) - t0);
      await kid.exited;
    }
  } finally {
    removeDir(dir);
  }
  const s = summary(ms);
  const data = { rounds, latencies: ms, ...s, p90: quantile(ms, 0.9) };
  const tables = [
    {
      title: "Wake-up of a parked waiter: release() → a fresh process's acquire() resolves (ms)",
      note: `${rounds} rounds, each a new Node process that called acquire() once and waits (parked 200 ms); CLOCK_MONOTONIC.`,
      head: ["rounds", "p50", "p90", "max"],
      rows: [[rounds, num(s.p50), num(data.p90), num(s.max)]],
    },
  ];
  return { data, tables };
}
