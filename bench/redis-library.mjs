// One process of the Redis library benchmarks (bench/redis.mjs starts them),
// for either tool on the same server: waitlock's library (`--backend redis://…`)
// or redis-semaphore (Mutex, or Semaphore of LIMIT) on its own ioredis client.
// Times are CLOCK_MONOTONIC (process.hrtime), which every process on the host
// shares, so one process's release and another's grant compare directly.
//
//   pairs TOOL URL LIMIT SECONDS   acquire+release back to back (after 250 ms of warm-up)
//                                  for SECONDS; prints pairs per second
//   peer TOOL URL                  obeys lines on stdin, one answer line each:
//     hold NAME LIMIT COUNT        takes COUNT slots of NAME → "held"
//     wait NAME LIMIT              → "waiting", then once granted "granted T"
//     release                      releases the oldest lock it has → "released T" (T: just
//                                  before the release call)
//     clear                        releases all it has → "clear"
//   contend TOOL URL NAME LIMIT MS warms up, prints "ready"; on a "go" line loops
//                                  acquire → release for MS ms (an acquisition that
//                                  began in time still counts), then prints one JSON
//                                  line {count, waits, start, end}
import { createInterface } from "node:readline";

const [mode, tool, url, ...rest] = process.argv.slice(2);
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
// Long enough that no waiter in these benchmarks ever gives up: a starved one
// shows as a long wait, not as an error.
const WAIT_MS = 10 * 60_000;

/** locker returns take(name, limit) → Promise<release()>, for the tool named. */
async function locker() {
  if (tool === "waitlock") {
    const { acquire } = await import("../dist/node/index.js");
    return {
      async take(name, limit) {
        const lock = await acquire(name, { backend: url, maxHolders: limit, timeout: WAIT_MS });
        return () => lock.release();
      },
      close: async () => undefined,
    };
  }
  if (tool === "redis-semaphore") {
    const { default: Redis } = await import("ioredis");
    const { Mutex, Semaphore } = await import("redis-semaphore");
    const client = new Redis(url, { lazyConnect: true });
    await client.connect();
    const options = { acquireTimeout: WAIT_MS }; // the rest as shipped: lockTimeout 10 s, retryInterval 10 ms
    return {
      async take(name, limit) {
        const lock = limit === 1 ? new Mutex(client, name, options) : new Semaphore(client, name, limit, options);
        await lock.acquire();
        return () => lock.release();
      },
      close: () => client.quit(),
    };
  }
  throw new Error(`unknown tool ${tool}`);
}

const tools = await locker();

if (mode === "pairs") {
  const [limit, seconds] = rest.map(Number);
  const once = async () => (await tools.take("pairs", limit))();
  const warm = performance.now() + 250;
  for (let i = 0; i < 20 || performance.now() < warm; i++) await once();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let n = 0;
  while (performance.now() < until) {
    await once();
    n++;
  }
  console.log(n / ((performance.now() - t0) / 1000));
} else if (mode === "peer") {
  const held = [];
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, name, limit, count] = line.trim().split(" ");
    if (cmd === "hold") {
      for (let i = 0; i < Number(count); i++) held.push(await tools.take(name, Number(limit)));
      console.log("held");
    } else if (cmd === "wait") {
      console.log("waiting");
      held.push(await tools.take(name, Number(limit)));
      console.log(`granted ${nowMs()}`);
    } else if (cmd === "release") {
      const release = held.shift();
      const t = nowMs();
      await release();
      console.log(`released ${t}`);
    } else if (cmd === "clear") {
      for (const release of held.splice(0)) await release();
      console.log("clear");
    } else if (cmd === "exit") {
      break;
    }
  }
} else if (mode === "contend") {
  const [name, limit, ms] = [rest[0], Number(rest[1]), Number(rest[2])];
  for (let i = 0; i < 5; i++) await (await tools.take(`${name}-warm-${process.pid}`, limit))();
  console.log("ready");
  const lines = createInterface({ input: process.stdin });
  for await (const _ of lines) break;
  const start = nowMs();
  const waits = [];
  while (nowMs() - start < ms) {
    const t0 = nowMs();
    const release = await tools.take(name, limit);
    waits.push(Math.round((nowMs() - t0) * 1000) / 1000);
    await release();
  }
  console.log(JSON.stringify({ count: waits.length, waits, start, end: nowMs() }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
await tools.close();
process.exit(0);
