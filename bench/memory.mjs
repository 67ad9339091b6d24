// Memory: peak resident set size of
//  - a CLI that waits: `waitlock -t inf X --exec true` while X is held, parked ~1 s,
//    then let through (/usr/bin/time -v "Maximum resident set size"), beside
//    flock(1) waiting the same way and `node -e 0`;
//  - the foreground holder (`waitlock --owner PID X`): VmRSS/VmHWM from
//    /proc/<holder>/status while it holds, and the peak of the `waitlock` that
//    started it;
//  - a library process holding 1 000 locks (VmHWM/VmRSS), beside a process that
//    loaded the library and holds none, a bare node, and proper-lockfile and
//    lockfile holding 1 000 each.
// Each measurement is repeated; the tables show medians.
import { existsSync } from "node:fs";
import { acquire, list } from "../dist/node/index.js";
import { BENCH, NODE, WAITLOCK, adoptStray, alive, childPids, cmdline, endStray, lineFrom, procStatus, removeDir, sleep, start, tempDir, until, waiting } from "./harness.mjs";
import { median } from "./stats.mjs";
import { mib, ratio } from "./table.mjs";

const TIME = "/usr/bin/time";

function maxRssKiB(stderr) {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  if (!m) throw new Error(`no "Maximum resident set size" in /usr/bin/time output: ${stderr.trim().slice(-300)}`);
  return Number(m[1]);
}

/** waitingCli: peak RSS of a waitlock that waits ~1 s for a held lock, then runs `true`. */
async function waitingCli(dir) {
  const lock = await acquire("memw", { lockDir: dir });
  let released = false;
  try {
    const t = start(TIME, ["-v", WAITLOCK, "-d", dir, "-t", "inf", "memw", "--exec", "true"]);
    const pid = await until(() => childPids(t.pid).find((p) => waiting(p)), "the waiting waitlock to park", 60_000);
    await sleep(1000);
    const whileWaiting = procStatus(pid);
    await lock.release();
    released = true;
    const { code } = await t.exited;
    if (code !== 0) throw new Error(`waiting waitlock exited ${code}: ${t.err.trim().slice(-300)}`);
    return { peakKiB: maxRssKiB(t.err), whileWaitingRssKiB: whileWaiting?.rssKiB };
  } finally {
    if (!released) await lock.release();
  }
}

