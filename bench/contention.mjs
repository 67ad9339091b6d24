// Contended throughput: K library processes (bench/contention-worker.mjs) each
// take one lock M times back to back (no work inside, none between), on a
// mutex and on a semaphore of 3. Throughput = K·M / (last finish − first start);
// fairness = the distribution of single acquire() waits (p99, max) and how
// long the slowest worker needed for its M compared with the fastest.
import { BENCH, NODE, lineFrom, removeDir, start, tempDir, until } from "./harness.mjs";
import { median, quantile } from "./stats.mjs";
import { int, num } from "./table.mjs";

async function config(dir, max, k, m, repeats) {
  const descriptor = `c-m${max}-k${k}`;
  const kids = Array.from({ length: k }, () =>
    start(NODE, [`${BENCH}contention-worker.mjs`, dir, descriptor, String(max), String(m)], { stdio: ["pipe", "pipe", "pipe"] }),
  );
  const runs = [];
  try {
    await Promise.all(kids.map((c) => lineFrom(c, /^ready$/)));
    for (let r = 0; r < repeats; r++) {
      const done = (c) => c.out.split("\n").slice(0, -1).filter((l) => l.startsWith("{")); // complete lines only
      const seen = kids.map((c) => done(c).length);
      for (const c of kids) c.stdin.write("go\n");
      const outs = await until(
        () => {
          for (const c of kids) if (c.exitCode !== null) throw new Error(`contention worker exited ${c.exitCode}: ${c.err.trim().slice(0, 300)}`);
          const lines = kids.map(done);
          return lines.every((l, i) => l.length > seen[i]) && lines.map((l) => JSON.parse(l[l.length - 1]));
        },
        `K=${k} workers to finish ${m} acquisitions each`,
        120_000,
        5,
      );
      const t0 = Math.min(...outs.map((o) => o.start));
      const t1 = Math.max(...outs.map((o) => o.end));
      const waits = outs.flatMap((o) => o.waits);
      const spans = outs.map((o) => o.end - o.start);
      runs.push({
        perSecond: (k * m) / ((t1 - t0) / 1000),
        p50: quantile(waits, 0.5),
        p99: quantile(waits, 0.99),
        max: Math.max(...waits),
        spanRatio: Math.max(...spans) / Math.min(...spans),
      });
    }
    for (const c of kids) c.stdin.end("exit\n");
    await Promise.all(kids.map((c) => c.exited));
  } finally {
    for (const c of kids) c.kill("SIGKILL");
  }
  const med = (key) => median(runs.map((r) => r[key]));
  return { k, m, repeats, runs, perSecond: med("perSecond"), p50: med("p50"), p99: med("p99"), max: med("max"), spanRatio: med("spanRatio") };
}

export async function run({ quick }) {
  const dir = tempDir("contention");
  const m = quick ? 100 : 200;
  const repeats = quick ? 2 : 3;
  const data = {};
  try {
    for (const max of [1, 3]) for (const k of [2, 4, 8]) data[`m${max}-k${k}`] = { maxHolders: max, ...(await config(dir, max, k, m, repeats)) };
  } finally {
    removeDir(dir);
  }
  const rows = Object.values(data).map((d) => [
    d.maxHolders === 1 ? "mutex" : "semaphore of 3",
    d.k,
    int(d.perSecond),
    num(d.p50),
    num(d.p99),
    num(d.max),
    `${d.spanRatio.toFixed(2)}`,
  ]);
  const tables = [
    {
      title: "Contended throughput and fairness (library, K processes on one lock, tmpfs)",
      note: `Each process: ${m} × (acquire, release at once); median of ${repeats} runs. Waits are single acquire() calls in ms. "slowest ÷ fastest" = the time the slowest process needed for its ${m} over the fastest one's (1.00 = fair).`,
      head: ["lock", "K", "acquisitions/s", "wait p50", "wait p99", "wait max", "slowest ÷ fastest"],
      align: ["l", "r", "r", "r", "r", "r", "r"],
      rows,
    },
  ];
  return { data, tables };
}
