// redis: what a lock kept in Redis costs through waitlock's Redis backend,
// against redis-semaphore 5.8.0 (the anchor: the npm package most Node users
// reach for, on the same ioredis client) measured in the same run on the same
// server. The section starts its own redis-server with the test harness
// (tests/servers/redis.ts: a random loopback port, no persistence), so the
// numbers are the tools', not the network's or the disk's.
//
// (a) Library, uncontended: acquire + release per second in one process, a
//     mutex and a semaphore of 4 (redis-semaphore's Mutex and Semaphore).
// (b) Hand-over: one process holds, another waits (parked: in waitlock's
//     queue, or for redis-semaphore past its first attempt and polling); the
//     holder releases; latency = release() called → the waiter's acquire()
//     resolves, on CLOCK_MONOTONIC. Mutex, and a semaphore of 4 whose 4 slots
//     one process holds.
// (c) Contention: 8 processes, started and warmed, then let go together, each
//     looping acquire → release on one mutex for a fixed time: throughput,
//     single waits (p50, worst), and the share: the most acquisitions one
//     process got ÷ the fewest (1.00 is perfectly fair).
// (d) CLI round trip: `waitlock --backend redis://… X --exec true`, start to
//     exit, by hyperfine, beside `node -e 0` and a Node script that only spawns
//     `true`.
import { readFileSync } from "node:fs";
import { BENCH, NODE, ROOT, WAITLOCK, lineFrom, run as runCommand, sleep, start, until } from "./harness.mjs";
import { measure } from "./hyperfine.mjs";
import { median, quantile, summary } from "./stats.mjs";
import { int, num, ratio } from "./table.mjs";

const WORKER = `${BENCH}redis-library.mjs`;
const TOOLS = ["waitlock", "redis-semaphore"];
const ANCHOR = "redis-semaphore";
const SHAPES = [
  { name: "Mutex", limit: 1 },
  { name: "Semaphore(4)", limit: 4 },
];
const STEP_TIMEOUT_MS = 30_000;
const CONTENDERS = 8;

/** Each tool and run gets its own key space: waitlock by its URL's prefix, redis-semaphore by key names. */
let seq = 0;
const where = (redis, tool) => (tool === "waitlock" ? `${redis.url}/0?prefix=bench${++seq}` : `${redis.url}/0`);
const keyName = (tool, what) => (tool === "waitlock" ? what : `bench${++seq}-${what}`);

const worker = (...args) => start(NODE, [WORKER, ...args], { stdio: ["pipe", "pipe", "pipe"] });

