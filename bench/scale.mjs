// Scale: a lock directory of 10 000 lock files — 9 000 stale records (left by
// a process that took them and was SIGKILLed) and 1 000 held by a live
// process. Measures `waitlock --list` (the held ones) and `--list --all`
// (every file) against an empty directory, and acquiring one more descriptor
// there, through the CLI and through the library, against an empty directory.
import { readdirSync } from "node:fs";
import { get } from "node:http";
import { acquire } from "../dist/node/index.js";
import { BENCH, NODE, WAITLOCK, lineFrom, removeDir, start, tempDir } from "./harness.mjs";
import { measure } from "./hyperfine.mjs";
import { opsPerSecond } from "./library.mjs";
import { median } from "./stats.mjs";
import { int, num, ratio } from "./table.mjs";

const STALE = 9000;
const HELD = 1000;

/** scrapeMs: wall ms of one GET of url, failing unless it answers 200 with metrics. */
function scrapeMs(url) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d) => (body += d)).on("end", () => {
        if (res.statusCode !== 200 || !body.includes("waitlock_backend_up 1")) reject(new Error(`/metrics answered ${res.statusCode}: ${body.slice(0, 200)}`));
        else resolve(performance.now() - t0);
      });
    }).on("error", reject);
  });
}

/** exporterScrapes starts `waitlock exporter` on dir and times n scrapes of /metrics, one after another. */
async function exporterScrapes(dir, n) {
  const exporter = start(WAITLOCK, ["exporter", "--lock-dir", dir, "--listen", "127.0.0.1:0"]);
  try {
    const deadline = Date.now() + 30_000;
    let m;
    while (!(m = /serving (http:\/\/\S+\/metrics)/.exec(exporter.err))) {
      if (Date.now() > deadline || exporter.exitCode !== null) throw new Error(`exporter did not start: ${exporter.err.slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = [];
    for (let i = 0; i < n; i++) ms.push(await scrapeMs(m[1]));
    return ms;
  } finally {
    exporter.kill("SIGTERM");
    await exporter.exited;
  }
}

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
    data.files = readdirSync(full).filter((n) => n.endsWith(".lock")).length; // not the events file (docs/METRICS.md)
    if (data.files !== STALE + HELD) throw new Error(`expected ${STALE + HELD} lock files, found ${data.files}`);

    const cmds = [
      { name: "--list, empty dir", cmd: `${WAITLOCK} -d ${empty} --list` },
      { name: "--list, 10k files", cmd: `${WAITLOCK} -d ${full} --list` },
      { name: "--list --all, 10k files", cmd: `${WAITLOCK} -d ${full} --list --all` },
      { name: "X --exec true, empty dir", cmd: `${WAITLOCK} -d ${empty} one --exec true` },
      { name: "X --exec true, 10k files", cmd: `${WAITLOCK} -d ${full} one --exec true` },
      { name: "--list --format prometheus, 10k files", cmd: `${WAITLOCK} -d ${full} --list --format prometheus` },
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
    const scrapes = await exporterScrapes(full, quick ? 5 : 15);
    data.exporter = { scrapesMs: scrapes, medianMs: median(scrapes), maxMs: Math.max(...scrapes) };
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
        lst("--list --format prometheus, 10k files", "--list, empty dir"),
        [`waitlock exporter: GET /metrics, 10k files (${data.exporter.scrapesMs.length} scrapes; max ${num(data.exporter.maxMs)})`, num(data.exporter.medianMs), "", ""],
        ["library acquire+release, empty dir (pairs/s)", int(data.library.empty), "", "—"],
        ["library acquire+release, 10k files (pairs/s)", int(data.library.full), "", ratio(data.library.full, data.library.empty)],
      ],
    },
  ];
  return { data, tables };
}
