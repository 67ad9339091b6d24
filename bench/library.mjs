// Library, uncontended: acquire+release pairs/s of waitlock against
// proper-lockfile and lockfile, in this one process, on tmpfs. The peers take
// turns within each run (0.3 s each), so a burst of machine noise hits all of
// them; the table shows the median of the runs, and each ratio is the median
// of the ratios within a run (the machine's speed drifts between runs by more
// than the differences measured: see docs/METRICS.md).
import * as fs from "node:fs";
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

/**
 * syscallFloor is the protocol's uncontended acquire + release (docs/FORMAT.md)
 * as bare system calls from this process, with nothing else: the same
 * calls, in the same order, through the same bindings (fs sync calls and the
 * fs-native-extensions addon the Node adapter loads), on a record of the size
 * waitlock writes. No library can beat it from JavaScript; the ratio
 * "waitlock ÷ floor" is what the library's own work costs.
 */
function syscallFloor(base) {
  const lock = require(`fs-native-extensions/prebuilds/${process.platform}-${process.arch}/fs-native-extensions.node`);
  const { O_RDWR, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  const path = `${base}/floor.slot0.lock`;
  const queue = `${base}/floor.queue`;
  const record = Buffer.alloc(54 + 20 + 5 + 60, 1); // hostname, descriptor and command line of a typical record
  return () => {
    fs.lstatSync(queue, { throwIfNoEntry: false }); // anyone queued? (no: the queue directory does not exist)
    const fd = fs.openSync(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o666);
    fs.fstatSync(fd);
    lock.tryLock(fd, 0, 1, true); // GATE
    lock.tryLock(fd, 1, 1, true); // HELD
    fs.lstatSync(path); // still the file at the path?
    const st = fs.fstatSync(fd); // link count, mode, size before writing
    if ((st.mode & 0o777) !== 0o666) fs.fchmodSync(fd, 0o666); // a new file has the umask's mode: shared directories need 0666
    fs.writeSync(fd, record, 0, record.length, 0);
    fs.lstatSync(path); // release: still our file at the path?
    fs.unlinkSync(path); // then unlink it while locked,
    lock.unlock(fd, 1, 1);
    lock.unlock(fd, 0, 1);
    fs.closeSync(fd); // then unlock and close
  };
}

export async function run({ quick }) {
  const runs = quick ? 3 : 15;
  const seconds = quick ? 0.2 : 0.3;
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
    "syscall floor": syscallFloor(base),
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
  // waitlock ÷ peer within each run (both measured back to back), then the median.
  const ratioOf = (n) => median(samples.waitlock.map((w, r) => w / samples[n][r]));
  const ratios = Object.fromEntries(names.filter((n) => n !== "waitlock").map((n) => [n, ratioOf(n)]));
  const data = { runs, secondsPerRun: seconds, opsPerSecond: samples, median: med, waitlockOverPeer: ratios };
  const tables = [
    {
      title: "Library, uncontended: acquire + release pairs per second (one process, tmpfs)",
      note: `Median of ${runs} runs of ${seconds} s each; the peers take turns within each run, and "waitlock ÷ peer" is the median of the ratios within each run. "syscall floor" is the protocol's system calls for one acquire + release (lstat of the queue directory, open, fstat, two lock ranges, lstat, fstat, fchmod to 0666 when the umask took bits away, write the record; lstat, unlink, two unlocks, close) issued back to back through the same bindings, with no library around them. "waitlock" records lock events (docs/METRICS.md); "events off" is the same with WAITLOCK_EVENTS=off.`,
      head: ["library", "pairs/s (median)", "min … max", "waitlock ÷ peer"],
      rows: names.map((n) => [
        n,
        int(med[n]),
        `${int(Math.min(...samples[n]))} … ${int(Math.max(...samples[n]))}`,
        n === "waitlock" ? "—" : ratio(ratios[n], 1),
      ]),
    },
  ];
  return { data, tables };
}
