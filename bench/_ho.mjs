import { tsImport } from "tsx/esm/api";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
const { startEtcd } = await tsImport("/work/main/tests/servers/etcd.ts", import.meta.url);
const etcd = await startEtcd();
const W = "/work/main/bin/waitlock";
const H = 'echo "s $EPOCHREALTIME $$"; kill -STOP $$; echo "e $EPOCHREALTIME"';
const WS = 'echo "s $EPOCHREALTIME"';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function go(argv) {
  const c = spawn(argv[0], argv.slice(1), { env: { ...process.env, WL_T: "1" } });
  c.out = ""; c.err = "";
  c.stdout.on("data", (d) => (c.out += d)); c.stderr.on("data", (d) => (c.err += d));
  c.done = new Promise((r) => c.on("exit", r));
  return c;
}
const tool = process.argv[2] ?? "waitlock";
const runs = Number(process.argv[3] ?? 10);
const argvOf = (n, script) => tool === "etcdctl" ? ["etcdctl", `--endpoints=${etcd.endpoint}`, "lock", n, "--", "bash", "-c", script]
  : [W, "--backend", `etcd://${etcd.endpoint}/x`, "-t", "inf", n, "--exec", "bash", "-c", script];
const all = [];
for (let r = 0; r < runs; r++) {
  const n = `ho${r}`;
  const h = go(argvOf(n, H));
  while (!/^s \S+ \d+/m.test(h.out)) await sleep(5);
  const pid = Number(/^s \S+ (\d+)/m.exec(h.out)[1]);
  while (readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] !== "T") await sleep(2);
  const w = go(argvOf(n, WS));
  await sleep(600);
  process.kill(pid, "SIGCONT");
  await Promise.all([h.done, w.done]);
  const e = Number(/^e (\S+)/m.exec(h.out)[1]) * 1000;
  const s = Number(/^s (\S+)/m.exec(w.out)[1]) * 1000;
  const ev = [];
  for (const [who, c] of [["H", h], ["W", w]]) for (const m of c.err.matchAll(/^T (\S+) (\S+)$/gm)) ev.push([`${who}:${m[1]}`, Number(m[2]) - e]);
  ev.push(["W:bash-s", s - e]);
  ev.sort((a, b) => a[1] - b[1]);
  all.push(s - e);
  console.log((s - e).toFixed(2), ev.filter(([k, t]) => t > -1).map(([k, t]) => `${k}=${t.toFixed(2)}`).join(" "));
}
all.sort((a, b) => a - b);
console.log("p50", all[Math.floor(all.length / 2)].toFixed(2));
await etcd.stop();
