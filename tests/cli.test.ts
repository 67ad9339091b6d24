// bin/waitlock driven exactly as a shell script drives it: spawned, real
// signals, real exit codes, real sh scripts.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type SpawnOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { acquire, check, list, waitlock } from "../adapters/node/index.ts";
import { wasAdopted } from "../adapters/proc.ts";
import { ROOT, eventually, exited, firstLine, lineReader, forgeHolderPid, lockDirEntries, noPidNamespace, signalCounter, signalSoFar, spawnHolder, spawnReader, tempDir, WAITLOCK, runCli, cannotRunAs } from "./helpers.ts";


interface Result { code: number | null; signal: string | null; stdout: string; stderr: string }

/** run runs waitlock ARGS with WAITLOCK_DIR=dir. */
function run(dir: string, args: string[], opts: { env?: Record<string, string>; input?: string; uid?: number } = {}): Result {
  return runCli(args, { env: { WAITLOCK_DIR: dir, ...opts.env }, input: opts.input, uid: opts.uid });
}

function start(dir: string, args: string[], opts: SpawnOptions = {}) {
  return spawn(WAITLOCK, args, { env: { ...process.env, WAITLOCK_DIR: dir }, stdio: ["ignore", "pipe", "pipe"], ...opts });
}

function sh(script: string, env: Record<string, string>) {
  return spawn("/bin/sh", ["-c", script], { env: { ...process.env, PATH: `${join(ROOT, "bin")}:${process.env.PATH}`, ...env }, stdio: ["pipe", "pipe", "pipe"] });
}

describe("the foreground idiom in a real sh script", () => {
  test("waitlock NAME || exit 1 returns, the script holds the lock, and its exit releases it", async (t) => {
    const dir = tempDir(t);
    const script = sh('waitlock job || exit 1; echo locked; read line; echo bye', { WAITLOCK_DIR: dir });
    t.after(() => script.kill("SIGKILL"));
    assert.equal(await firstLine(script), "locked");
    assert.equal(await check("job", { lockDir: dir }), false, "held after waitlock returned");
    const [entry] = await list({ lockDir: dir });
    assert.equal(entry.record?.ownerPid, script.pid, "owned by the script");
    const second = run(dir, ["job"]);
    assert.equal(second.code, 1, "another instance is refused at once");
    assert.match(second.stderr, /^waitlock: job is held by PID \d+ .*another instance is already running\n$/);
    script.stdin!.end("go\n");
    await exited(script);
    await eventually(() => check("job", { lockDir: dir }), "released after the script exited");
  });

  // The owner is the caller, never an adopter (wasAdopted): these callers are real
  // even though they do not share a session with their child, or are PID 1.
  const realCallers = [
    { who: "a caller that runs waitlock in a session of its own (setsid)", cmd: ["sh", "-c", "setsid waitlock job || exit 1; echo locked; read line"] },
    {
      who: "a container's entry point (PID 1, leading its session)",
      cmd: ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "setsid", "sh", "-c", "waitlock job || exit 1; echo locked; read line"],
      skip: noPidNamespace(),
    },
  ];
  for (const { who, cmd, skip } of realCallers) {
    test(`${who} owns the lock it takes`, { skip }, async (t) => {
      const dir = tempDir(t);
      const script = spawn(cmd[0], cmd.slice(1), { env: { ...process.env, PATH: `${join(ROOT, "bin")}:${process.env.PATH}`, WAITLOCK_DIR: dir }, stdio: ["pipe", "pipe", "inherit"] });
      t.after(() => script.kill("SIGKILL"));
      assert.equal(await firstLine(script), "locked");
      assert.equal(await check("job", { lockDir: dir }), false, "held after waitlock returned");
      script.stdin!.end("go\n");
      await exited(script);
      await eventually(() => check("job", { lockDir: dir }), "released after the caller exited");
    });
  }

  test("an owner that exits releases the lock even if nobody reaps it (a zombie)", async (t) => {
    const dir = tempDir(t);
    // The subshell owns the lock and exits; its parent then is sleep, which never
    // waits for children, so the owner stays a zombie for 60 s.
    // The subshell says its PID (its child's parent): it may have exited, and the lock be gone, before anyone looks.
    const script = sh("(waitlock zombie || exit 1; echo \"locked $(exec sh -c 'echo $PPID')\") & exec sleep 60", { WAITLOCK_DIR: dir });
    t.after(() => script.kill("SIGKILL"));
    const [said, owner] = (await firstLine(script)).split(" ");
    assert.equal(said, "locked");
    await eventually(() => readFileSync(`/proc/${owner}/stat`, "latin1").split(") ")[1]?.startsWith("Z"), "the owner is a zombie");
    await eventually(() => check("zombie", { lockDir: dir }), "released although the owner was not reaped");
  });

  test("an adopted waitlock is told from a real caller by session and by init's PID", () => {
    // /proc/<pid>/stat: pid (comm) state ppid pgrp session ...
    const stat = (pid: number, ppid: number, session: number) => ({ pid, stat: `${pid} (a (b) c) S ${ppid} ${pid} ${session} 0 -1 4194560` });
    assert.equal(wasAdopted(stat(50, 40, 30), stat(40, 30, 30)), false, "same session: the caller");
    assert.equal(wasAdopted(stat(50, 40, 50), stat(40, 30, 30)), false, "we lead our own session (setsid): the caller");
    assert.equal(wasAdopted(stat(50, 1, 30), stat(1, 0, 1)), true, "init in another session adopted us");
    assert.equal(wasAdopted(stat(50, 7, 30), stat(7, 1, 7)), true, "a subreaper in another session adopted us");
    assert.equal(wasAdopted(stat(50, 1, 0), stat(1, 0, 0)), true, "init leading no session adopted us");
    assert.equal(wasAdopted(stat(50, 1, 1), stat(1, 0, 1)), false, "init leading our session is a container's entry point: the caller");
    assert.equal(wasAdopted(stat(50, 40, 30), { pid: 40, stat: "" }), false, "unreadable: nothing to tell by");
  });

  test("slot=$(waitlock -p -m 4 pool) returns the slot without hanging on the pipe", async (t) => {
    const dir = tempDir(t);
    const script = sh('slot=$(waitlock -p -m 4 pool) || exit 1; echo "slot=$slot"; read line', { WAITLOCK_DIR: dir });
    t.after(() => script.kill("SIGKILL"));
    assert.equal(await firstLine(script), "slot=0");
    const [entry] = await list({ lockDir: dir });
    assert.equal(entry.slot, 0);
    assert.equal(entry.record?.ownerPid, script.pid);
    script.stdin!.end("\n");
    await exited(script);
    await eventually(() => check("pool", { lockDir: dir, maxHolders: 4 }).then(async () => (await list({ lockDir: dir })).length === 0), "released");
  });

  test("-p into a pipe nobody reads fails in one line and holds nothing", async (t) => {
    const dir = tempDir(t);
    const owner = spawn("sleep", ["30"]);
    t.after(() => owner.kill("SIGKILL"));
    const child = start(dir, ["-p", "--owner", String(owner.pid), "closed"]);
    child.stdout!.destroy(); // the reader is gone before waitlock prints: EPIPE
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    assert.equal((await exited(child)).code, 4, err);
    assert.match(err, /^waitlock: cannot print the slot: standard output is closed; released\n$/);
    assert.equal(await check("closed", { lockDir: dir }), true);
  });

  test("--done ends a foreground holder", async (t) => {
    const dir = tempDir(t);
    const script = sh("waitlock svc || exit 1; echo locked; read line", { WAITLOCK_DIR: dir });
    t.after(() => script.kill("SIGKILL"));
    await firstLine(script);
    const done = run(dir, ["--done", "svc"]);
    assert.equal(done.code, 0, done.stderr);
    await eventually(() => check("svc", { lockDir: dir }), "released by --done");
    assert.equal(run(dir, ["--done", "svc"]).code, 1, "nothing left to end");
  });

  /** lines collects a child's stdout lines; next() resolves with the next one. */

  test("--done from another process takes the lock from a foreground owner, which gets SIGTERM (as on a lost lease)", async (t) => {
    const dir = tempDir(t);
    const script = sh("waitlock svc || exit 1; echo locked; while :; do sleep 0.05; done", { WAITLOCK_DIR: dir });
    t.after(() => script.kill("SIGKILL"));
    assert.equal(await firstLine(script), "locked");
    const done = run(dir, ["--done", "svc"]);
    assert.equal(done.code, 0, done.stderr);
    await eventually(() => script.signalCode !== null || script.exitCode !== null, "the owner was told it lost the lock");
    assert.equal(script.signalCode, "SIGTERM");
    await eventually(() => check("svc", { lockDir: dir }), "released");
  });

  test("--lost-signal chooses the signal the owner gets (none: it carries on, the lock gone)", async (t) => {
    const dir = tempDir(t);
    const trapped = sh("trap 'echo lost; exit 9' USR1; waitlock --lost-signal USR1 svc || exit 1; echo locked; while :; do sleep 0.05; done", { WAITLOCK_DIR: dir });
    t.after(() => trapped.kill("SIGKILL"));
    const next = lineReader(trapped);
    assert.equal(await next("locked"), "locked");
    assert.equal(run(dir, ["--done", "svc"]).code, 0);
    assert.equal(await next("lost"), "lost");
    assert.equal((await exited(trapped)).code, 9);

    const unaware = sh("waitlock --lost-signal none svc || exit 1; echo locked; read line; echo alive", { WAITLOCK_DIR: dir });
    t.after(() => unaware.kill("SIGKILL"));
    const more = lineReader(unaware);
    assert.equal(await more("locked"), "locked");
    assert.equal(run(dir, ["--done", "svc"]).code, 0);
    await eventually(() => check("svc", { lockDir: dir }), "released");
    unaware.stdin!.end("go\n");
    assert.equal(await more("alive"), "alive", "no signal was sent");
  });

  test("a script's own --done lets go of its lock quietly and carries on; another owner's hold it ends gets SIGTERM", async (t) => {
    const dir = tempDir(t);
    const other = sh("waitlock -m 2 pool || exit 1; echo locked; while :; do sleep 0.05; done", { WAITLOCK_DIR: dir });
    t.after(() => other.kill("SIGKILL"));
    assert.equal(await firstLine(other), "locked");
    const self = sh('waitlock -m 2 pool || exit 1; echo locked; read line; waitlock --done pool; echo "done $?"; waitlock --check -m 2 pool; echo "free $?"; read line; echo alive', { WAITLOCK_DIR: dir });
    t.after(() => self.kill("SIGKILL"));
    const next = lineReader(self);
    assert.equal(await next("locked"), "locked");
    self.stdin!.write("go\n");
    assert.equal(await next("done"), "done 0");
    assert.equal(await next("free"), "free 0", "its own slot is free by the time --done returns, and so is the other");
    self.stdin!.end("go\n");
    assert.equal(await next("alive"), "alive", "the caller was not signalled");
    assert.equal((await exited(self)).code, 0);
    await eventually(() => other.signalCode !== null, "the other owner was told");
    assert.equal(other.signalCode, "SIGTERM");
  });

  test("--owner binds the lock to another process", async (t) => {
    const dir = tempDir(t);
    const owner = spawn("sleep", ["30"]);
    t.after(() => owner.kill("SIGKILL"));
    assert.equal(run(dir, ["--owner", String(owner.pid), "owned"]).code, 0);
    assert.equal(await check("owned", { lockDir: dir }), false);
    owner.kill("SIGKILL");
    await eventually(() => check("owned", { lockDir: dir }), "released when the owner died");
    assert.equal(run(dir, ["--owner", "999999999", "x"]).code, 3);
  });

  test("the foreground holder is the small holder process, not the whole CLI: its RSS is below a waiting CLI's", async (t) => {
    const dir = tempDir(t);
    const script = sh("waitlock mem || exit 1; echo locked; read line", { WAITLOCK_DIR: dir });
    t.after(() => script.kill("SIGKILL"));
    await firstLine(script);
    const [entry] = await list({ lockDir: dir });
    const cmdline = readFileSync(`/proc/${entry.record!.holderPid}/cmdline`, "utf8").split("\0");
    assert.ok(cmdline.some((a) => a.endsWith("dist/cli/holder.cjs")), `the holder runs dist/cli/holder.cjs: ${cmdline.join(" ")}`);
    assert.ok(!cmdline.some((a) => a.endsWith("run.js") || a.endsWith("bin/waitlock")), "not the oclif CLI");
    const status = readFileSync(`/proc/${entry.record!.holderPid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    // The whole CLI, for comparison: a waitlock parked waiting for the same lock.
    const cli = start(dir, ["-v", "-t", "30", "mem", "--exec", "true"]);
    t.after(() => cli.kill("SIGKILL"));
    let cliErr = "";
    cli.stderr!.on("data", (d) => (cliErr += d));
    await eventually(() => cliErr.includes("acquiring"), "the CLI to wait");
    const cliRssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${cli.pid}/status`, "utf8"))?.[1]);
    t.diagnostic(`foreground holder RSS: ${(rssKb / 1024).toFixed(1)} MiB; a waiting CLI: ${(cliRssKb / 1024).toFixed(1)} MiB`);
    assert.ok(rssKb > 0 && rssKb < cliRssKb, `holder ${rssKb} KiB, CLI ${cliRssKb} KiB`);
    script.stdin!.end("\n");
  });
});

