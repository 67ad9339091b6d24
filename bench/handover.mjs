// Hand-over latency: a holder releases → the next waiter proceeds.
//
// Library: N peer processes (bench/handover-peer.mjs) loop acquire → hold 10 ms →
// release → pause 5 ms on one descriptor, more peers than slots so someone is
// usually waiting. Latency = the slot's next acquisition − its release, counted
// only when that release had a waiter (see handovers()).
//
// CLI: waves of W `waitlock -t inf X --exec bash -c '…'` processes. A gate (this
// process, through the library) holds every slot until all W are parked
// waiting (they have their inotify watch), then lets go; the W commands then
// run one after another (or 3 at a time). Each command prints a CLOCK_REALTIME
// timestamp (bash's $EPOCHREALTIME, µs, no fork) when it starts and when it is
// about to end, with its slot; latency = next start on the slot − previous end.
// That spans the end of bash, waitlock noticing its child's exit and releasing,
// the waiter waking (inotify), locking, writing its record and starting bash.
import { acquire } from "../dist/node/index.js";
import { BENCH, NODE, WAITLOCK, epochMs, lineFrom, removeDir, sleep, start, tempDir, until, waiting } from "./harness.mjs";
import { summary } from "./stats.mjs";
import { int, num } from "./table.mjs";

/**
 * handovers takes holds {slot, w, a, r} (w: started waiting, a: acquired,
 * r: released) and returns the hand-overs {ms, waiting}: for each two
 * consecutive holds h, g of one slot, ms = g.a − h.r if someone was waiting
 * when h released — g itself (g.w < h.r), or another waiter still waiting when
 * g got the slot (passed over: ms is then a lower bound of its delay). A slot
 * that was free when its next holder arrived is no hand-over. `waiting` counts
 * the processes waiting at h.r.
 */
export function handovers(holds) {
  const out = [];
  const bySlot = new Map();
  for (const h of holds) bySlot.set(h.slot, [...(bySlot.get(h.slot) ?? []), h]);
  for (const list of bySlot.values()) {
    list.sort((x, y) => x.a - y.a);
    for (let i = 1; i < list.length; i++) {
      const h = list[i - 1];
      const g = list[i];
      const waiters = holds.filter((x) => x.w < h.r && x.a > h.r);
      if (g.w < h.r || waiters.some((x) => x !== g && x.a > g.a)) out.push({ ms: g.a - h.r, waiting: waiters.length });
    }
  }
  return out;
}

async function libraryHandover(dir, max, peers, rounds) {
  const descriptor = `lib-m${max}`;
  const kids = Array.from({ length: peers }, () =>
    start(NODE, [`${BENCH}handover-peer.mjs`, dir, descriptor, String(max), String(rounds), "10", "5"], { stdio: ["pipe", "pipe", "pipe"] }),
  );
  await Promise.all(kids.map((k) => lineFrom(k, /^ready$/)));
  for (const k of kids) k.stdin.end("go\n");
  const exits = await Promise.all(kids.map((k) => k.exited));
  exits.forEach((e, i) => {
    if (e.code !== 0) throw new Error(`hand-over peer exited ${e.code ?? e.signal}: ${kids[i].err.trim().slice(0, 300)}`);
  });
  const holds = kids.flatMap((k) => JSON.parse(k.out.trim().split("\n").pop()).map(([slot, w, a, r]) => ({ slot, w, a, r })));
  return handovers(holds);
}

