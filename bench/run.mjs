// The benchmark suite (`npm run bench`): runs each section in turn, prints its
// tables (markdown), and writes bench/results/results.json, results.md and
// results.svg. A section that fails is reported and the others still run; the
// exit status is then 1. Timings are never asserted: this measures, it does
// not test.
//
// A section whose tools are not installed (etcd, redis-server) says so and is skipped.
//
// usage: node bench/run.mjs [--quick] [--only a,b] [--out DIR]
//   sections: uncontended, contention, handover, wakeup, cli, scale, memory, etcd, redis
//   --quick: fewer runs, for trying the harness (the numbers are not for publishing)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { renderChart } from "./chart.mjs";
import { ROOT, run } from "./harness.mjs";
import { hyperfineVersion } from "./hyperfine.mjs";
import { render } from "./table.mjs";

const SECTIONS = {
  uncontended: () => import("./library.mjs"),
  contention: () => import("./contention.mjs"),
  handover: () => import("./handover.mjs"),
  wakeup: () => import("./wakeup.mjs"),
  cli: () => import("./cli.mjs"),
  scale: () => import("./scale.mjs"),
  memory: () => import("./memory.mjs"),
  etcd: () => import("./etcd.mjs"),
  redis: () => import("./redis.mjs"),
};

// Settings that change how every Node process starts (this sandbox sets
// NODE_EXTRA_CA_CERTS, which adds ~60 ms to each start) would pad both sides
// of every ratio to `node -e 0` and flatter them: every process measured runs
// without them.
const START_UP_ENV = ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"];
const unsetForStartUp = START_UP_ENV.filter((name) => process.env[name] !== undefined);
for (const name of unsetForStartUp) delete process.env[name];

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes("--quick");
const only = opt("--only")?.split(",") ?? Object.keys(SECTIONS);
const unknown = only.filter((s) => !(s in SECTIONS));
if (unknown.length) {
  console.error(`unknown section(s) ${unknown.join(", ")}; known: ${Object.keys(SECTIONS).join(", ")}`);
  process.exit(3);
}
const out = opt("--out") ?? `${ROOT}bench/results`;

const version = (pkg) => {
  try {
    return JSON.parse(readFileSync(`${ROOT}${pkg}/package.json`, "utf8")).version;
  } catch {
    return undefined;
  }
};
const firstLine = async (cmd, args) => (await run(cmd, args).catch(() => ({ stdout: "" }))).stdout.split("\n")[0].trim() || undefined;

const t0 = performance.now();
const meta = {
  date: new Date().toISOString(),
  quick,
  node: process.versions.node,
  kernel: `${os.type()} ${os.release()}`,
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model?.replace(/\s+/g, " ").trim(),
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  loadavgStart: os.loadavg(),
  unsetForStartUp,
  versions: {
    waitlock: version("."),
    "proper-lockfile": version("node_modules/proper-lockfile"),
    "redis-semaphore": version("node_modules/redis-semaphore"),
    lockfile: version("node_modules/lockfile"),
    hyperfine: await hyperfineVersion(),
    flock: await firstLine("flock", ["--version"]),
  },
};
console.log(`# waitlock benchmarks${quick ? " (--quick: NOT for publishing)" : ""}\n`);
console.log(`${meta.date} · Node ${meta.node} · ${meta.kernel} · ${meta.cpus} CPUs (${meta.cpuModel}) · load ${meta.loadavgStart.map((v) => v.toFixed(2)).join(" ")}${unsetForStartUp.length ? ` · measured without ${unsetForStartUp.join(", ")}` : ""}\n`);

const sections = {};
const markdown = [];
for (const name of only) {
  const s0 = performance.now();
  process.stderr.write(`[bench] ${name} …\n`);
  try {
    const mod = await SECTIONS[name]();
    const { data, tables, skipped } = await mod.run({ quick });
    const seconds = (performance.now() - s0) / 1000;
    if (skipped) {
      sections[name] = { seconds, skipped };
      const md = `**${name}: skipped** — ${skipped}\n`;
      console.log(md);
      markdown.push(md);
      process.stderr.write(`[bench] ${name} skipped: ${skipped}\n`);
      continue;
    }
    sections[name] = { seconds, data, tables };
    for (const t of tables) {
      const md = render(t);
      console.log(md);
      markdown.push(md);
    }
    process.stderr.write(`[bench] ${name} done in ${seconds.toFixed(1)} s\n`);
  } catch (err) {
    sections[name] = { seconds: (performance.now() - s0) / 1000, error: String(err?.stack ?? err) };
    console.log(`**${name}: not measured** — ${String(err?.message ?? err).split("\n")[0]}\n`);
    process.stderr.write(`[bench] ${name} FAILED: ${err?.stack ?? err}\n`);
  }
}
meta.loadavgEnd = os.loadavg();
meta.seconds = (performance.now() - t0) / 1000;

const results = { meta, sections };
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/results.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${out}/results.md`, `${[`_${meta.date} · Node ${meta.node} · ${meta.cpus} CPUs · load ${meta.loadavgStart.map((v) => v.toFixed(2)).join(" ")}_`, "", ...markdown].join("\n")}`);
writeFileSync(`${out}/results.svg`, renderChart(results));
console.log(`load ${meta.loadavgEnd.map((v) => v.toFixed(2)).join(" ")} at the end · total ${meta.seconds.toFixed(0)} s · wrote ${out}/results.{json,md,svg}`);
if (Object.values(sections).some((s) => s.error)) process.exitCode = 1;