async function finished(child, what) {
  let timer;
  const exit = await Promise.race([
    child.exited,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${STEP_TIMEOUT_MS * 4} ms`)), STEP_TIMEOUT_MS * 4))),
  ]).finally(() => clearTimeout(timer));
  if (exit.code !== 0) throw new Error(`${what} exited ${exit.code ?? exit.signal}: ${child.err.trim().slice(0, 300)}`);
  return child.out;
}

/** answer sends a line to a peer and resolves with its next answer line matching re. */
async function answer(peer, line, re) {
  const seen = peer.out.split("\n").length;
  peer.stdin.write(`${line}\n`);
  return until(
    () => {
      if (peer.exitCode !== null) throw new Error(`peer exited ${peer.exitCode}: ${peer.err.trim().slice(0, 300)}`);
      return peer.out.split("\n").slice(seen - 1, -1).find((l) => re.test(l));
    },
    `${re} from a peer after "${line}"`,
    STEP_TIMEOUT_MS,
    1,
  );
}

/** pairs: acquire + release per second, one process per tool and run, taking turns. */
async function pairs(redis, runs, seconds) {
  const samples = {};
  for (let r = 0; r < runs; r++) {
    const order = TOOLS.flatMap((tool) => SHAPES.map((shape) => ({ tool, shape })));
    for (let i = 0; i < order.length; i++) {
      const { tool, shape } = order[(i + r) % order.length]; // rotate: nobody always goes first
      const out = await finished(worker("pairs", tool, where(redis, tool), String(shape.limit), String(seconds)), `${tool} pairs`);
      (samples[`${tool} ${shape.name}`] ??= []).push(Number(out.trim()));
    }
  }
  return samples;
}

/**
 * handOvers: rounds of hold → park a waiter → release, between two long-lived
 * processes of the tool. A waitlock waiter is seen in the queue
 * before the release; a redis-semaphore waiter cannot be seen, so both get the
 * same 30–40 ms after saying "waiting" (3 to 4 of redis-semaphore's 10 ms polls).
 */
async function handOvers(redis, tool, shape, rounds, list) {
  const backend = where(redis, tool);
  const [holder, waiter] = [worker("peer", tool, backend), worker("peer", tool, backend)];
  const ms = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const name = keyName(tool, `ho-${shape.limit}-${r}`);
      await answer(holder, `hold ${name} ${shape.limit} ${shape.limit}`, /^held$/);
      await answer(waiter, `wait ${name} ${shape.limit}`, /^waiting$/);
      if (tool === "waitlock") {
        await until(async () => (await list({ backend, descriptor: name })).some((e) => e.kind === "waiter"), "the waiter queued", STEP_TIMEOUT_MS, 2);
      }
      // A random part: redis-semaphore polls every 10 ms from the moment it said "waiting", so a fixed pause
      // would release at the same phase of its polling every round and bias its numbers (either way).
      await sleep(30 + Math.random() * 10);
      const seen = waiter.out.split("\n").length;
      const released = Number((await answer(holder, "release", /^released /)).split(" ")[1]);
      const granted = Number((await until(() => waiter.out.split("\n").slice(seen - 1, -1).find((l) => l.startsWith("granted ")), "the grant", STEP_TIMEOUT_MS, 1)).split(" ")[1]);
      ms.push(granted - released);
      await answer(holder, "clear", /^clear$/);
      await answer(waiter, "clear", /^clear$/);
    }
    for (const p of [holder, waiter]) p.stdin.end("exit\n");
    await Promise.all([finished(holder, `${tool} holder`), finished(waiter, `${tool} waiter`)]);
  } finally {
    holder.kill("SIGKILL");
    waiter.kill("SIGKILL");
  }
  return ms;
}

/** contention: CONTENDERS processes, warmed, let go together, looping acquire → release for ms. */
async function contention(redis, tool, ms) {
  const backend = where(redis, tool);
  const name = keyName(tool, "contend");
  const kids = [];
  try {
    // One after another: 8 Node processes starting at once on 2 busy cores is a start-up stampede, not the contention measured.
    for (let i = 0; i < CONTENDERS; i++) {
      kids.push(worker("contend", tool, backend, name, "1", String(ms)));
      await lineFrom(kids[i], /^ready$/, STEP_TIMEOUT_MS);
    }
    for (const c of kids) c.stdin.write("go\n");
    const outs = (await Promise.all(kids.map((c) => finished(c, `${tool} contender`)))).map((o) => JSON.parse(o.trim().split("\n").pop()));
    const waits = outs.flatMap((o) => o.waits);
    const counts = outs.map((o) => o.count);
    const seconds = (Math.max(...outs.map((o) => o.end)) - Math.min(...outs.map((o) => o.start))) / 1000;
    return {
      perSecond: waits.length / seconds,
      p50: quantile(waits, 0.5),
      p99: quantile(waits, 0.99),
      max: Math.max(...waits),
      counts,
      share: Math.max(...counts) / Math.min(...counts),
    };
  } finally {
    for (const c of kids) c.kill("SIGKILL");
  }
}

export async function run({ quick }) {
  const { onPath, INSTALL_HINT } = await tsImportServers("installed.ts");
  const missing = ["redis-server", "hyperfine"].filter((b) => !onPath(b));
  if (missing.length) return { skipped: `${missing.join(", ")} not installed (${INSTALL_HINT}, hyperfine)` };
  const { startRedis } = await tsImportServers("redis.ts");
  const { list } = await import("../dist/node/index.js");
  const semaphoreVersion = packageVersion("redis-semaphore");
  const ioredisVersion = packageVersion("ioredis");
  const version = /v=(\S+)/.exec((await runCommand("redis-server", ["--version"])).stdout)?.[1];

  const redis = await startRedis();
  const runs = quick ? 2 : 5;
  const seconds = quick ? 0.5 : 1;
  const rounds = quick ? 20 : 100;
  const contendMs = quick ? 2000 : 5000;
  const contendRuns = quick ? 1 : 3;
  const hyperfine = { rounds: 3, runs: quick ? 4 : 10, warmup: 2 };
  const results = { pairs: {}, handOver: {}, contention: {}, roundTrip: {} };
  try {
    results.pairs = await pairs(redis, runs, seconds);
    for (const shape of SHAPES) {
      for (const tool of TOOLS) {
        const ms = await handOvers(redis, tool, shape, rounds, list);
        results.handOver[`${tool} ${shape.name}`] = { ...summary(ms), times: ms };
      }
    }
    for (const tool of TOOLS) {
      const all = [];
      for (let r = 0; r < contendRuns; r++) all.push(await contention(redis, tool, contendMs));
      const med = (key) => median(all.map((x) => x[key]));
      results.contention[tool] = { runs: all, perSecond: med("perSecond"), p50: med("p50"), p99: med("p99"), max: med("max"), share: med("share") };
    }
    const commands = [
      { name: "node -e 0", cmd: `${NODE} -e 0` },
      { name: "node: spawn true", cmd: `${NODE} ${BENCH}spawn-true.cjs` },
      { name: "waitlock --backend redis X --exec true", cmd: `${WAITLOCK} --backend ${redis.url}/0?prefix=benchcli rt --exec true` },
    ];
    results.roundTrip = await measure(commands, hyperfine);
  } finally {
    await redis.stop();
  }

  const pairsMedian = Object.fromEntries(Object.entries(results.pairs).map(([k, v]) => [k, median(v)]));
  const tables = [
    {
      title: "Redis library, uncontended: acquire + release per second (one process)",
      note: `Median of ${runs} runs of ${seconds} s each (after 250 ms of warm-up), one process per tool and run, taking turns; one local redis-server ${version ?? ""} without persistence; redis-semaphore ${semaphoreVersion} on ioredis ${ioredisVersion}.`,
      head: ["tool", ...SHAPES.map((s) => `${s.name} pairs/s`), ...SHAPES.map((s) => `${s.name} ÷ ${ANCHOR}`)],
      rows: TOOLS.map((tool) => [
        tool,
        ...SHAPES.map((s) => int(pairsMedian[`${tool} ${s.name}`])),
        ...SHAPES.map((s) => ratio(pairsMedian[`${tool} ${s.name}`], pairsMedian[`${ANCHOR} ${s.name}`])),
      ]),
    },
    {
      title: "Redis library hand-over: holder's release() called → the waiting process's acquire() resolves (ms)",
      note: `${rounds} hand-overs per row between two long-lived processes; the waiter parked 30–40 ms (uniformly random, so the release falls at any phase of redis-semaphore's 10 ms polling; for waitlock also seen in the queue) before each release; the semaphore's 4 slots all held by one process, which releases one. CLOCK_MONOTONIC.`,
      head: ["tool", "lock", "n", "p50", "p99", "max", `p50 ÷ ${ANCHOR}`],
      rows: SHAPES.flatMap((s) => TOOLS.map((tool) => {
        const r = results.handOver[`${tool} ${s.name}`];
        return [tool, s.name, r.n, num(r.p50), num(r.p99), num(r.max), ratio(r.p50, results.handOver[`${ANCHOR} ${s.name}`].p50)];
      })),
    },
    {
      title: `Redis, ${CONTENDERS} processes contending for one mutex, each looping acquire → release for ${contendMs / 1000} s`,
      note: `Median of ${contendRuns} run(s). share = the most acquisitions one process got ÷ the fewest (1.00: everyone got the same; the target for FIFO is ≤ 1.2).`,
      head: ["tool", "acquisitions/s", "p50 wait (ms)", "p99 wait (ms)", "worst wait (ms)", "share (most ÷ fewest)", `throughput ÷ ${ANCHOR}`],
      rows: TOOLS.map((tool) => {
        const r = results.contention[tool];
        return [tool, int(r.perSecond), num(r.p50), num(r.p99), num(r.max), `${num(r.share)}×`, ratio(r.perSecond, results.contention[ANCHOR].perSecond)];
      }),
    },
    {
      title: "Redis CLI round trip: one invocation, start to exit (ms, wall clock)",
      note: `hyperfine -N, ${hyperfine.rounds} rounds × ${hyperfine.runs} runs (+${hyperfine.warmup} warm-up) per command, order rotated each round; the same local redis-server.`,
      head: ["command", "median", "p90", "min", "÷ node -e 0"],
      rows: Object.entries(results.roundTrip).map(([name, r]) => [name, num(r.median), num(r.p90), num(r.min), ratio(r.median, results.roundTrip["node -e 0"].median)]),
    },
  ];
  return { data: { redis: version, "redis-semaphore": semaphoreVersion, ioredis: ioredisVersion, hyperfine, ...results }, tables };
}

/** tsImportServers loads one of the tests' server helpers (TypeScript) through tsx. */
async function tsImportServers(file) {
  const { tsImport } = await import("tsx/esm/api");
  return tsImport(`../tests/servers/${file}`, import.meta.url);
}

const packageVersion = (name) => JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, "utf8")).version;