describe("exec mode", () => {
  test("the command gets WAITLOCK_SLOT and WAITLOCK_DESCRIPTOR, and its exit status", (t) => {
    const dir = tempDir(t);
    const r = run(dir, ["-m", "3", "gpu", "--exec", "sh", "-c", 'echo "$WAITLOCK_DESCRIPTOR $WAITLOCK_SLOT"; exit 7']);
    assert.equal(r.code, 7);
    assert.equal(r.stdout, "gpu 0\n");
    assert.equal(lockDirEntries(dir).length, 0, "released and cleaned up");
  });

  test("a single argument with whitespace runs through /bin/sh -c", (t) => {
    const dir = tempDir(t);
    const r = run(dir, ["x", "--exec", "echo one two | tr a-z A-Z"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "ONE TWO\n");
  });

  test("127 for a missing command, 126 for one that cannot run, 128+N for a signal", (t) => {
    const dir = tempDir(t);
    const missing = run(dir, ["x", "-e", "no-such-command-here"]);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /^waitlock: no-such-command-here: command not found\n$/);
    const script = join(dir, "..", `not-exec-${process.pid}`);
    writeFileSync(script, "echo hi\n");
    chmodSync(script, 0o644);
    t.after(() => spawnSync("rm", ["-f", script]));
    assert.equal(run(dir, ["x", "-e", script]).code, 126);
    assert.equal(run(dir, ["x", "-e", "sh", "-c", "kill -USR1 $$"]).code, 128 + 10);
  });

  test("signals to waitlock are forwarded to the command", async (t) => {
    const dir = tempDir(t);
    const child = start(dir, ["fw", "--exec", "sh", "-c", "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done"]);
    t.after(() => child.kill("SIGKILL"));
    assert.equal(await firstLine(child), "ready");
    child.kill("SIGTERM");
    const { code } = await exited(child);
    assert.equal(code, 3, "the command's own exit status after handling TERM");
  });

  test("the lock stays held while the command runs even if waitlock is SIGKILLed", async (t) => {
    const dir = tempDir(t);
    const go = join(tempDir(t), "go");
    // The command runs until the file "go" appears (Node closes a killed child's
    // stdin pipe, so stdin cannot be the signal here).
    const child = start(dir, ["survive", "--exec", "sh", "-c", `echo ready; while [ ! -e ${go} ]; do sleep 0.02; done`]);
    t.after(() => child.kill("SIGKILL"));
    assert.equal(await firstLine(child), "ready");
    child.kill("SIGKILL");
    await exited(child);
    assert.equal(await check("survive", { lockDir: dir }), false, "the command still holds it");
    writeFileSync(go, "");
    await eventually(() => check("survive", { lockDir: dir }), "released when the command exited");
  });

  test("--done reaches the command that kept the lock after waitlock was SIGKILLed", async (t) => {
    const dir = tempDir(t);
    const child = start(dir, ["orphan", "--exec", "sh", "-c", "trap 'echo got-term >&2; exit 0' TERM; echo ready; while :; do sleep 0.02; done"]);
    t.after(() => child.kill("SIGKILL"));
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    assert.equal(await firstLine(child), "ready");
    child.kill("SIGKILL"); // the command (sh) keeps the locked file; the record names a dead PID
    await exited(child);
    assert.equal(await check("orphan", { lockDir: dir }), false);
    const done = run(dir, ["--done", "orphan"]);
    assert.equal(done.code, 0, done.stderr);
    await eventually(() => check("orphan", { lockDir: dir }), "released once the command ended");
  });

  test("--done ends an exec holder through waitlock", async (t) => {
    const dir = tempDir(t);
    const child = start(dir, ["job", "--exec", "sh", "-c", "echo ready; while :; do sleep 0.05; done"]);
    t.after(() => child.kill("SIGKILL"));
    await firstLine(child);
    assert.equal(run(dir, ["--done", "job"]).code, 0);
    assert.equal((await exited(child)).code, 143);
    assert.equal(await check("job", { lockDir: dir }), true);
  });

  test("--done refuses a record forged to name a process that only has the file open", async (t) => {
    const dir = tempDir(t);
    const slotFile = join(dir, "fr.slot0.lock");
    const holder = start(dir, ["fr", "--exec", "sleep", "100"]);
    t.after(() => holder.kill("SIGKILL"));
    await eventually(async () => !(await check("fr", { lockDir: dir })), "fr held");
    const [{ record }] = await list({ lockDir: dir });
    const reader = await spawnReader(t, slotFile); // exec 5< fr.slot0.lock; sleep
    await forgeHolderPid(slotFile, reader.pid!);

    const done = run(dir, ["--done", "fr"]);
    assert.equal(done.code, 4, done.stderr);
    assert.match(done.stderr, /^waitlock: the record of fr slot 0 \(.*\) names PID \d+, which does not hold its lock \(a forged or outdated record\); not signalling anyone for it\n$/);
    assert.equal(await signalSoFar(reader), null, "the innocent reader was not signalled");
    assert.equal(holder.exitCode, null, "the real holder still runs");
    assert.equal(await check("fr", { lockDir: dir }), false, "and still holds fr");

    // The holder was left intact: with its true record back, --done ends it.
    await forgeHolderPid(slotFile, record!.holderPid);
    assert.equal(run(dir, ["--done", "fr"]).code, 0);
    assert.equal((await exited(holder)).code, 143);
  });
});

