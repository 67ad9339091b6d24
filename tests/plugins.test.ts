// Plugins and shell completion through bin/waitlock: a third-party plugin
// (tests/fixtures/example-plugin) linked with @oclif/plugin-plugins, and the
// completion scripts of @oclif/plugin-autocomplete. oclif's data, cache and
// config directories point into a temp dir, so the user's own are untouched.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, ROOT, tempDir } from "./helpers.ts";

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
  test("linked with `waitlock plugins:link`, its command runs through bin/waitlock; unlinked, it is gone", (t) => {
    const { env, run } = sandbox(t);
    const link = run(["plugins:link", EXAMPLE, "--no-install"]);
    assert.equal(link.code, 0, link.stderr);
    assert.ok(existsSync(join(env.XDG_DATA_HOME, "waitlock/package.json")), "recorded in the sandbox's data directory");

    const hello = run(["hello"]);
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(hello.stdout, "hello, world, from a plugin of waitlock 0.1.0\n");
    assert.equal(hello.stderr, "", "no warnings on the way");
    assert.equal(run(["hello", "you", "--shout"]).stdout, "HELLO, YOU, FROM A PLUGIN OF WAITLOCK 0.1.0\n");
    assert.match(run(["plugins"]).stdout, /^waitlock-plugin-hello 1\.0\.0 \(link\) /m);

    const unlink = run(["plugins:unlink", "waitlock-plugin-hello"]);
    assert.equal(unlink.code, 0, unlink.stderr);
    assert.doesNotMatch(run(["plugins"]).stdout, /waitlock-plugin-hello/);
  });

  test("with a plugin linked, options still reach the main command, and `--` makes the command's name a descriptor", (t) => {
    const { run } = sandbox(t);
    assert.equal(run(["plugins:link", EXAMPLE, "--no-install"]).code, 0);
    for (const args of [["--check", "hello"], ["--check", "--", "hello"]]) {
      const r = run(args);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, "", ""], args.join(" "));
    }
  });

  test("`waitlock plugins link DIR` (words, as oclif prints it) links too", (t) => {
    const { run } = sandbox(t);
    assert.equal(run(["plugins", "link", EXAMPLE, "--no-install"]).code, 0);
    assert.equal(run(["hello"]).stdout, "hello, world, from a plugin of waitlock 0.1.0\n");
  });
});

describe("shell completion", () => {
  test("`waitlock autocomplete bash` prints set-up instructions and builds a script that completes commands and flags", (t) => {
    const { env, run } = sandbox(t);
    const r = run(["autocomplete", "bash"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Setup Instructions for WAITLOCK CLI Autocomplete/);
    assert.match(r.stdout, /waitlock autocomplete script bash\)" >> ~\/\.bashrc/);

    const script = run(["autocomplete:script", "bash"]);
    assert.equal(script.code, 0, script.stderr);
    assert.match(script.stdout, /WAITLOCK_AC_BASH_SETUP_PATH=.* && source \$WAITLOCK_AC_BASH_SETUP_PATH;/);

    // Complete as bash does, from the generated function.
    const file = join(env.XDG_CACHE_HOME, "waitlock/autocomplete/functions/bash/waitlock.bash");
    const complete = (...words: string[]) => {
      const b = spawnSync("bash", ["-c", `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _waitlock_autocomplete; echo "\${COMPREPLY[*]}"`, "bash", file, "waitlock", ...words], { encoding: "utf8" });
      assert.equal(b.status, 0, b.stderr);
      return b.stdout.trim();
    };
    assert.equal(complete("doc"), "doctor");
    assert.equal(complete("doctor", "--f"), "--format");
    assert.equal(complete("plugins", "li"), "link");
  });

  test("`waitlock autocomplete zsh` prints set-up instructions and writes a zsh completion function", (t) => {
    const { env, run } = sandbox(t);
    const r = run(["autocomplete", "zsh"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /waitlock autocomplete script zsh\)" >> ~\/\.zshrc/);
    const fn = readFileSync(join(env.XDG_CACHE_HOME, "waitlock/autocomplete/functions/zsh/_waitlock"), "utf8");
    assert.match(fn, /^#compdef waitlock/);
    assert.match(fn, /doctor/);
    assert.match(fn, /--lock-dir/);
  });

  test("`waitlock autocomplete script bash` (words, as the instructions print it) prints the set-up line", (t) => {
    const { run } = sandbox(t);
    const r = run(["autocomplete", "script", "bash"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /WAITLOCK_AC_BASH_SETUP_PATH=/);
  });
});
