// hyperfine as a library: runs commands without a shell (-N) in several rounds,
// rotating their order each round so a burst of machine noise is shared out
// rather than landing on one command, and pools the wall times (ms).
import { readFileSync } from "node:fs";
import { mustRun, removeDir, run, tempDir } from "./harness.mjs";
import { median, quantile } from "./stats.mjs";

export async function hyperfineVersion() {
  const r = await run("hyperfine", ["--version"]).catch(() => undefined);
  return r?.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * measure: commands are [{ name, cmd, prepare? }] (cmd and prepare are
 * shell-word strings, run without a shell). Returns { [name]: { times, median,
 * p90, min, max, runs } } with times in ms.
 */
export async function measure(commands, { rounds = 3, runs = 10, warmup = 2 } = {}) {
  const dir = tempDir("hyperfine");
  const times = Object.fromEntries(commands.map((c) => [c.name, []]));
  try {
    for (let r = 0; r < rounds; r++) {
      const order = commands.map((_, i) => commands[(i + r) % commands.length]);
      const file = `${dir}/round${r}.json`;
      const args = ["-N", "--style", "none", "--warmup", String(warmup), "--runs", String(runs), "--export-json", file];
      if (order.some((c) => c.prepare)) for (const c of order) args.push(`--prepare=${c.prepare ?? "true"}`);
      for (const c of order) args.push(`--command-name=${c.name}`);
      args.push(...order.map((c) => c.cmd));
      await mustRun("hyperfine", args);
      for (const res of JSON.parse(readFileSync(file, "utf8")).results) {
        const bad = (res.exit_codes ?? []).filter((c) => c !== 0);
        if (bad.length) throw new Error(`${res.command}: ${bad.length} runs exited non-zero`);
        times[res.command].push(...res.times.map((s) => s * 1000));
      }
    }
  } finally {
    removeDir(dir);
  }
  return Object.fromEntries(
    Object.entries(times).map(([name, t]) => [
      name,
      { runs: t.length, median: median(t), p90: quantile(t, 0.9), min: Math.min(...t), max: Math.max(...t), times: t },
    ]),
  );
}