describe("exec mode: each signal reaches the command once", () => {
  const counting = (t: { after(fn: () => void): void }) => signalCounter(t, ["sig"], { WAITLOCK_DIR: tempDir(t) });

  test("a signal sent to the whole process group (as Ctrl-C sends it) is not passed on again", async (t) => {
    const send = await counting(t);
    assert.equal(await send("SIGINT", "group", 1), 1);
    assert.equal(await send("SIGINT", "waitlock", 2), 2, "to waitlock alone, after one to the group: passed on");
    assert.equal(await send("SIGINT", "group", 3), 3, "to the group again");
    assert.equal(await send("SIGTERM", "group", 1), 1);
    assert.equal(await send("SIGTERM", "waitlock", 2), 2);
  });

  test("a signal sent to waitlock alone is passed on once", async (t) => {
    const send = await counting(t);
    assert.equal(await send("SIGINT", "waitlock", 1), 1);
    assert.equal(await send("SIGTERM", "waitlock", 1), 1);
    assert.equal(await send("SIGINT", "waitlock", 2), 2);
  });
});

describe("timeouts and waiting", () => {
  test("no timeout fails at once with 1; -t waits then exits 2; -t 0 tries once", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "busy");
    assert.equal(run(dir, ["busy"]).code, 1);
    assert.equal(run(dir, ["-t", "0", "busy"]).code, 1);
    const timedOut = run(dir, ["-t", "0.3", "busy"]);
    assert.equal(timedOut.code, 2);
    assert.match(timedOut.stderr, new RegExp(`^waitlock: timed out after 0.3 s waiting for busy; held by PID ${holder.pid} \\(.*hold\\.mjs.*\\)\n$`), "names the holder, as busy does");
    assert.equal(run(dir, ["busy"], { env: { WAITLOCK_TIMEOUT: "0.2" } }).code, 2);
    assert.equal(run(dir, ["-q", "busy"]).stderr, "", "-q prints nothing");
    await holder.release();
  });

  test("busy and timeout messages name the holder, its command cut to 60 columns with …", async (t) => {
    const { default: stringWidth } = await import("string-width");
    const cases = [
      { command: "short command", shown: "short command" },
      { command: `backup ${"x".repeat(100)}`, shown: `backup ${"x".repeat(52)}…` },
      { command: "古".repeat(40), shown: `${"古".repeat(29)}…` }, // two columns each: 58 + 1
      { command: `colour \x1b[31mred\n${"y".repeat(60)}`, shown: `colour ?[31mred?${"y".repeat(43)}…` },
    ];
    for (const { command, shown } of cases) {
      const dir = tempDir(t);
      const holder = await spawnHolder(t, dir, "busy", { command });
      const busy = run(dir, ["busy", "--exec", "true"]);
      assert.equal(busy.code, 1);
      const inside = /^waitlock: busy is held by PID \d+ \((.*)\); another instance is already running\n$/.exec(busy.stderr)?.[1];
      assert.equal(inside, shown, busy.stderr);
      assert.ok(stringWidth(inside) <= 60, `${stringWidth(inside)} columns`);
      const timedOut = run(dir, ["-t", "0.1", "busy", "--exec", "true"]);
      assert.equal(timedOut.code, 2);
      assert.equal(timedOut.stderr, `waitlock: timed out after 0.1 s waiting for busy; held by PID ${holder.pid} (${shown})\n`);
      await holder.release();
    }
  });

  test("-t inf waits until the holder goes", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "later");
    const waiter = start(dir, ["-t", "inf", "later", "--exec", "echo", "got it"]);
    const line = firstLine(waiter);
    // Waiting, as a fact: its ticket is in the queue (docs/FORMAT.md), and it is still there.
    const queue = join(dir, "later.queue");
    await eventually(() => existsSync(queue) && readdirSync(queue).length > 0, "the waiter to queue");
    assert.equal(waiter.exitCode, null, "still waiting");
    await holder.release();
    assert.equal(await line, "got it");
    assert.equal((await exited(waiter)).code, 0);
  });

  test("timeouts past setTimeout's limit (~24.9 days) wait, without a warning, until the holder goes", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "long");
    const waiters = [
      start(dir, ["-t", "3000000", "long", "--exec", "true"]),
      start(dir, ["long", "--exec", "true"], { env: { ...process.env, WAITLOCK_DIR: dir, WAITLOCK_TIMEOUT: "5000000" } }),
    ];
    const stderr = ["", ""];
    waiters.forEach((w, i) => {
      t.after(() => w.kill("SIGKILL"));
      w.stderr!.on("data", (d) => (stderr[i] += d));
    });
    // An overflowing timer fires after 1 ms: a second and a half leaves no doubt.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(waiters.map((w) => w.exitCode), [null, null], `still waiting; stderr: ${stderr.join(" | ")}`);
    assert.deepEqual(stderr, ["", ""], "no TimeoutOverflowWarning");
    await holder.release();
    // Both get it in turn: each runs true and lets go.
    assert.deepEqual((await Promise.all(waiters.map(exited))).map((e) => e.code), [0, 0], stderr.join(" | "));
  });

  test("SIGINT or SIGTERM to a waiting waitlock exits 128+N holding nothing", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "held");
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const waiter = start(dir, ["-v", "-t", "inf", "held", "--exec", "true"]);
      let err = "";
      waiter.stderr!.on("data", (d) => (err += d));
      await eventually(() => err.includes("acquiring"), "waiting");
      waiter.kill(signal);
      assert.equal((await exited(waiter)).code, code);
    }
    await holder.release();
    assert.equal(await check("held", { lockDir: dir }), true);
  });
});

