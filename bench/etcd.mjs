// etcd: what a lock kept in etcd costs, measured first on the tool etcd ships,
// `etcdctl lock`: the anchor a waitlock etcd backend will be compared with.
// The section starts its own single-node etcd with the test harness
// (tests/servers/etcd.ts: random loopback ports, data on tmpfs, so fsync is
// cheap and the numbers are the tools', not the disk's).
//
// (a) Round trip: `TOOL NAME true`, start to exit, by hyperfine, beside
//     etcdctl's own floors: `etcdctl version` (start-up, no server) and
//     `etcdctl put` (start-up + one write).
// (b) Hand-over: a holder runs bash, which prints $EPOCHREALTIME and stops
//     itself (SIGSTOP); a waiter is started and parked (etcd counts its watch);
//     SIGCONT lets the holder's bash print the time again and end; the waiter's
//     bash prints the time first thing. Latency = waiter's start − holder's end:
//     the tool noticing its command ended, releasing, the waiter waking,
//     taking the lock and starting bash.
// (c) Recovery: a holder with a lease of TTL seconds is SIGKILLed while a
//     waiter is parked; latency = waiter's command start − the kill.
import { readFileSync } from "node:fs";
import { tsImport } from "tsx/esm/api";
import { epochMs, lineFrom, run as runCommand, start, until } from "./harness.mjs";
import { measure } from "./hyperfine.mjs";
import { mean, median, summary } from "./stats.mjs";
import { num, ratio } from "./table.mjs";

const etcdctl = (endpoint, ...args) => ["etcdctl", `--endpoints=${endpoint}`, ...args];
const WAITLOCK = new URL("../bin/waitlock", import.meta.url).pathname;

/**
 * The tools measured, one row each:
 * - run(endpoint, name, command): the command line that waits for lock `name`,
 *   runs `command` (an argv) holding it, and releases it when that ends;
 * - hold(endpoint, name, ttl): one that takes the lock with a lease of ttl
 *   seconds, prints a line once it holds, and holds until it is killed.
 * The first row is the anchor the others are divided by.
 */
export const TOOLS = [
  { name: "etcdctl lock", run: (e, n, c) => etcdctl(e, "lock", n, "--", ...c), hold: (e, n, ttl) => etcdctl(e, "lock", `--ttl=${ttl}`, n) },
  {
    name: "waitlock --backend etcd",
    run: (e, n, c) => [WAITLOCK, "--backend", `etcd://${e}/bench`, "-t", "inf", n, "--exec", ...c],
    hold: (e, n, ttl) => [WAITLOCK, "--backend", `etcd://${e}/bench`, "--lease", String(ttl), n, "--exec", "sh", "-c", "echo held; exec sleep 100000"],
  },
];

/** etcdctl's own floors for the round trip: no lock at all. */
const FLOORS = [
  { name: "etcdctl version (start-up)", argv: () => ["etcdctl", "version"] },
  { name: "etcdctl put (one write)", argv: (e) => etcdctl(e, "put", "bench-floor", "x") },
];

const TTL_S = 2;
const HOLDER_SCRIPT = 'echo "s $EPOCHREALTIME $$"; kill -STOP $$; echo "e $EPOCHREALTIME"';
const WAITER_SCRIPT = 'echo "s $EPOCHREALTIME"';
const STEP_TIMEOUT_MS = 30_000;

const spawnArgv = ([cmd, ...args]) => start(cmd, args);
const BASE_S = Math.floor(Date.now() / 1000) - 3600;
/** realtimeMs: now on CLOCK_REALTIME, in the same ms-since-BASE_S as epochMs() (bash's $EPOCHREALTIME). */
const realtimeMs = () => performance.timeOrigin + performance.now() - BASE_S * 1000;

function procState(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0];
  } catch {
    return undefined;
  }
}

/** watchers is etcd's count of open watches: a waiting etcdctl lock watches the key ahead of it. */
async function watchers(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** quiet waits until the previous round's watches have closed, before a round starts its holder. */
const quiet = (url) => until(async () => (await watchers(url)) === 0, "the previous round's watches to close", STEP_TIMEOUT_MS, 5);

/**
 * parked starts a waiter for the lock and resolves once etcd has one watch
 * more than before it (a holder may keep a watch of its own: waitlock's
 * holders listen for --done).
 */
async function parked(url, argv, what) {
  // A holder may still be opening watches of its own (waitlock's holder keeps one, opened just
  // after it says it holds): count from a settled number, or that watch passes for the waiter's
  // and the release lands before the waiter has even started.
  let before = await watchers(url);
  for (let settled = false; !settled; ) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await watchers(url);
    settled = now === before;
    before = now;
  }
  const waiter = spawnArgv(argv);
  await until(
    async () => {
      if (waiter.exitCode !== null) throw new Error(`${what} exited ${waiter.exitCode} before waiting: ${waiter.err.trim().slice(0, 300)}`);
      return (await watchers(url)) > before;
    },
    `${what} to wait for the lock`,
    STEP_TIMEOUT_MS,
    5,
  );
  return waiter;
}