/** waitingFlock: the same for flock(1), the lock held by another flock running sleep. */
async function waitingFlock(dir) {
  const file = `${dir}/flock.lock`;
  const holder = start("flock", [file, "sleep", "60"], { detached: true });
  try {
    await until(() => childPids(holder.pid).length > 0, "flock to start its command", 10_000);
    const t = start(TIME, ["-v", "flock", file, "true"]);
    await sleep(1000);
    if (t.exitCode !== null) throw new Error(`flock did not wait for the held lock (exited ${t.exitCode})`);
    process.kill(-holder.pid, "SIGKILL"); // flock and its sleep (which inherited the locked fd)
    const { code } = await t.exited;
    if (code !== 0) throw new Error(`waiting flock exited ${code}: ${t.err.trim().slice(-300)}`);
    return { peakKiB: maxRssKiB(t.err) };
  } finally {
    try {
      process.kill(-holder.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

async function nodeFloor() {
  const t = start(TIME, ["-v", NODE, "-e", "0"]);
  await t.exited;
  return { peakKiB: maxRssKiB(t.err) };
}

/** foreground: the holder's memory while it holds, and the peak of the waitlock that handed over. */
async function foreground(dir) {
  const owner = start("sleep", ["600"]);
  let holderPid;
  try {
    const t = start(TIME, ["-v", WAITLOCK, "-d", dir, "--owner", String(owner.pid), "memfg"]);
    const { code } = await t.exited;
    if (code !== 0) throw new Error(`foreground waitlock exited ${code}: ${t.err.trim().slice(-300)}`);
    const entry = (await list({ lockDir: dir, descriptor: "memfg" })).find((e) => e.record);
    holderPid = entry?.record.holderPid;
    if (!holderPid || !cmdline(holderPid).includes("holder.cjs")) throw new Error(`no foreground holder process found (record: ${JSON.stringify(entry?.record)})`);
    adoptStray(holderPid, "holder.cjs");
    await sleep(1000);
    const s = procStatus(holderPid);
    owner.kill("SIGKILL"); // the holder notices within ~100 ms and lets go
    await until(() => !alive(holderPid), "the foreground holder to exit after its owner", 5_000);
    return { waitlockPeakKiB: maxRssKiB(t.err), holderRssKiB: s.rssKiB, holderHwmKiB: s.hwmKiB };
  } finally {
    owner.kill("SIGKILL");
    if (holderPid && alive(holderPid)) endStray(holderPid, "holder.cjs");
  }
}

/** holding: VmHWM/VmRSS of a process holding n locks of impl. */
async function holding(impl, n) {
  const dir = tempDir(`memory-${impl}`); // fresh: the peers' leftovers would block a second run
  const child = start(NODE, [`${BENCH}hold-locks.mjs`, impl, dir, impl, String(n)]);
  try {
    await lineFrom(child, /^ready \d+$/, 60_000);
    await sleep(300);
    const s = procStatus(child.pid);
    return { rssKiB: s.rssKiB, hwmKiB: s.hwmKiB };
  } finally {
    child.kill("SIGKILL");
    await child.exited;
    removeDir(dir);
  }
}

export async function run({ quick }) {
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (Debian package "time")`);
  const repeats = quick ? 1 : 3;
  const dir = tempDir("memory");
  const samples = { waitlockWaiting: [], flockWaiting: [], nodeFloor: [], foreground: [], holding: {} };
  const holdCases = [
    ["none", 0, "bare node (nothing loaded)"],
    ["waitlock", 0, "waitlock loaded, no lock"],
    ["waitlock", 1000, "waitlock, 1 000 locks"],
    ["proper-lockfile", 1000, "proper-lockfile, 1 000 locks"],
    ["lockfile", 1000, "lockfile, 1 000 locks"],
  ];
  try {
    for (let r = 0; r < repeats; r++) {
      samples.waitlockWaiting.push(await waitingCli(dir));
      samples.flockWaiting.push(await waitingFlock(dir));
      samples.nodeFloor.push(await nodeFloor());
      samples.foreground.push(await foreground(dir));
      for (const [impl, n] of holdCases) (samples.holding[`${impl}-${n}`] ??= []).push(await holding(impl, n));
    }
  } finally {
    removeDir(dir);
  }
  const med = (arr, key) => median(arr.map((x) => x[key]));
  const data = {
    repeats,
    waitingCli: { waitlockPeakKiB: med(samples.waitlockWaiting, "peakKiB"), waitlockRssWhileWaitingKiB: med(samples.waitlockWaiting, "whileWaitingRssKiB"), flockPeakKiB: med(samples.flockWaiting, "peakKiB"), nodeFloorPeakKiB: med(samples.nodeFloor, "peakKiB") },
    foreground: { waitlockPeakKiB: med(samples.foreground, "waitlockPeakKiB"), holderRssKiB: med(samples.foreground, "holderRssKiB"), holderHwmKiB: med(samples.foreground, "holderHwmKiB") },
    holding: Object.fromEntries(holdCases.map(([impl, n, label]) => [`${impl}-${n}`, { label, hwmKiB: med(samples.holding[`${impl}-${n}`], "hwmKiB"), rssKiB: med(samples.holding[`${impl}-${n}`], "rssKiB") }])),
    samples,
  };
  const w = data.waitingCli;
  const f = data.foreground;
  const h = data.holding;
  const tables = [
    {
      title: "Memory of the CLI (MiB)",
      note: `Peak RSS from /usr/bin/time -v; the holder's from /proc/<pid>/status while it holds. Median of ${repeats}.`,
      head: ["process", "peak RSS", "RSS now", "÷ node -e 0"],
      rows: [
        ["waitlock -t inf X --exec true, waiting ~1 s", mib(w.waitlockPeakKiB), mib(w.waitlockRssWhileWaitingKiB), ratio(w.waitlockPeakKiB, w.nodeFloorPeakKiB)],
        ["flock FILE true, waiting ~1 s", mib(w.flockPeakKiB), "", ratio(w.flockPeakKiB, w.nodeFloorPeakKiB)],
        ["node -e 0", mib(w.nodeFloorPeakKiB), "", "—"],
        ["waitlock X (foreground; exits after the hand-over)", mib(f.waitlockPeakKiB), "", ratio(f.waitlockPeakKiB, w.nodeFloorPeakKiB)],
        ["foreground holder process, holding", mib(f.holderHwmKiB), mib(f.holderRssKiB), ratio(f.holderHwmKiB, w.nodeFloorPeakKiB)],
      ],
    },
    {
      title: "Memory of a library process holding locks (MiB)",
      note: `VmHWM (peak) and VmRSS from /proc/<pid>/status once it holds them all (bench/hold-locks.mjs). Median of ${repeats}.`,
      head: ["process", "VmHWM", "VmRSS", "waitlock ÷ it (VmHWM)"],
      rows: holdCases.map(([impl, n, label]) => {
        const x = h[`${impl}-${n}`];
        return [label, mib(x.hwmKiB), mib(x.rssKiB), impl !== "waitlock" && n === 1000 ? ratio(h["waitlock-1000"].hwmKiB, x.hwmKiB) : ""];
      }),
    },
  ];
  return { data, tables };
}