describe("the descriptor on stdin", () => {
  /** pipeline runs a sh pipeline that feeds waitlock ("$W"), as a script would. */
  function pipeline(dir: string, script: string): Result {
    const r = spawnSync("/bin/sh", ["-c", script], {
      env: { ...process.env, W: WAITLOCK, WAITLOCK_DIR: dir, WAITLOCK_DEBUG: "", WAITLOCK_TIMEOUT: "" },
      encoding: "utf8", timeout: 30_000,
    });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  }
  const SHOW = `--exec sh -c 'echo "$WAITLOCK_DESCRIPTOR"'`;
  const hasPerl = spawnSync("perl", ["-e", "0"]).status === 0;

  // The producers' sleeps only make the input late; they cannot make these pass.
  test("a line that comes late is waited for, up to its newline", (t) => {
    const dir = tempDir(t);
    const late = pipeline(dir, `(sleep 0.5; echo late) | "$W" ${SHOW}`);
    assert.deepEqual([late.code, late.stdout, late.stderr], [0, "late\n", ""]);
    const split = pipeline(dir, `(printf db-backup; sleep 0.5; printf -- '-prod\\n') | "$W" ${SHOW}`);
    assert.deepEqual([split.code, split.stdout, split.stderr], [0, "db-backup-prod\n", ""], "not db-backup");
    const bad = pipeline(dir, `(printf db-backup; sleep 0.5; echo '-- -prod') | "$W" ${SHOW}`);
    assert.equal(bad.code, 3, "the whole line is the descriptor, and this one is invalid");
    assert.match(bad.stderr, /^waitlock: invalid descriptor "db-backup-- -prod"/);
  });

  test("so it is on a stdin that whoever shares it made non-blocking", { skip: !hasPerl && "needs perl to set O_NONBLOCK" }, (t) => {
    const dir = tempDir(t);
    const nonBlocking = `perl -MFcntl -e 'fcntl(STDIN, F_SETFL, fcntl(STDIN, F_GETFL, 0) | O_NONBLOCK) or die; exec @ARGV'`;
    const split = pipeline(dir, `(printf db-backup; sleep 0.5; printf -- '-prod\\n') | ${nonBlocking} "$W" ${SHOW}`);
    assert.deepEqual([split.code, split.stdout, split.stderr], [0, "db-backup-prod\n", ""]);
  });

  test("the rest of stdin is left to the --exec command, which reads it as usual", (t) => {
    const dir = tempDir(t);
    const rest = pipeline(dir, `printf 'name\\nfirst\\n' | "$W" --exec cat`);
    assert.deepEqual([rest.code, rest.stdout, rest.stderr], [0, "first\n", ""]);
    // The command gets a blocking stdin: cat waits for the late line instead of failing with EAGAIN.
    const later = pipeline(dir, `(echo name; sleep 0.5; echo later) | "$W" --exec cat`);
    assert.deepEqual([later.code, later.stdout, later.stderr], [0, "later\n", ""]);
  });

  test("a terminal, a closed or an empty stdin gives no descriptor: exit 3 at once", (t) => {
    const dir = tempDir(t);
    const missing = /waitlock: missing DESCRIPTOR \(an argument, or the first line of stdin\)/;
    // script(1) gives waitlock a terminal for stdin: it must not wait for someone to type.
    const onTty = spawnSync("script", ["-qfec", `${WAITLOCK} --check`, "/dev/null"], {
      env: { ...process.env, WAITLOCK_DIR: dir, WAITLOCK_DEBUG: "" }, encoding: "utf8", timeout: 10_000,
    });
    assert.equal(onTty.status, 3, onTty.stdout);
    assert.match(onTty.stdout, missing);
    for (const redirect of ["<&-", "</dev/null"]) {
      const r = pipeline(dir, `"$W" --check ${redirect}`);
      assert.equal(r.code, 3, redirect);
      assert.match(r.stderr, missing);
    }
  });
});