async function finished(child, what) {
  let timer;
  const exit = await Promise.race([
    child.exited,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
  if (exit.code !== 0) throw new Error(`${what} exited ${exit.code ?? exit.signal}: ${child.err.trim().slice(0, 300)}`);
  return child.out;
}

const timeOf = (out, re, what) => {
  const m = re.exec(out);
  if (!m) throw new Error(`no ${re} in the output of ${what}: ${JSON.stringify(out.slice(0, 200))}`);
  return epochMs(m[1], BASE_S);
};

async function handOver(tool, etcd, name) {
  await quiet(etcd.url);
  const holder = spawnArgv(tool.run(etcd.endpoint, name, ["bash", "-c", HOLDER_SCRIPT]));
  const pid = Number((await lineFrom(holder, /^s \S+ \d+$/, STEP_TIMEOUT_MS)).split(" ")[2]);
  await until(() => procState(pid) === "T", "the holder's command to stop itself", STEP_TIMEOUT_MS, 2);
  const waiter = await parked(etcd.url, tool.run(etcd.endpoint, name, ["bash", "-c", WAITER_SCRIPT]), `${tool.name} (waiter)`);
  process.kill(pid, "SIGCONT");
  const [held, waited] = await Promise.all([finished(holder, `${tool.name} (holder)`), finished(waiter, `${tool.name} (waiter)`)]);
  return timeOf(waited, /^s (\S+)$/m, "the waiter") - timeOf(held, /^e (\S+)$/m, "the holder");
}

async function recovery(tool, etcd, name) {
  await quiet(etcd.url);
  const holder = spawnArgv(tool.hold(etcd.endpoint, name, TTL_S));
  await lineFrom(holder, /./, STEP_TIMEOUT_MS);
  const waiter = await parked(etcd.url, tool.run(etcd.endpoint, name, ["bash", "-c", WAITER_SCRIPT]), `${tool.name} (waiter)`);
  const killedAt = realtimeMs();
  holder.kill("SIGKILL");
  await holder.exited;
  return timeOf(await finished(waiter, `${tool.name} (waiter)`), /^s (\S+)$/m, "the waiter") - killedAt;
}

const LIBRARY = new URL("./etcd-library.mjs", import.meta.url).pathname;
const library = (...args) => start(process.execPath, [LIBRARY, ...args], { stdio: ["pipe", "pipe", "pipe"] });

/** libraryHandOver: one process holds, another waits (watch open); holder's release → waiter's grant, ms. */
async function libraryHandOver(etcd, name) {
  await quiet(etcd.url);
  const backend = `etcd://${etcd.endpoint}/benchlib`;
  const holder = library("hold", backend, name);
  await lineFrom(holder, /^held$/, STEP_TIMEOUT_MS);
  const waiter = await parked(etcd.url, [process.execPath, LIBRARY, "wait", backend, name], "library waiter");
  holder.stdin.write("go\n");
  const [released, granted] = await Promise.all([finished(holder, "library holder"), finished(waiter, "library waiter")]);
  return Number(granted.trim()) - Number(released.trim().split("\n").pop());
}

/** contention: procs processes take and release one mutex rounds times each; throughput and waits. */
async function contention(etcd, procs, rounds) {
  const backend = `etcd://${etcd.endpoint}/benchcontend`;
  const t0 = performance.now();
  const outs = await Promise.all(Array.from({ length: procs }, () => finished(library("contend", backend, "c", String(rounds)), "contender")));
  const seconds = (performance.now() - t0) / 1000;
  const waits = outs.flatMap((o) => JSON.parse(o.trim()));
  return { perSecond: waits.length / seconds, ...summary(waits), median: median(waits) };
}

export async function run({ quick }) {
  const { onPath, INSTALL_HINT } = await tsImport("../tests/servers/installed.ts", import.meta.url);
  const missing = ["etcd", "etcdctl", "bash"].filter((b) => !onPath(b));
  if (missing.length) return { skipped: `${missing.join(", ")} not installed (${INSTALL_HINT})` };
  const { startEtcd } = await tsImport("../tests/servers/etcd.ts", import.meta.url);

  const version = /Version: (\S+)/.exec((await runCommand("etcd", ["--version"])).stdout)?.[1];
  const etcd = await startEtcd();
  const hyperfine = { rounds: 3, runs: quick ? 4 : 10, warmup: 2 };
  const handOvers = quick ? 6 : 20;
  const recoveries = quick ? 2 : 5;
  const results = { roundTrip: {}, handOver: {}, recovery: {}, library: {} };
  try {
    const commands = [
      ...FLOORS.map((f) => ({ name: f.name, cmd: f.argv(etcd.endpoint).join(" ") })),
      ...TOOLS.map((t, i) => ({ name: t.name, cmd: t.run(etcd.endpoint, `rt-${i}`, ["true"]).join(" ") })),
    ];
    results.roundTrip = await measure(commands, hyperfine);
    for (const [i, tool] of TOOLS.entries()) {
      const ms = [];
      for (let r = 0; r < handOvers; r++) ms.push(await handOver(tool, etcd, `ho-${i}-${r}`));
      results.handOver[tool.name] = { ...summary(ms), times: ms };
    }
    for (const [i, tool] of TOOLS.entries()) {
      const ms = [];
      for (let r = 0; r < recoveries; r++) ms.push(await recovery(tool, etcd, `rec-${i}-${r}`));
      results.recovery[tool.name] = { n: ms.length, median: median(ms), min: Math.min(...ms), max: Math.max(...ms), times: ms };
    }
    const libMs = [];
    for (let r = 0; r < handOvers; r++) libMs.push(await libraryHandOver(etcd, `lho-${r}`));
    results.library.handOver = { ...summary(libMs), times: libMs };
    const pairs = await finished(library("pairs", `etcd://${etcd.endpoint}/benchpairs`, quick ? "1000" : "3000"), "pairs");
    results.library.pairsPerSecond = Number(pairs.trim()) / (quick ? 1 : 3);
    results.library.contention = await contention(etcd, 8, quick ? 5 : 20);
  } finally {
    await etcd.stop();
  }

  const anchor = TOOLS[0].name;
  const tables = [
    {
      title: "etcd lock round trip: `TOOL NAME true`, start to exit (ms, wall clock)",
      note: `hyperfine -N, ${hyperfine.rounds} rounds × ${hyperfine.runs} runs (+${hyperfine.warmup} warm-up) per command, order rotated each round; one local etcd ${version ?? ""} on tmpfs.`,
      head: ["command", "median", "p90", "min", `÷ ${anchor}`],
      rows: [...FLOORS, ...TOOLS].map(({ name }) => {
        const r = results.roundTrip[name];
        return [name, num(r.median), num(r.p90), num(r.min), ratio(r.median, results.roundTrip[anchor].median)];
      }),
    },
    {
      title: "etcd lock hand-over: holder's command ends → waiter's command starts (ms)",
      note: `${handOvers} hand-overs per tool, one waiter parked (its watch open in etcd) each time; times from bash's $EPOCHREALTIME. The mean is shown because \`etcdctl lock\`'s hand-overs fall in two groups (a few ms, or tens of ms) whose mix decides its p50 from run to run.`,
      head: ["tool", "n", "p50", "mean", "p99", "max", `p50 ÷ ${anchor}`, `mean ÷ ${anchor}`],
      rows: TOOLS.map(({ name }) => {
        const r = results.handOver[name];
        const a = results.handOver[anchor];
        return [name, r.n, num(r.p50), num(mean(r.times)), num(r.p99), num(r.max), ratio(r.p50, a.p50), ratio(mean(r.times), mean(a.times))];
      }),
    },
    {
      title: `etcd lock recovery: holder SIGKILLed (lease ${TTL_S} s) → waiter's command starts (ms)`,
      note: `median of ${recoveries} rounds. The lease is renewed every TTL/3, so it expires ⅔·TTL to TTL after the kill, then etcd's expiry check and the waiter's wake-up follow.`,
      head: ["tool", "n", "median", "min", "max", `÷ ${anchor}`],
      rows: TOOLS.map(({ name }) => {
        const r = results.recovery[name];
        return [name, r.n, num(r.median), num(r.min), num(r.max), ratio(r.median, results.recovery[anchor].median)];
      }),
    },
    {
      title: "waitlock's library on etcd (Node processes, times from CLOCK_MONOTONIC)",
      note: `hand-over: ${handOvers} rounds, holder's release() called → the other process's acquire() resolves; pairs: acquire + release, one process, uncontended; contention: 8 processes × ${quick ? 5 : 20} rounds on one mutex.`,
      head: ["measure", "value"],
      rows: [
        ["hand-over p50 (ms)", num(results.library.handOver.p50)],
        ["hand-over p99 (ms)", num(results.library.handOver.p99)],
        ["acquire + release per second", num(results.library.pairsPerSecond)],
        ["8 contending: acquisitions per second", num(results.library.contention.perSecond)],
        ["8 contending: median wait (ms)", num(results.library.contention.median)],
        ["8 contending: worst wait (ms)", num(results.library.contention.max)],
      ],
    },
  ];
  return { data: { etcd: version, hyperfine, ttlSeconds: TTL_S, ...results }, tables };
}
