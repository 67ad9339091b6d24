// Scale: a lock directory of 10 000 lock files — 9 000 stale records (left by
// a process that took them and was SIGKILLed) and 1 000 held by a live
// process. Measures `waitlock --list` (the held ones) and `--list --all`
// (every file) against an empty directory, and acquiring one more descriptor
// there, through the CLI and through the library, against an empty directory.
import { readdirSync } from "node:fs";
import { acquire } from "../dist/node/index.js";
import { BENCH, NODE, WAITLOCK, lineFrom, removeDir, start, tempDir } from "./harness.mjs";
import { measure } from "./hyperfine.mjs";
import { opsPerSecond } from "./library.mjs";
import { median } from "./stats.mjs";
import { int, num, ratio } from "./table.mjs";

const STALE = 9000;
const HELD = 1000;

async function holdLocks(dir, prefix, n) {
  const child = start(NODE, [`${BENCH}hold-locks.mjs`, "waitlock", dir, prefix, String(n)]);
  const line = await lineFrom(child, /^ready \d+$/, 120_000);
  if (line !== `ready ${n}`) throw new Error(`hold-locks took ${line}, not ${n}`);
  return child;
}

export async function run({ quick }) {
  const full = tempDir("scale");
  const empty = tempDir("scale-empty");
  let holder;
  const data = { staleFiles: STALE, heldFiles: HELD };
  try {
    const t0 = performance.now();
    const staleMaker = await holdLocks(full, "stale", STALE);
    staleMaker.kill("SIGKILL");
    await staleMaker.exited;
    holder = await holdLocks(full, "held", HELD);
    data.setupSeconds = (performance.now() - t0) / 1000;
    data.files = readdirSync(full).length;
    if (data.files !== STALE + HELD) throw new Error(`expected ${STALE + HELD} lock files, found ${data.files}`);

    const cmds = [
      { name: "--list, empty dir", cmd: `${WAITLOCK} -d ${empty} --list` },
      { name: "--list, 10k files", cmd: `${WAITLOCK} -d ${full} --list` },
      { name: "--list --all, 10k files", cmd: `${WAITLOCK} -d ${full} --list --all` },
      { name: "X --exec true, empty dir", cmd: `${WAITLOCK} -d ${empty} one --exec true` },
      { name: "X --exec true, 10k files", cmd: `${WAITLOCK} -d ${full} one --exec true` },
    ];
    const rounds = 3;
    const runs = quick ? 2 : 3;
    data.cli = await measure(cmds, { rounds, runs, warmup: 1 });
    data.cliRuns = rounds * runs;

    const runsLib = quick ? 3 : 5;
    const seconds = quick ? 0.3 : 0.5;
    const lib = { empty: [], full: [] };
    for (let r = 0; r < runsLib; r++) {
      for (const [k, dir] of r % 2 ? [["full", full], ["empty", empty]] : [["empty", empty], ["full", full]]) {
        lib[k].push(await opsPerSecond(async () => (await acquire("one", { lockDir: dir })).release(), seconds));
      }
    }
    data.library = { runs: runsLib, secondsPerRun: seconds, opsPerSecond: lib, empty: median(lib.empty), full: median(lib.full) };
  } finally {
    holder?.kill("SIGKILL");
    await holder?.exited;
    removeDir(full);
    removeDir(empty);
  }
  const c = data.cli;
  const lst = (name, base) => [name, num(c[name].median), num(c[name].p90), base ? ratio(c[name].median, c[base].median) : "—"];
  const tables = [
    {
      title: `Scale: a lock directory of 10 000 files (${int(STALE)} stale records + ${int(HELD)} held by a live process)`,
      note: `CLI: wall ms, hyperfine -N, ${data.cliRuns} runs each (median, p90). Library: acquire + release pairs/s in one process, median of ${data.library.runs} × ${data.library.secondsPerRun} s.`,
      head: ["operation", "median", "p90", "÷ empty dir"],
      rows: [
        lst("--list, empty dir"),
        lst("--list, 10k files", "--list, empty dir"),
        lst("--list --all, 10k files", "--list, empty dir"),
        lst("X --exec true, empty dir"),
        lst("X --exec true, 10k files", "X --exec true, empty dir"),
        ["library acquire+release, empty dir (pairs/s)", int(data.library.empty), "", "—"],
        ["library acquire+release, 10k files (pairs/s)", int(data.library.full), "", ratio(data.library.full, data.library.empty)],
      ],
    },
  ];
  return { data, tables };
}