describe("check, list and descriptors", () => {
  test("--check is 0 when free and 1 when held; stdin supplies the descriptor", async (t) => {
    const dir = tempDir(t);
    assert.equal(run(dir, ["--check", "c"]).code, 0);
    const lock = await acquire("c", { lockDir: dir });
    assert.equal(run(dir, ["--check", "c"]).code, 1);
    assert.equal(run(dir, ["--check"], { input: "  c  \nignored\n" }).code, 1);
    await lock.release();
    assert.equal(run(dir, ["--check"], { input: "c\n" }).code, 0);
    assert.equal(run(dir, ["-e", "true"], { input: "from-stdin\n" }).code, 0);
    // Only the first line is read: a producer that keeps its end open does not hold waitlock up.
    const open = start(dir, ["--check"], { stdio: ["pipe", "pipe", "pipe"] });
    open.stdin!.write("c\nmore to come");
    assert.equal((await exited(open)).code, 0);
    open.stdin!.end();
  });

  test("descriptors are exact: a held app2 does not make app busy", async (t) => {
    const dir = tempDir(t);
    const lock = await acquire("app2", { lockDir: dir });
    assert.equal(run(dir, ["--check", "app"]).code, 0);
    assert.equal(run(dir, ["app", "-e", "true"]).code, 0);
    await lock.release();
  });

  test("a descriptor named like a command is locked after --", async (t) => {
    const dir = tempDir(t);
    const script = sh("waitlock -- doctor || exit 1; echo locked; read line", { WAITLOCK_DIR: dir });
    t.after(() => script.kill("SIGKILL"));
    assert.equal(await firstLine(script), "locked");
    assert.equal((await list({ lockDir: dir }))[0].descriptor, "doctor");
    assert.equal(run(dir, ["--check", "--", "doctor"]).code, 1);
    script.stdin!.end("\n");
    await exited(script);
    await eventually(() => check("doctor", { lockDir: dir }), "released");
    const exec = run(dir, ["--", "doctor", "--exec", "sh", "-c", "echo $WAITLOCK_DESCRIPTOR"]);
    assert.equal(exec.stdout, "doctor\n", exec.stderr);
  });

  test("--list in human, csv, null and json; corrupt files shown with --all", async (t) => {
    const dir = tempDir(t);
    const lock = await acquire("listed", { lockDir: dir, maxHolders: 2, command: "backup.sh, --daily" });
    writeFileSync(join(dir, "junk.slot0.lock"), "garbage garbage garbage garbage garbage garbage garbage!");
    const human = run(dir, ["--list"]).stdout.split("\n");
    assert.match(human[0], /^DESCRIPTOR\s+SLOT\s+PID\s+OWNER\s+USER\s+ACQUIRED\s+HELD\s+COMMAND$/);
    assert.match(human[1], new RegExp(`^listed\\s+0\\s+${process.pid}\\s`));
    assert.equal(human.length, 3, "corrupt files hidden without --all");
    const csv = run(dir, ["--list", "--format", "csv"]).stdout.split("\n");
    assert.ok(csv[0].startsWith("descriptor,pid,"));
    assert.ok(csv[1].startsWith(`listed,${process.pid},0,active,`));
    assert.ok(csv[1].includes('"backup.sh, --daily"'), "fields with commas are quoted");
    const nul = run(dir, ["-l", "-f", "null"]).stdout;
    assert.ok(nul.endsWith("\0\0"));
    assert.equal(nul.split("\0")[0], "listed");
    const json = JSON.parse(run(dir, ["--list", "--all", "--format", "json"]).stdout);
    assert.deepEqual(json.map((r: { descriptor: string; status: string }) => [r.descriptor, r.status]).sort(), [["junk", "corrupt"], ["listed", "active"]]);
    assert.equal(typeof json.find((r: { descriptor: string }) => r.descriptor === "listed").heldForMs, "number");
    const stale = run(dir, ["--list", "--stale-only"]).stdout;
    assert.match(stale, /junk\s+0\s+-.*corrupt \(not a waitlock record \(bad magic\)\)/);
    await lock.release();
  });

  test("-c uses one slot per CPU, -x leaves some out", (t) => {
    const dir = tempDir(t);
    const r = run(dir, ["-c", "cpu", "--exec", "true"]);
    assert.equal(r.code, 0);
    // What -c counts: the affinity mask capped by a cgroup CPU quota (nproc sees only the first).
    const { affinity, quotaUs, periodUs } = waitlock.platform.cpuLimits();
    const expected = waitlock.core.holdersForCpus(waitlock.core.effectiveCpus(affinity, quotaUs, periodUs), 1);
    const verbose = run(dir, ["-v", "-c", "-x", "1", "cpu", "--exec", "true"]);
    assert.match(verbose.stderr, new RegExp(`acquiring cpu \\(${expected > 1 ? `${expected} slots` : "mutex"}`));
    const all = run(dir, ["-v", "-c", "-x", "99", "cpu", "--exec", "true"]);
    assert.match(all.stderr, /acquiring cpu \(mutex/, "never fewer than one holder");
  });

  test("WAITLOCK_SLOT picks the preferred slot; WAITLOCK_DEBUG traces", (t) => {
    const dir = tempDir(t);
    const r = run(dir, ["-m", "4", "pool", "-e", "sh", "-c", "echo $WAITLOCK_SLOT"], { env: { WAITLOCK_SLOT: "2", WAITLOCK_DEBUG: "yes" } });
    assert.equal(r.stdout, "2\n");
    assert.match(r.stderr, /waitlock: acquired pool slot 2/);
  });
});

describe("descriptors too long to be file names (up to the 255 characters allowed)", () => {
  /** A 255-character descriptor ending in tail; all of them share their first 128 characters. */
  const long = (tail: string) => "long-descriptor.".padEnd(255 - tail.length, "x") + tail;
  /** The documented long file name (docs/FORMAT.md), computed here independently of names.ts. */
  const longName = (d: string, suffix: string) => `${d.slice(0, 128)}~${createHash("sha256").update(d).digest("hex").slice(0, 32)}${suffix}`;
  const rows = (dir: string) => JSON.parse(run(dir, ["--list", "--all", "--format", "json"]).stdout) as { descriptor: string; slot: number; status: string; pid: number | null; problem: string | null }[];

  test("foreground, --check (free 0, held 1), --list with the full name, --done", async (t) => {
    const dir = tempDir(t);
    const d = long("A");
    const free = run(dir, ["--check", d]);
    assert.equal(free.code, 0, free.stderr);
    const script = sh(`waitlock ${d} || exit 1; echo locked; read line`, { WAITLOCK_DIR: dir });
    t.after(() => script.kill("SIGKILL"));
    assert.equal(await firstLine(script), "locked");
    assert.deepEqual(lockDirEntries(dir), [longName(d, ".slot0.lock")]);
    assert.equal(run(dir, ["--check", d]).code, 1);
    assert.equal(run(dir, [d, "--exec", "true"]).code, 1, "another instance is refused");
    assert.deepEqual(rows(dir).map((r) => [r.descriptor, r.slot, r.status]), [[d, 0, "active"]]);
    const done = run(dir, ["--done", d]);
    assert.equal(done.code, 0, done.stderr);
    await eventually(() => check(d, { lockDir: dir }), "released by --done");
    assert.equal(run(dir, ["--check", d]).code, 0);
    assert.equal(run(dir, [d, "--exec", "true"]).code, 0);
  });

  test("-m 12 takes slot 11, and --shared works", async (t) => {
    const dir = tempDir(t);
    const d = long("S");
    const others = [];
    for (let slot = 0; slot < 11; slot++) others.push(await acquire(d, { lockDir: dir, maxHolders: 12, preferredSlot: slot }));
    const inside = `echo $WAITLOCK_SLOT; ${WAITLOCK} --check -m 12 "$WAITLOCK_DESCRIPTOR"; echo $?; ${WAITLOCK} --list --format csv | cut -d, -f1,3 | sort -t, -k2n | tail -1`;
    const r = run(dir, ["-m", "12", d, "--exec", "sh", "-c", inside]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `11\n1\n${d},11\n`, "slot 11; all 12 busy; listed with the full name");
    await Promise.all(others.map((l) => l.release()));
    assert.equal(run(dir, ["--check", "-m", "12", d]).code, 0);

    const reader = start(dir, ["--shared", d, "--exec", "sh", "-c", "echo ready; sleep 30"]);
    t.after(() => reader.kill("SIGKILL"));
    assert.equal(await firstLine(reader), "ready");
    assert.equal(run(dir, ["--check", "--shared", d]).code, 0);
    assert.equal(run(dir, ["--check", d]).code, 1);
    assert.equal(run(dir, ["--shared", d, "--exec", "true"]).code, 0, "a second reader gets in");
    assert.equal(run(dir, [d, "--exec", "true"]).code, 1, "a writer is refused");
    assert.deepEqual(rows(dir).filter((r) => r.status === "active").map((r) => [r.descriptor, r.pid]), [[d, reader.pid]]);
    reader.kill("SIGTERM");
    await exited(reader);
    assert.equal(run(dir, [d, "--exec", "true"]).code, 0, "the writer gets in once the reader is gone");
  });

  test("two long descriptors with the same first 128 characters do not exclude each other", async (t) => {
    const dir = tempDir(t);
    const [a, b] = [long("A"), long("B")];
    const script = sh(`waitlock ${a} || exit 1; echo locked; read line`, { WAITLOCK_DIR: dir });
    t.after(() => script.kill("SIGKILL"));
    assert.equal(await firstLine(script), "locked");
    assert.equal(run(dir, ["--check", b]).code, 0);
    const inB = run(dir, [b, "--exec", "sh", "-c", `${WAITLOCK} --list --format csv | cut -d, -f1`]);
    assert.equal(inB.code, 0, inB.stderr);
    assert.deepEqual(inB.stdout.trim().split("\n").slice(1).sort(), [a, b], "both held at once, each listed with its full name");
    assert.equal(run(dir, ["--done", b]).code, 1, "nothing holds b");
    assert.equal(run(dir, ["--check", a]).code, 1, "a is still held");
    assert.equal(run(dir, ["--done", a]).code, 0);
    await eventually(() => check(a, { lockDir: dir }), "a released by --done");
  });

  test("a long-named file whose record names another descriptor: busy (never a false free), never listed or ended as that descriptor", async (t) => {
    const dir = tempDir(t);
    const [a, b] = [long("A"), long("B")];
    const holder = await spawnHolder(t, dir, a);
    // What two descriptors sharing a long name would look like: b's file holds a's record.
    linkSync(join(dir, longName(a, ".slot0.lock")), join(dir, longName(b, ".slot0.lock")));
    assert.equal(run(dir, ["--check", b]).code, 1, "b's file is locked: b is busy");
    assert.equal(run(dir, [b, "--exec", "true"]).code, 1);
    const listed = rows(dir);
    assert.deepEqual(listed.map((r) => [r.descriptor, r.pid]).sort(), [[a, holder.pid], [longName(b, ""), holder.pid]]);
    assert.match(listed.find((r) => r.descriptor !== a)!.problem!, /record names a descriptor whose files are named otherwise/);
    assert.deepEqual(await list({ lockDir: dir, descriptor: b }), [], "b's listing does not show a's holder");
    assert.equal(run(dir, ["--done", b]).code, 1, "--done b does not end a's holder");
    assert.equal(holder.child.exitCode, null);
    await holder.release();
  });

  test("--check fails as acquiring does, never with 1 (busy), on a file it cannot use", (t) => {
    const dir = tempDir(t);
    symlinkSync(join(dir, "elsewhere"), join(dir, "link.slot0.lock"));
    mkdirSync(join(dir, "dir.slot0.lock"));
    for (const d of ["link", "dir"]) {
      const acquiring = run(dir, [d, "--exec", "true"]);
      const checking = run(dir, ["--check", d]);
      assert.equal(acquiring.code, 6, acquiring.stderr);
      assert.equal(checking.code, 6, `--check ${d}: ${checking.stderr}`);
      assert.match(checking.stderr, /^waitlock: [^\n]+ is not a regular file [^\n]+\n$/);
    }
  });
});

describe("exit codes mean one thing", () => {
  test("a parse failure is usage (3) only when the command line is wrong; a bug is a system error (4) that says so", async () => {
    const { parseFailure } = await import("../cli/main.ts");
    const { parse } = await import("@oclif/core/parser");
    const { mainFlags } = await import("../cli/options.ts");
    const oclifError = await parse(["--bogus"], { flags: mainFlags, strict: false, "--": true }).then(() => undefined, (err: unknown) => err);
    assert.ok(oclifError, "oclif refused --bogus");
    assert.equal(parseFailure(oclifError).code, "EUSAGE");
    const bug = parseFailure(new TypeError("Cannot read properties of undefined (reading 'x')"));
    assert.equal(bug.code, "ESYSTEM");
    assert.match(bug.message, /^internal error while reading the command line \(a bug; please report it\): Cannot read /);
  });

  test("every signal exit comes from one rule: 128+N, EABORTED's 130 being SIGINT's", async () => {
    const { EXIT_CODES, signalExit } = await import("../adapters/errors.ts");
    assert.equal(EXIT_CODES.EABORTED, signalExit(2));
    assert.equal(signalExit(15), 143);
  });
});

describe("bad input: exit 3, one line, nothing created", () => {
  const cases: [string, string[]][] = [
    ["a 256-character descriptor", ["x".repeat(256)]],
    ["a descriptor with a slash", ["a/b"]],
    ["an empty descriptor", [""]],
    ["no descriptor at all", []],
    ["-m 0", ["-m", "0", "x"]],
    ["-m abc", ["-m", "abc", "x"]],
    ["--timeout soon", ["--timeout", "soon", "x"]],
    ["a negative timeout", ["-t", "-1", "x"]],
    ["an unknown flag", ["--bogus", "x"]],
    ["an unknown format", ["--list", "--format", "xml"]],
    ["an unknown facility", ["--syslog", "--syslog-facility", "nope", "x"]],
    ["--check with --done", ["--check", "--done", "x"]],
    ["--all without --list", ["--all", "x"]],
    ["-x without -c", ["-x", "1", "x"]],
    ["--exec without a command", ["x", "--exec"]],
    ["two descriptors", ["x", "y"]],
    ["--shared with a semaphore", ["--shared", "-m", "2", "x"]],
  ];
  for (const [name, args] of cases) {
    test(name, (t) => {
      const dir = tempDir(t);
      const r = run(dir, args);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^waitlock: [^\n]+\n$/, "exactly one line");
      assert.equal(r.stdout, "");
      assert.deepEqual(readdirSync(dir), [], "nothing created");
    });
  }
});

