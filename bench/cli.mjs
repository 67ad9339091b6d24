// CLI round trip: one whole invocation, start to exit, measured by hyperfine
// without a shell. `node -e 0` is the start-up floor of any Node CLI, and
// spawn-true.cjs that of any Node CLI that runs a command; flock(1) is the C
// tool doing the same job. The foreground case (`waitlock X`, which
// hands the lock to a detached holder and exits) is ended by `waitlock --done`
// in hyperfine's --prepare step, outside the timed part. Its owner is
// hyperfine itself, which another process's --done would send the lost signal
// (TERM) to: the case runs with --lost-signal none.
import { existsSync } from "node:fs";
import { BENCH, NODE, WAITLOCK, removeDir, run as runCommand, tempDir, until } from "./harness.mjs";
import { measure } from "./hyperfine.mjs";
import { num, ratio } from "./table.mjs";

export async function run({ quick }) {
  const dir = tempDir("cli");
  const sh = (s) => `sh -c '${s}'`;
  const fgFile = `${dir}/fg.slot0.lock`;
  // Ends the previous run's holder (bound to hyperfine, which outlives it) and
  // waits until its slot file is unlinked: a new acquirer then gets a new inode.
  const resetFg = sh(`${WAITLOCK} -d ${dir} -q --done fg; i=0; while [ -e ${fgFile} ] && [ $i -lt 1000 ]; do sleep 0.005; i=$((i+1)); done; exit 0`);
  const commands = [
    { name: "node -e 0", cmd: `${NODE} -e 0` },
    { name: "node: spawn true", cmd: `${NODE} ${BENCH}spawn-true.cjs` },
    { name: "flock FILE true", cmd: `flock ${dir}/flock.lock true` },
    { name: "waitlock X --exec true", cmd: `${WAITLOCK} -d ${dir} rt --exec true` },
    { name: "waitlock --check X", cmd: `${WAITLOCK} -d ${dir} --check chk` },
    { name: "waitlock X (foreground)", cmd: `${WAITLOCK} -d ${dir} --lost-signal none fg`, prepare: resetFg },
  ];
  const rounds = 3;
  const runs = quick ? 4 : 10;
  let res;
  try {
    res = await measure(commands, { rounds, runs, warmup: 2 });
  } finally {
    await runCommand("sh", ["-c", `${WAITLOCK} -d ${dir} -q --done fg; exit 0`]);
    await until(() => !existsSync(fgFile), "the last foreground holder to let go", 5_000).catch(() => undefined);
    removeDir(dir);
  }
  const node = res["node -e 0"].median;
  const flock = res["flock FILE true"].median;
  const tables = [
    {
      title: "CLI round trip: one invocation, start to exit (ms, wall clock)",
      note: `hyperfine -N, ${rounds} rounds × ${runs} runs (+2 warm-up) per command, order rotated each round; tmpfs lock directory.`,
      head: ["command", "median", "p90", "min", "÷ node -e 0", "÷ flock"],
      rows: commands.map(({ name }) => {
        const r = res[name];
        const vsPeers = name.startsWith("waitlock") || name === "node: spawn true";
        return [name, num(r.median), num(r.p90), num(r.min), vsPeers ? ratio(r.median, node) : "", vsPeers ? ratio(r.median, flock) : ""];
      }),
    },
  ];
  return { data: { rounds, runsPerRound: runs, results: res }, tables };
}