export async function cliWave(dir, max, waiters) {
  const descriptor = `cli-m${max}`;
  const gate = [];
  for (let i = 0; i < max; i++) gate.push(await acquire(descriptor, { lockDir: dir, maxHolders: max, timeout: 0 }));
  const script = 'echo "s $EPOCHREALTIME $WAITLOCK_SLOT"; sleep 0.01; echo "e $EPOCHREALTIME $WAITLOCK_SLOT"';
  const args = ["-d", dir, "-t", "inf", ...(max > 1 ? ["-m", String(max)] : []), descriptor, "--exec", "bash", "-c", script];
  const kids = Array.from({ length: waiters }, () => start(WAITLOCK, args));
  try {
    await until(
      () => {
        for (const k of kids) if (k.exitCode !== null) throw new Error(`a waiting waitlock exited ${k.exitCode}: ${k.err.trim()}`);
        return kids.every((k) => waiting(k.pid));
      },
      "every waiter to be parked on the lock",
      120_000,
      20,
    );
    await sleep(100);
  } finally {
    for (const g of gate) await g.release();
  }
  let timer;
  const exits = await Promise.race([
    Promise.all(kids.map((k) => k.exited)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("a wave of waiting waitlock processes did not finish within 120 s")), 120_000);
    }),
  ]).finally(() => clearTimeout(timer));
  exits.forEach((e, i) => {
    if (e.code !== 0) throw new Error(`waitlock exited ${e.code ?? e.signal}: ${kids[i].err.trim().slice(0, 300)}`);
  });
  const baseSec = Math.floor(Date.now() / 1000) - 3600;
  return kids.map((k) => {
    const s = /^s (\S+) (\d+)$/m.exec(k.out);
    const e = /^e (\S+) (\d+)$/m.exec(k.out);
    if (!s || !e) throw new Error(`unexpected output of a waiting waitlock: ${JSON.stringify(k.out)}`);
    // every waiter was parked before the gate opened: w = −∞
    return { slot: Number(s[2]), w: -Infinity, a: epochMs(s[1], baseSec), r: epochMs(e[1], baseSec) };
  });
}

/** How many more CLI waiters than slots each wave starts (so W − slots hand-overs per wave). */
const EXTRA_WAITERS = 10;
/** Hand-overs with at most this many processes waiting are also summarised apart (less herd). */
const FEW = 3;

export async function run({ quick }) {
  const dir = tempDir("handover");
  const target = quick ? 40 : 200;
  const results = {};
  try {
    for (const max of [1, 3]) {
      const peers = max === 1 ? 3 : 6;
      const rounds = Math.ceil((target * 1.5) / peers);
      results[`library-m${max}`] = { peers, rounds, holdMs: 10, pauseMs: 5, handovers: await libraryHandover(dir, max, peers, rounds) };
    }
    for (const max of [1, 3]) {
      const waiters = max + (quick ? 5 : EXTRA_WAITERS);
      const waves = Math.ceil(target / (waiters - max));
      const list = [];
      for (let i = 0; i < waves; i++) list.push(...handovers(await cliWave(dir, max, waiters)));
      results[`cli-m${max}`] = { waves, waitersPerWave: waiters, holdMs: 10, handovers: list };
    }
  } finally {
    removeDir(dir);
  }
  const label = {
    "library-m1": ["library", "mutex"],
    "library-m3": ["library", "semaphore of 3"],
    "cli-m1": ["CLI --exec", "mutex"],
    "cli-m3": ["CLI --exec", "semaphore of 3"],
  };
  const data = {};
  const rows = [];
  for (const [k, r] of Object.entries(results)) {
    const ms = r.handovers.map((h) => h.ms);
    const s = summary(ms);
    const few = summary(r.handovers.filter((h) => h.waiting <= FEW).map((h) => h.ms));
    const { handovers: list, ...setup } = r;
    data[k] = { ...setup, ...s, fewWaiting: { atMost: FEW, ...few }, latencies: ms, waiting: list.map((h) => h.waiting) };
    const how = r.peers ? `${r.peers} looping processes` : `${r.waves} waves of ${r.waitersPerWave} waiters`;
    const row = [...label[k], int(s.n), num(s.p50), num(s.p99), num(s.max), `${num(few.p50)} (${few.n})`, how];
    if (s.n < target) row[row.length - 1] += ` (only ${s.n} hand-overs, wanted ${target})`;
    rows.push(row);
  }
  const tables = [
    {
      title: "Hand-over latency: holder releases → next waiter proceeds (ms)",
      note: `Library: release() called → the waiter's acquire() resolves (CLOCK_MONOTONIC). CLI: the held command's last instruction → the next command's first (CLOCK_REALTIME), so it includes waitlock reaping the command, releasing, the waiter waking, locking and spawning bash. Waiters queue in arrival order and a release wakes only those whose turn it is, so many waiting should cost about what few do: "p50, ≤ ${FEW} waiting" counts only hand-overs with at most ${FEW} processes waiting (how many).`,
      head: ["via", "lock", "hand-overs", "p50", "p99", "max", `p50, ≤ ${FEW} waiting`, "setup"],
      align: ["l", "l", "r", "r", "r", "r", "r", "l"],
      rows,
    },
  ];
  return { data, tables };
}