// The flag table declares these (exclusive, dependsOn, ranges, options lists);
// oclif's parser enforces them and cli/flag-errors.ts words them: the texts
// are the ones waitlock has always printed.
describe("a command line that breaks the flag table: waitlock's words, not oclif's", () => {
  const cases: [string[], string][] = [
    [["--check", "--done", "x"], "--check and --done cannot be combined"],
    [["--check", "--done", "--list"], "--check and --done and --list cannot be combined"],
    [["x", "--check", "--done", "--exec", "true"], "--exec and --check and --done cannot be combined"],
    [["--list", "--exec", "true"], "--exec and --list cannot be combined"],
    [["--stale-only", "x"], "--stale-only only applies to --list"],
    [["-f", "csv", "x"], "--format only applies to --list"],
    [["--list", "--all", "--stale-only"], "--all and --stale-only cannot be combined"],
    [["-m", "2", "-c", "x"], "--allowMultiple and --onePerCPU cannot be combined"],
    [["--exclude-cpus", "1", "x"], "--excludeCPUs needs --onePerCPU"],
    [["--owner", "1", "x", "--exec", "true"], "--owner only applies to foreground mode (no --exec, --check, --done or --list)"],
    [["--lost-signal", "KILL", "--check", "x"], "--lost-signal only applies to foreground mode (no --exec, --check, --done or --list)"],
    [["-p", "--done", "x"], "--print-slot only applies when acquiring"],
    [["-d", "/tmp", "--backend", "file:///tmp", "x"], "--backend and --lock-dir cannot be combined (file:///DIR is a lock directory)"],
    [["--allow-multiple", "0", "x"], "--allowMultiple must be from 1 to 4096, not 0"],
    [["-m", "-1", "x"], '--allowMultiple must be a whole number, not "-1"'],
    [["--lease", "86401", "--check", "x"], "--lease must be from 1 to 86400, not 86401"],
    [["--owner", "abc", "x"], '--owner must be a whole number, not "abc"'],
    [["--list", "--format", "xml"], 'unknown format "xml"; use one of human, csv, null, json, prometheus, openmetrics'],
    [["--syslog-facility", "nope", "x"], 'unknown syslog facility "nope"; use daemon, user, local0..local7 or another standard name'],
    // A flag given last without its value is the user's mistake (it was once reported as a bug, exit 4).
    [["x", "--lease"], "--lease needs a value"],
    [["--list", "--format"], "--format needs a value (one of human, csv, null, json, prometheus, openmetrics)"],
  ];
  for (const [args, message] of cases) {
    test(args.join(" "), (t) => {
      const dir = tempDir(t);
      const r = run(dir, args);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stderr, `waitlock: ${message}\n`);
      assert.deepEqual(readdirSync(dir), [], "nothing created");
    });
  }

  test("a facility in any letter case is the same facility", (t) => {
    const r = run(tempDir(t), ["--syslog-facility", "LOCAL0", "--check", "x"]);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe("unusable lock directories", () => {
  test("missing or not a directory: exit 6", (t) => {
    const dir = tempDir(t);
    const r = run(join(dir, "missing"), ["x"]);
    assert.equal(r.code, 6);
    assert.match(r.stderr, /^waitlock: lock directory .*missing \(WAITLOCK_DIR\) does not exist/);
    writeFileSync(join(dir, "file"), "");
    assert.equal(run(dir, ["-d", join(dir, "file"), "x"]).code, 6);
  });

  test("unwritable by this user: exit 5", { skip: cannotRunAs(65534) }, (t) => {
    const dir = tempDir(t);
    chmodSync(dir, 0o755);
    const r = run(dir, ["x"], { uid: 65534 });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /not writable by this user/);
    assert.ok(!existsSync(join(dir, "x.slot0.lock")));
  });

  for (const mode of ["exec", "foreground"] as const) {
    test(`a hard link planted at a slot path is refused in ${mode} mode (exit 6), its target untouched`, (t) => {
      const dir = tempDir(t);
      const target = join(tempDir(t), "v");
      writeFileSync(target, "data\n");
      chmodSync(target, 0o600);
      linkSync(target, join(dir, "h.slot0.lock")); // echo data > v; chmod 600 v; ln v $W/h.slot0.lock
      const owner = spawn("sleep", ["30"]);
      t.after(() => owner.kill("SIGKILL"));
      const r = run(dir, mode === "exec" ? ["h", "--exec", "true"] : ["--owner", String(owner.pid), "h"]);
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, /^waitlock: \S+\/h\.slot0\.lock has 2 hard links \(another name for some other file, never written\); remove it\n$/);
      assert.equal(readFileSync(target, "utf8"), "data\n", "the target's content");
      assert.equal(statSync(target).mode & 0o777, 0o600, "the target's mode");
    });
  }

  // A link made to a held record file, where the release cannot unlink it (the
  // directory became unwritable): emptying the file instead would empty the other
  // name too. Root makes the link and the directory change; the holder is nobody.
  for (const mode of ["exec", "foreground"] as const) {
    test(`${mode} mode: a record file linked during the hold is not emptied by the release`, { skip: cannotRunAs(65534) }, async (t) => {
      const base = tempDir(t);
      chmodSync(base, 0o755);
      const dir = join(base, "locks");
      mkdirSync(dir);
      chownSync(dir, 65534, 65534);
      const env = { ...process.env, WAITLOCK_DIR: dir, WAITLOCK_DEBUG: "" };
      const owner = spawn("sleep", ["30"]);
      t.after(() => owner.kill("SIGKILL"));
      let end: () => void;
      if (mode === "exec") {
        const command = spawn(WAITLOCK, ["h", "--exec", "sh", "-c", "echo $$; exec sleep 30"], { env, uid: 65534, gid: 65534, stdio: ["ignore", "pipe", "inherit"] });
        t.after(() => command.kill("SIGKILL"));
        const pid = Number(await firstLine(command));
        end = () => process.kill(pid, "SIGKILL"); // waitlock then releases and exits
      } else {
        const r = spawnSync(WAITLOCK, ["--owner", String(owner.pid), "h"], { env, uid: 65534, gid: 65534, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        end = () => owner.kill("SIGKILL"); // the holder sees its owner gone
      }
      const [{ record: held }] = await list({ lockDir: dir });
      const other = join(base, "other-name");
      linkSync(join(dir, "h.slot0.lock"), other);
      const record = readFileSync(other);
      assert.ok(record.length > 0);
      chmodSync(dir, 0o555); // the holder (nobody, the owner) may no longer unlink in it
      end();
      // The holder releases (unlink, else empty) before it exits.
      await eventually(() => waitlock.platform.processStartTime(held!.holderPid) === undefined, "the holder has exited");
      assert.deepEqual(readFileSync(other), record, "the other name's content");
      assert.equal(statSync(other).mode & 0o777, 0o666);
    });
  }
});

describe("the fast path as built (dist/cli/run.cjs)", () => {
  const RUN_CJS = join(ROOT, "dist/cli/run.cjs");

  test("V8 accepts the code cache the build wrote, in a Node started as bin/waitlock starts it", () => {
    // Compiled exactly as bin/waitlock compiles it; any V8 flag (NODE_OPTIONS included)
    // makes V8 refuse a cache, so the child gets none.
    const probe = `const fs = require("node:fs"), { wrap } = require("node:module"), { Script } = require("node:vm");
      const f = process.argv[1];
      const s = new Script(wrap(fs.readFileSync(f, "utf8")), { filename: f, cachedData: fs.readFileSync(f + ".cache") });
      process.stdout.write(String(s.cachedDataRejected));`;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, ["-e", probe, RUN_CJS], { env, encoding: "utf8" });
    assert.equal(r.stdout, "false", r.stderr);
  });

  test("every oclif module it defers to node_modules resolves there", () => {
    // Error rendering and help are required from the installed @oclif/core on first
    // use (scripts/lazy-oclif.mjs): one that moved would crash a bad-input run.
    const specs = [...new Set([...readFileSync(RUN_CJS, "utf8").matchAll(/__wlOclifRequire\("([^"]+)"\)/g)].map((m) => m[1]))];
    assert.ok(specs.length >= 5, `found ${specs.length} deferred modules`);
    const oclif = createRequire(createRequire(RUN_CJS).resolve("@oclif/core/package.json"));
    for (const spec of specs) assert.doesNotThrow(() => oclif.resolve(spec), `${spec} does not resolve`);
  });

  test("every require lazy-oclif defers still matches the installed @oclif/core (the version package.json pins)", async () => {
    // A pattern that stops matching costs start-up time silently (the require stays eager): fail here instead.
    const { LAZY, lazify } = await import("../scripts/lazy-oclif.mjs");
    const lib = join(createRequire(RUN_CJS).resolve("@oclif/core/package.json"), "../lib");
    const installed = JSON.parse(readFileSync(join(lib, "../package.json"), "utf8")).version;
    assert.equal(installed, JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).dependencies["@oclif/core"], "the patched version is the pinned one");
    for (const [file, specs] of Object.entries(LAZY)) {
      const code = readFileSync(join(lib, file), "utf8");
      for (const spec of specs) assert.notEqual(lazify(code, spec), code, `${file}: require("${spec}") no longer matches`);
    }
  });
});

describe("help and man page", () => {
  test("--help goes to stdout with exit 0, and waitlock.1 documents every option it shows", (t) => {
    const dir = tempDir(t);
    const help = run(dir, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^USAGE\n  \$ waitlock \[options\] DESCRIPTOR\n/);
    const man = readFileSync(join(ROOT, "dist/man/waitlock.1"), "utf8").replace(/\\-/g, "-");
    const options = [...help.stdout.matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]);
    assert.ok(options.length >= 20, `found ${options.length} options in --help`);
    for (const o of options) assert.ok(man.includes(o), `${o} missing from waitlock.1`);
    assert.equal(run(dir, ["-V"]).stdout, `waitlock ${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version}\n`);
  });
});

describe("watching the listing, and durations", () => {
  test("--list --watch --format json into a pipe is NDJSON, one object per change, that jq follows", async (t) => {
    const dir = tempDir(t);
    // Through a real jq, as a user would follow it: one line out of jq per line in.
    const watcher = spawn("/bin/sh", ["-c", `"${WAITLOCK}" --list --watch --format json | jq -c --unbuffered '[.time != null, (.locks | map([.descriptor, .slot, .pid]))]'`], {
      env: { ...process.env, WAITLOCK_DIR: dir }, stdio: ["ignore", "pipe", "pipe"], detached: true,
    });
    t.after(() => {
      try {
        process.kill(-watcher.pid!, "SIGKILL");
      } catch {
        // gone
      }
    });
    let out = "";
    watcher.stdout!.on("data", (d) => (out += d));
    const lines = () => out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    await eventually(() => lines().length === 1, "the first listing");
    assert.deepEqual(lines(), [[true, []]]);
    const holder = await spawnHolder(t, dir, "followed");
    await eventually(() => lines().length === 2, "the holder's arrival");
    assert.deepEqual(lines()[1], [true, [["followed", 0, holder.pid]]]);
    await new Promise((r) => setTimeout(r, 2500)); // two ticks of the redraw timer: ages change, the locks do not
    assert.equal(lines().length, 2, `nothing new while nothing changed: ${out}`);
    await holder.release();
    await eventually(() => lines().length === 3, "the holder's departure");
    assert.deepEqual(lines()[2], [true, []]);
  });

  test("on a terminal too narrow for the table, each line is cut to its width, never wrapped", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "a-rather-long-descriptor-name", { command: "古".repeat(30) });
    const r = spawnSync("script", ["-qfec", `stty cols 40 rows 10; timeout -s INT 1.5 ${WAITLOCK} --list --watch`, "/dev/null"], {
      env: { ...process.env, WAITLOCK_DIR: dir }, encoding: "utf8",
    });
    const { default: stringWidth } = await import("string-width");
    const screen = r.stdout.split("\x1b[H\x1b[2J").at(-1)!.split(/\r?\n/).filter(Boolean);
    assert.equal(screen.length, 2, `a header and one row: ${JSON.stringify(screen)}`);
    assert.match(screen[0], /^DESCRIPTOR +SLOT .*…$/, "the header, cut");
    for (const line of screen) assert.ok(stringWidth(line) <= 39, `${stringWidth(line)} columns: ${line}`);
    await holder.release();
  });

  test("--list and the waiting line show a duration the same way (1m05s)", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "old");
    // The holder took the lock 65 s ago, as far as its record says.
    const path = join(dir, "old.slot0.lock");
    const { core } = await import("../adapters/node/core.ts");
    writeFileSync(path, core.encodeRecord({ ...core.decodeRecord(readFileSync(path)), acquiredAt: Date.now() - 65_000 }));
    // 1m05s, or a little more on a slow machine: the point is the zero-padded seconds (not 1m5s).
    const listed = run(dir, ["--list"]);
    assert.match(listed.stdout, /\b1m0[5-9]s\b/, listed.stdout);
    const onTty = spawnSync("script", ["-qfec", `${WAITLOCK} -t 0.6 old --exec true`, "/dev/null"], { env: { ...process.env, WAITLOCK_DIR: dir }, encoding: "utf8" });
    assert.match(onTty.stdout, new RegExp(`held by PID ${holder.pid} for 1m0[5-9]s `), onTty.stdout);
    await holder.release();
  });
});

