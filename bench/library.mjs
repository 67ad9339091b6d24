// Library benchmarks: uncontended acquire+release pairs/s against proper-lockfile
// and lockfile in the same process and run, and cross-process hand-over latency.
// usage: node bench/library.mjs [--json FILE]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, closeSync, openSync } from "node:fs";
import { createRequire } from "node:module";
import { acquire } from "../dist/node/index.js";
import { fmt, median, quantile } from "./stats.mjs";

const require = createRequire(import.meta.url);
const properLockfile = require("proper-lockfile");
const lockfile = require("lockfile");
const base = mkdtempSync("/dev/shm/waitlock-bench-"); // tmpfs, as in FACTS.md
const RUNS = 5;
const SECONDS = 1;

async function opsPerSecond(fn) {
  const until = performance.now() + SECONDS * 1000;
  let n = 0;
  while (performance.now() < until) {
    await fn();
    n++;
  }
  return n / SECONDS;
}

const peers = {
  waitlock: async () => {
    const l = await acquire("bench", { lockDir: base });
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
closeSync(openSync(`${base}/pl-target`, "w"));

const results = { uncontended: {}, handover: {} };
for (const name of Object.keys(peers)) results.uncontended[name] = [];
for (let run = 0; run < RUNS; run++) {
  for (const [name, fn] of Object.entries(peers)) results.uncontended[name].push(await opsPerSecond(fn));
}
const wl = median(results.uncontended.waitlock);
console.log(`\nUncontended acquire+release, one process, tmpfs (median of ${RUNS} x ${SECONDS}s)`);
console.log("| library | ops/s | waitlock is |\n|---|---:|---:|");
for (const [name, v] of Object.entries(results.uncontended)) {
  console.log(`| ${name} | ${Math.round(median(v))} | ${name === "waitlock" ? "—" : fmt(wl / median(v)) + "x faster"} |`);
}

async function handover(max, rounds) {
  const peer = () =>
    spawn(process.execPath, [new URL("./handover-peer.mjs", import.meta.url).pathname, base, `handover${max}`, String(max), String(rounds), "10"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
  const kids = Array.from({ length: max + 1 }, peer); // one more peer than slots: someone always waits
  const outputs = await Promise.all(
    kids.map((k) => new Promise((resolve) => { let s = ""; k.stdout.on("data", (d) => (s += d)); k.on("exit", () => resolve(JSON.parse(s))); })),
  );
  // Each acquisition after the first `max` follows the release that freed a slot:
  // pair acquisitions and releases in time order.
  const all = outputs.flatMap((ev) => ev).sort((a, b) => a[1] - b[1]);
  const latencies = [];
  const pendingReleases = [];
  let holders = 0;
  for (const [kind, t] of all) {
    if (kind === "r") {
      holders--;
      pendingReleases.push(t);
    } else {
      if (holders === max - 0 && pendingReleases.length === 0) continue;
      if (pendingReleases.length > 0) latencies.push(t - pendingReleases.shift());
      holders++;
    }
  }
  return latencies;
}

for (const max of [1, 3]) {
  const lat = await handover(max, 100);
  results.handover[max === 1 ? "mutex" : "semaphore3"] = lat;
  console.log(`\nHand-over (${max === 1 ? "mutex" : "semaphore of 3"}), release -> next holder proceeds, ${lat.length} hand-overs: p50 ${fmt(median(lat))} ms, p99 ${fmt(quantile(lat, 0.99))} ms`);
}

const jsonAt = process.argv.indexOf("--json");
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify(results, null, 2));
rmSync(base, { recursive: true, force: true });
