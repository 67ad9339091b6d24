// Plugins through bin/waitlock: a third-party plugin (tests/fixtures/example-plugin)
// linked with the commands of @oclif/plugin-plugins (bundled into dist/; shell
// completion is tests/completion.test.ts). oclif's data, cache and
// config directories point into a temp dir, so the user's own are untouched.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { check } from "../adapters/node/index.ts";
import { FIXTURES, ROOT, eventually, tempDir } from "./helpers.ts";

const WAITLOCK = join(ROOT, "bin/waitlock");
const EXAMPLE = join(FIXTURES, "example-plugin");

interface Result { code: number | null; stdout: string; stderr: string }

/** sandbox gives oclif its own XDG directories (and a lock directory) under a temp dir. */
function sandbox(t: { after(fn: () => void): void }) {
  const dir = tempDir(t, "waitlock-plugins-");
  const env = {
    ...process.env,
    XDG_DATA_HOME: join(dir, "data"), XDG_CACHE_HOME: join(dir, "cache"), XDG_CONFIG_HOME: join(dir, "config"),
    WAITLOCK_DIR: join(dir, "locks"), WAITLOCK_DATA_DIR: "", WAITLOCK_CACHE_DIR: "", WAITLOCK_CONFIG_DIR: "",
    // oclif colours its output when it sees CI=true (as in .ci/run); these tests read the words.
    NO_COLOR: "1", FORCE_COLOR: "0",
  };
  mkdirSync(env.WAITLOCK_DIR);
  const run = (args: string[], opts: { cwd?: string } = {}): Result => {
    const r = spawnSync(WAITLOCK, args, { env, encoding: "utf8", timeout: 60_000, cwd: opts.cwd });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return { dir, env, run };
}

describe("a third-party plugin", () => {
  test("linked with `waitlock plugins:link`, its command runs as `waitlock plugins run NAME`; unlinked, it is gone", (t) => {
    const { env, run } = sandbox(t);
    const link = run(["plugins:link", EXAMPLE, "--no-install"]);
    assert.equal(link.code, 0, link.stderr);
    assert.ok(existsSync(join(env.XDG_DATA_HOME, "waitlock/package.json")), "recorded in the sandbox's data directory");

    const hello = run(["plugins", "run", "hello"]);
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(hello.stdout, "hello, world, from a plugin of waitlock 0.1.0\n");
    assert.equal(hello.stderr, "", "no warnings on the way");
    assert.equal(run(["plugins", "run", "hello", "you", "--shout"]).stdout, "HELLO, YOU, FROM A PLUGIN OF WAITLOCK 0.1.0\n");
    assert.match(run(["plugins"]).stdout, /^waitlock-plugin-hello 1\.0\.0 \(link\) /m);

    const unlink = run(["plugins:unlink", "waitlock-plugin-hello"]);
    assert.equal(unlink.code, 0, unlink.stderr);
    assert.doesNotMatch(run(["plugins"]).stdout, /waitlock-plugin-hello/);
    const gone = run(["plugins", "run", "hello"]);
    assert.equal(gone.code, 3, gone.stderr);
    assert.match(gone.stderr, /^waitlock: no plugin adds a command "hello" \(installed: none\)\n$/);
  });

  test("a plugin's command never takes a word from descriptors: a script's `waitlock hello` still locks hello", async (t) => {
    const { env, run } = sandbox(t);
    const script = 'waitlock hello || exit 1; waitlock --list --format csv | cut -d, -f1 | tail -n +2; waitlock hello --exec true; echo "again: $?"';
    const runScript = async () => {
      const r = spawnSync("/bin/sh", ["-c", script], { env: { ...env, PATH: `${join(ROOT, "bin")}:${process.env.PATH}` }, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "hello\nagain: 1\n", "held by the script: listed, and a second taker is refused");
      assert.match(r.stderr, /^waitlock: hello is held by PID \d+ .*another instance is already running\n$/);
      await eventually(() => check("hello", { lockDir: env.WAITLOCK_DIR }), "released when the script exited");
    };
    await runScript();
    assert.equal(run(["plugins:link", EXAMPLE, "--no-install"]).code, 0);
    await runScript(); // the same script means the same with the plugin linked
    for (const args of [["--check", "hello"], ["--check", "--", "hello"], ["hello", "--exec", "sh", "-c", "echo $WAITLOCK_DESCRIPTOR"]]) {
      const r = run(args);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, args.length > 3 ? "hello\n" : "", ""], args.join(" "));
    }
    // A user at a terminal who typed the command's name is told how to run it.
    const onTty = spawnSync("script", ["-qfec", `${WAITLOCK} hello --exec echo locked`, "/dev/null"], { env, encoding: "utf8" });
    assert.match(onTty.stdout, /^waitlock: note: hello is taken as a DESCRIPTOR; to run the command of plugin waitlock-plugin-hello: waitlock plugins run hello\r?\nlocked\r?\n$/);
  });

  test("plugin and framework commands fail as the main command does: one line, waitlock's exit codes", (t) => {
    const { run } = sandbox(t);
    assert.equal(run(["plugins:link", EXAMPLE, "--no-install"]).code, 0);
    const usage: [string[], RegExp][] = [
      [["--bogus"], /^waitlock: Nonexistent flag: --bogus \(see waitlock --help\)\n$/],
      [["plugins", "--bogus"], /^waitlock: Nonexistent flag: --bogus \(see waitlock plugins --help\)\n$/],
      [["doctor", "--bogus"], /^waitlock: Nonexistent flag: --bogus \(see waitlock doctor --help\)\n$/],
      [["autocomplete", "--bogus"], /^waitlock: Nonexistent flag: --bogus \(see waitlock autocomplete --help\)\n$/],
      [["autocomplete", "tcsh"], /^waitlock: Expected tcsh to be one of: .+ \(see waitlock autocomplete --help\)\n$/],
      [["plugins", "run", "hello", "--bogus"], /^waitlock: Nonexistent flag: --bogus \(see waitlock help hello\)\n$/],
      [["version", "extra"], /^waitlock: .+ \(see waitlock version --help\)\n$/],
      [["help", "no-such-command"], /^waitlock: no command "no-such-command" .*\n$/],
    ];
    for (const [args, stderr] of usage) {
      const r = run(args);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, stderr, args.join(" "));
      assert.equal(r.stdout, "", args.join(" "));
    }
    // A plugin's this.error() without an exit code of its own: a failure (4), not oclif's 2 (waitlock's "timed out").
    const failed = run(["plugins", "run", "hello", ""]);
    assert.deepEqual([failed.code, failed.stderr], [4, "waitlock: nobody to greet: NAME is empty\n"]);
  });

  test("`waitlock plugins link DIR` (words, as oclif prints it) links too", (t) => {
    const { run } = sandbox(t);
    assert.equal(run(["plugins", "link", EXAMPLE, "--no-install"]).code, 0);
    assert.equal(run(["plugins", "run", "hello"]).stdout, "hello, world, from a plugin of waitlock 0.1.0\n");
  });
});