describe("help and man page: commands, exit status, environment, files", () => {
  /** The man page's text with its font changes taken out. */
  const man = () => readFileSync(join(ROOT, "dist/man/waitlock.1"), "utf8").replace(/\\-/g, "-").replace(/\\f[BIR]/g, "");
  /** The terms of a section's .TP list. */
  const terms = (text: string) => [...text.matchAll(/^\.TP\n(.+)$/gm)].map((m) => m[1]);
  const section = (text: string, name: string) => text.split(/^\.SH /m).find((s) => s.startsWith(`${name}\n`)) ?? "";

  test("--help and waitlock.1 list waitlock's commands", (t) => {
    const help = run(tempDir(t), ["--help"]);
    const commands = help.stdout.slice(help.stdout.indexOf("\nCOMMANDS\n"));
    for (const name of ["autocomplete", "doctor", "exporter", "help", "plugins", "version"]) {
      assert.match(commands, new RegExp(`^  ${name} +\\S`, "m"), `--help lists ${name}`);
      assert.ok(terms(section(man(), "COMMANDS")).some((term) => term.split(" ")[0] === name), `waitlock.1 lists ${name}`);
    }
    assert.match(commands, /plugins run/, "and the plugins subcommands");
  });

  test("waitlock.1 has EXIT STATUS, ENVIRONMENT and FILES, agreeing with the README and the error table", async () => {
    const { EXIT_CODES } = await import("../adapters/errors.ts");
    const page = man();
    const codes = terms(section(page, "EXIT STATUS"));
    const readmeCodes = [...readFileSync(join(ROOT, "README.md"), "utf8").matchAll(/^\| (\d+) \| /gm)].map((m) => m[1]);
    assert.deepEqual(codes.filter((c) => Number(c) < 126), readmeCodes, "the README's exit table");
    for (const code of new Set(Object.values(EXIT_CODES))) if (code !== 130) assert.ok(codes.includes(String(code)), `exit ${code} documented`);
    assert.deepEqual(codes.slice(-3), ["126", "127", "128+N"]);
    const env = section(page, "ENVIRONMENT");
    for (const name of ["WAITLOCK_DIR", "WAITLOCK_BACKEND", "WAITLOCK_TIMEOUT", "WAITLOCK_SLOT", "WAITLOCK_DESCRIPTOR", "WAITLOCK_FENCE", "WAITLOCK_SYSLOG", "WAITLOCK_DEBUG"]) {
      assert.match(env, new RegExp(`\\b${name}\\b`), name);
    }
    const files = section(page, "FILES");
    for (const path of ["/var/lock/waitlock", ".slotN.lock", "/dev/log"]) assert.ok(files.includes(path), path);
    // Every WAITLOCK_ variable the options mention is in ENVIRONMENT.
    for (const [name] of section(page, "OPTIONS").matchAll(/WAITLOCK_[A-Z_]+/g)) assert.match(env, new RegExp(`\\b${name}\\b`), `${name} (named in OPTIONS)`);
  });

  test("--allow-multiple, --one-per-cpu and --exclude-cpus work beside the original's camelCase names", (t) => {
    const dir = tempDir(t);
    const show = ["--exec", "sh", "-c", 'echo "$WAITLOCK_SLOT"'];
    for (const flag of ["--allowMultiple", "--allow-multiple"]) {
      const r = run(dir, [flag, "3", "pool", ...show], { env: { WAITLOCK_SLOT: "2" } });
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, "2\n", ""], flag);
    }
    for (const args of [["--onePerCPU", "--excludeCPUs", "0"], ["--one-per-cpu", "--exclude-cpus", "0"], ["-c", "--exclude-cpus=0"]]) {
      const r = run(dir, [...args, "cpus", ...show]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, "0\n", ""], args.join(" "));
    }
    assert.equal(run(dir, ["--exclude-cpus", "1", "x"]).code, 3, "still needs --onePerCPU");
    const help = run(dir, ["--help"]).stdout;
    for (const alias of ["--allow-multiple", "--one-per-cpu", "--exclude-cpus"]) {
      assert.ok(help.includes(alias), `--help names ${alias}`);
      assert.ok(man().includes(alias), `waitlock.1 names ${alias}`);
    }
  });
});

