// Which process a foreground lock is bound to when waitlock runs under a
// wrapper that exits with it (timeout, sudo, npx...): chooseOwner on fixed
// process chains, then the real wrappers driving bin/waitlock from sh scripts.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { check, list } from "../adapters/node/index.ts";
import { chooseOwner, type ProcessView } from "../adapters/proc.ts";
import { ROOT, eventually, exited, firstLine, tempDir } from "./helpers.ts";

/** proc describes a process as /proc shows it: stat is "pid (comm) state ppid pgrp session ...". */
function proc(pid: number, ppid: number, session: number, argv: string[], comm = (argv[0] ?? "?").split("/").at(-1)!.slice(0, 15)): ProcessView {
  return { pid, stat: `${pid} (${comm}) S ${ppid} ${pid} ${session} 0 -1 4194560`, argv };
}

describe("chooseOwner: the owner of a foreground lock, past wrappers", () => {
  // waitlock is PID 100 in session 10 throughout; the script that runs it is PID 20.
  const self = proc(100, 50, 10, ["node", "/usr/bin/waitlock", "x"]);
  const script = proc(20, 10, 10, ["sh", "./job.sh"]);
  const table: { name: string; self?: ProcessView; chain: ProcessView[]; want: ReturnType<typeof chooseOwner> | number }[] = [
    { name: "a shell calling waitlock owns the lock", chain: [proc(50, 20, 10, ["sh", "./job.sh"]), script], want: 50 },
    { name: "timeout is walked past to the script", chain: [proc(50, 20, 10, ["timeout", "60", "waitlock", "x"]), script], want: 20 },
    { name: "a wrapper named by path, and wrappers of wrappers", chain: [proc(50, 40, 10, ["/usr/bin/timeout", "60", "waitlock"]), proc(40, 20, 10, ["sudo", "timeout"]), script], want: 20 },
    {
      name: "sudo's monitor leads a session of its own: still walked past",
      self: proc(100, 50, 50, ["node", "waitlock", "x"]),
      chain: [proc(50, 40, 50, ["sudo", "waitlock", "x"]), proc(40, 20, 10, ["sudo", "waitlock", "x"]), script],
      want: 20,
    },
    { name: "a wrapper known by its comm when its argv is unreadable", chain: [proc(50, 20, 10, [], "timeout"), script], want: 20 },
    { name: "a wrapper's name as an argument is not a wrapper", chain: [proc(50, 20, 10, ["vim", "timeout"]), script], want: 50 },
    {
      name: "npx: npm's shell and npm (renamed to its title) are walked past",
      chain: [proc(60, 50, 10, ["sh", "-c", "'waitlock' x"]), proc(50, 20, 10, ["npm exec waitlock x          "], "npm exec waitlo"), script],
      want: 20,
    },
    {
      name: "npm exec before it renames itself: node npm-cli.js exec",
      chain: [proc(60, 50, 10, ["sh", "-c", "waitlock x"]), proc(50, 20, 10, ["/usr/bin/node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "--prefix=/app", "exec", "waitlock", "x"]), script],
      want: 20,
    },
    { name: "npx-cli.js", chain: [proc(60, 50, 10, ["sh", "-c", "waitlock x"]), proc(50, 20, 10, ["node", "/usr/lib/node_modules/npm/bin/npx-cli.js", "waitlock", "x"]), script], want: 20 },
    {
      name: "npm run's shell is the script: it owns the lock",
      chain: [proc(60, 50, 10, ["sh", "-c", "waitlock x"]), proc(50, 20, 10, ["npm run lock     "], "npm run lock"), script],
      want: 60,
    },
    {
      name: "npx -c with a script of its own: that shell owns the lock",
      chain: [proc(60, 50, 10, ["sh", "-c", "waitlock x || exit 1; work"]), proc(50, 20, 10, ["npm exec    "], "npm exec"), script],
      want: 60,
    },
    {
      name: "a wrapper whose caller cannot be read: refused",
      chain: [proc(50, 20, 10, ["timeout", "60", "waitlock", "x"])],
      want: { refused: "wrapper", pid: 50, name: "timeout" },
    },
    {
      name: "a wrapper whose caller exited (init adopted it): refused, never bound to init",
      chain: [proc(50, 1, 10, ["timeout", "60", "waitlock", "x"]), proc(1, 0, 1, ["/sbin/init"])],
      want: { refused: "wrapper", pid: 50, name: "timeout" },
    },
    {
      name: "waitlock's own caller exited (adopted): refused",
      chain: [proc(1, 0, 1, ["/sbin/init"])],
      self: proc(100, 1, 10, ["node", "waitlock", "x"]),
      want: { refused: "adopted", pid: 1, name: "init" },
    },
    { name: "nothing readable (no /proc): nothing to tell by", chain: [], want: undefined },
  ];
  for (const { name, self: me, chain, want } of table) {
    test(name, () => {
      const got = chooseOwner(me ?? self, chain);
      if (typeof want === "number") {
        assert.ok(got && "pid" in got && !("refused" in got), `bound to an owner: ${JSON.stringify(got)}`);
        assert.equal(got.pid, want);
      } else {
        assert.deepEqual(got, want);
      }
    });
  }
});

const WAITLOCK = join(ROOT, "bin/waitlock");

/**
 * A user's PATH: `npm test` puts node_modules/.bin first, where a dependency's
 * old npm (6, via @as-pect) has its own npx; the npx a user runs is the one
 * installed beside node.
 */
const USER_PATH = [dirname(process.execPath), ...(process.env.PATH ?? "").split(":").filter((p) => !p.includes("node_modules"))].join(":");

/** script runs a sh script with bin/ on PATH, in the repository (where npx finds waitlock offline). */
function script(text: string, dir: string) {
  return spawn("/bin/sh", ["-c", text], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${join(ROOT, "bin")}:${USER_PATH}`, WAITLOCK_DIR: dir, npm_config_update_notifier: "false" },
    stdio: ["pipe", "pipe", "pipe"],
  });
}

describe("waitlock NAME || exit 1 under a wrapper holds the lock for the script", () => {
  const wrappers = [
    { how: "timeout 60 waitlock", run: "timeout 60 waitlock" },
    { how: "env waitlock", run: "env waitlock" },
    { how: "nice waitlock", run: "nice waitlock" },
    { how: "npx waitlock", run: "npx --offline waitlock" },
  ];
  for (const { how, run } of wrappers) {
    test(`${how} NAME`, async (t) => {
      const dir = tempDir(t);
      const sh = script(`${run} job || exit 1; echo locked; read line`, dir);
      t.after(() => sh.kill("SIGKILL"));
      assert.equal(await firstLine(sh), "locked");
      // waitlock and its wrapper have exited by now; the script still runs.
      const [entry] = await list({ lockDir: dir });
      assert.equal(entry?.record?.ownerPid, sh.pid, "bound to the script, not to the wrapper");
      const outside = spawnSync(WAITLOCK, ["--check", "job"], { env: { ...process.env, WAITLOCK_DIR: dir }, encoding: "utf8" });
      assert.equal(outside.status, 1, "waitlock --check from outside sees it held");
      sh.stdin!.end("go\n");
      await exited(sh);
      await eventually(() => check("job", { lockDir: dir }), "released when the script exited");
    });
  }

  test("a wrapper whose caller is gone is refused in one line, exit 3, holding nothing", async (t) => {
    const dir = tempDir(t);
    // The outer shell starts timeout in the background and exits; once timeout has
    // been adopted (its parent is no longer the outer shell), it runs waitlock.
    const sh = script(`outer=$$; timeout 60 sh -c '
      while [ "$(cut -d" " -f4 /proc/$PPID/stat)" = '"$outer"' ]; do sleep 0.02; done
      exec waitlock orphaned; ' 2>&1 & exit 0`, dir);
    let out = "";
    sh.stdout!.on("data", (d) => (out += d));
    await new Promise((resolve) => sh.stdout!.once("end", resolve)); // the background command's stdout closes when it exits
    assert.match(out, /^waitlock: waitlock runs under timeout \(PID \d+\), which exits when waitlock does, and the script that started it cannot be found; not taking orphaned \(use --owner PID, or --exec\)\n$/);
    assert.equal(await check("orphaned", { lockDir: dir }), true, "nothing held");
  });
});
