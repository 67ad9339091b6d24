// Library, uncontended: acquire+release pairs/s of waitlock against
// proper-lockfile and lockfile, in this one process, on tmpfs. The peers take
// turns within each run (1 s each), so a burst of machine noise hits all of
// them; the table shows the median of the runs.
import { closeSync, openSync } from "node:fs";
import { createRequire } from "node:module";
import { acquire } from "../dist/node/index.js";
import { median } from "./stats.mjs";
import { int, ratio } from "./table.mjs";
import { removeDir, tempDir } from "./harness.mjs";

const require = createRequire(import.meta.url);
const properLockfile = require("proper-lockfile");
const lockfile = require("lockfile");

/** opsPerSecond calls fn back to back for `seconds` and returns calls per second. */
export async function opsPerSecond(fn, seconds) {
  const warm = performance.now() + 250; // warm up first: JIT tiers, dentry cache
  for (let i = 0; i < 50 || performance.now() < warm; i++) await fn();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let n = 0;
  let t = t0;
  while (t < until) {
    await fn();
    n++;
    if ((n & 15) === 0) t = performance.now();
  }
  return n / ((performance.now() - t0) / 1000);
}

export async function run({ quick }) {
  const runs = quick ? 2 : 5;
  const seconds = quick ? 0.5 : 1;
  const base = tempDir("uncontended");
  closeSync(openSync(`${base}/pl-target`, "w"));
  // The cost of recording lock events (docs/METRICS.md): the same loop in a second
  // directory whose events are off. WAITLOCK_EVENTS is read when a process first
  // uses a lock directory, so each directory keeps the setting it was first used with.
  const quiet = tempDir("uncontended-no-events");
  const before = process.env.WAITLOCK_EVENTS;
  process.env.WAITLOCK_EVENTS = "off";
  await (await acquire("bench", { lockDir: quiet })).release();
  delete process.env.WAITLOCK_EVENTS;
  await (await acquire("bench", { lockDir: base })).release();
  if (before !== undefined) process.env.WAITLOCK_EVENTS = before;
  const peers = {
    waitlock: async () => {
      const l = await acquire("bench", { lockDir: base });
      await l.release();
    },
    "waitlock, events off": async () => {
      const l = await acquire("bench", { lockDir: quiet });
      await l.release();
    },
    "proper-lockfile": async () => {
      const release = await properLockfile.lock(`${base}/pl-target`, { realpath: false });
      await release();
    },
    lockfile: () =>
      new Promise((resolve, reject) =>
        lockfile.lock(`${base}/lf.lock`, (err) => (err ? reject(err) : lockfile.unlock(`${base}/lf.lock`, (e) => (e ? reject(e) : resolve())))),
      ),
  };
  const samples = Object.fromEntries(Object.keys(peers).map((n) => [n, []]));
  const names = Object.keys(peers);
  for (let r = 0; r < runs; r++) {
    // rotate the order so no peer always runs first (or right after GC pressure of another)
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      samples[name].push(await opsPerSecond(peers[name], seconds));
    }
  }
  removeDir(base);
  removeDir(quiet);

  const med = Object.fromEntries(names.map((n) => [n, median(samples[n])]));
  const data = { runs, secondsPerRun: seconds, opsPerSecond: samples, median: med };
  const tables = [
    {
      title: "Library, uncontended: acquire + release pairs per second (one process, tmpfs)",
      note: `Median of ${runs} runs of ${seconds} s each; the peers take turns within each run. "waitlock" records lock events (docs/METRICS.md); "events off" is the same with WAITLOCK_EVENTS=off.`,
      head: ["library", "pairs/s (median)", "min … max", "waitlock ÷ peer"],
      rows: names.map((n) => [
        n,
        int(med[n]),
        `${int(Math.min(...samples[n]))} … ${int(Math.max(...samples[n]))}`,
        n === "waitlock" ? "—" : ratio(med.waitlock, med[n]),
      ]),
    },
  ];
  return { data, tables };
}