describe("help and version as words", () => {
  test("`waitlock help` and `waitlock version` show help and the version, taking no lock", (t) => {
    const dir = tempDir(t);
    const help = run(dir, ["help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.stdout, run(dir, ["--help"]).stdout);
    const version = run(dir, ["version"]);
    assert.deepEqual([version.code, version.stdout, version.stderr], [0, run(dir, ["-V"]).stdout, ""]);
    assert.match(version.stdout, /^waitlock \d+\.\d+\.\d+/);
    const doctorHelp = run(dir, ["help", "doctor"]);
    assert.equal(doctorHelp.code, 0, doctorHelp.stderr);
    assert.equal(doctorHelp.stdout, run(dir, ["doctor", "--help"]).stdout);
    assert.deepEqual(readdirSync(dir), [], "no lock taken");
  });

  test("`waitlock -- help` and `waitlock -- version` lock the descriptors help and version", (t) => {
    const dir = tempDir(t);
    for (const word of ["help", "version"]) {
      const r = run(dir, ["--", word, "--exec", "sh", "-c", `echo "$WAITLOCK_DESCRIPTOR"; ${WAITLOCK} --check -- ${word}; echo $?`]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${word}\n1\n`, ""], word);
    }
  });
});

describe("shared locks and the waiting status line", () => {
  test("--shared admits readers together and keeps a writer out", async (t) => {
    const dir = tempDir(t);
    const reader = start(dir, ["--shared", "cfg", "--exec", "sh", "-c", "echo ready; sleep 30"]);
    t.after(() => reader.kill("SIGKILL"));
    assert.equal(await firstLine(reader), "ready");
    assert.equal(run(dir, ["--shared", "cfg", "--exec", "true"]).code, 0, "a second reader gets in");
    assert.equal(run(dir, ["cfg", "--exec", "true"]).code, 1, "a writer is refused");
    assert.equal(run(dir, ["--check", "--shared", "cfg"]).code, 0);
    assert.equal(run(dir, ["--check", "cfg"]).code, 1);
    reader.kill("SIGTERM");
    await exited(reader);
    assert.equal(run(dir, ["cfg", "--exec", "true"]).code, 0, "the writer gets in once the readers are gone");
  });

  test("on a terminal a waiting waitlock shows who holds the lock; not in a pipe, not with -q", async (t) => {
    const dir = tempDir(t);
    const holder = await spawnHolder(t, dir, "busy");
    const env = { ...process.env, WAITLOCK_DIR: dir, WAITLOCK_DEBUG: "" };
    // script(1) gives waitlock a pseudo-terminal, as an interactive shell would.
    const onTty = spawnSync("script", ["-qfec", `${WAITLOCK} -t 1.2 busy --exec true`, "/dev/null"], { env, encoding: "utf8" });
    assert.match(onTty.stdout, new RegExp(`waitlock: waiting for busy \\[\\d+s, \\d+s left\\]: held by PID ${holder.pid} for \\d+s \\(`));
    assert.match(onTty.stdout, /waitlock: waiting for busy \[0s, 2s left\]/, "the time left, rounded up");
    const forever = spawnSync("script", ["-qfec", `${WAITLOCK} -t inf busy --exec true & sleep 1; kill $!`, "/dev/null"], { env, encoding: "utf8" });
    assert.match(forever.stdout, /waitlock: waiting for busy \[0s\]: held by/, "no time left to show without a limit");
    const quiet = spawnSync("script", ["-qfec", `${WAITLOCK} -q -t 0.3 busy --exec true`, "/dev/null"], { env, encoding: "utf8" });
    assert.doesNotMatch(quiet.stdout, /waitlock: waiting for/);
    const piped = run(dir, ["-t", "0.3", "busy", "--exec", "true"]);
    assert.doesNotMatch(piped.stderr, /waitlock: waiting for/);
    await holder.release();
  });
});
