// Shell completion through each real shell's completion machinery: bash (the
// function `complete -p waitlock` names, called with COMP_WORDS/COMP_CWORD), zsh
// (compinit and TAB in a pseudo-terminal, tests/fixtures/zsh-complete.zsh) and
// fish (`complete -C`). The scripts are what `waitlock autocomplete SHELL` prints;
// `waitlock` on PATH is this checkout's bin/waitlock. zsh and fish come from
// scripts/test-servers.sh (apt-get).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tryAcquire } from "../adapters/node/index.ts";
import { FIXTURES, ROOT } from "./helpers.ts";
import { FORMATS } from "../cli/options.ts";

type Shell = "bash" | "zsh" | "fish";
const SHELLS: Shell[] = ["bash", "zsh", "fish"];

/** The cases each shell must complete: a command line up to the cursor, and exactly what it offers. */
const cases = (dir: string): { line: string; expect: string[] | ((offered: string[]) => void) }[] => [
  { line: `waitlock -d ${dir}/other --check `, expect: ["elsewhere"] },
  // Locks on a server: no descriptors offered, rather than a TAB that waits on a network.
  { line: "waitlock --backend redis://127.0.0.1:1 --check ", expect: [] },
  { line: "waitlock --ti", expect: ["--timeout"] },
  { line: "waitlock --format ", expect: [...FORMATS].sort() }, // every format the flag table lists
  { line: "waitlock -l -f j", expect: ["json"] },
  { line: "waitlock --syslog-facility loc", expect: ["local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"] },
  { line: "waitlock --lost-signal U", expect: ["USR1", "USR2"] },
  { line: "waitlock --check ", expect: ["nightly", "pool"] },
  { line: "waitlock --done ni", expect: ["nightly"] },
  { line: "waitlock doc", expect: ["doctor"] },
  { line: "waitlock autocomplete ", expect: ["bash", "fish", "zsh"] },
  { line: "waitlock doctor --for", expect: ["--format"] },
  { line: "waitlock plugins li", expect: ["link"] },
  { line: "waitlock ", expect: (offered) => {
    for (const w of ["doctor", "plugins", "autocomplete", "nightly", "pool"]) assert.ok(offered.includes(w), `${w} in ${offered.join(" ")}`);
    assert.ok(!offered.includes("__complete"), "the hidden command");
  } },
];

function available(shell: Shell): boolean {
  return spawnSync(shell, ["-c", "exit 0"]).status === 0;
}

describe("shell completion in the real shells", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const held: { release(): Promise<void> }[] = [];
  after(async () => {
    await Promise.all(held.map((l) => l.release()));
    rmSync(dir, { recursive: true, force: true });
  });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "waitlock-completion-"));
    mkdirSync(join(dir, "bin"));
    symlinkSync(join(ROOT, "bin/waitlock"), join(dir, "bin/waitlock"));
    const lockDir = join(dir, "locks");
    mkdirSync(lockDir);
    env = { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH}`, WAITLOCK_DIR: lockDir, HOME: dir, XDG_CONFIG_HOME: join(dir, "config"), XDG_DATA_HOME: join(dir, "data") };
    delete env.WAITLOCK_BACKEND;
    // Descriptors in the lock directory: a mutex and a semaphore's slot, held while the tests run.
    const nightly = await tryAcquire("nightly", { lockDir });
    const pool = await tryAcquire("pool", { lockDir, maxHolders: 2 });
    mkdirSync(join(dir, "other"));
    const elsewhere = await tryAcquire("elsewhere", { lockDir: join(dir, "other") });
    assert.ok(nightly && pool && elsewhere);
    held.push(nightly, pool, elsewhere);
    for (const shell of SHELLS) {
      const script = spawnSync(join(ROOT, "bin/waitlock"), ["autocomplete", shell], { env, encoding: "utf8" });
      assert.equal(script.status, 0, script.stderr);
      writeFileSync(join(dir, `completion.${shell}`), script.stdout);
    }
  });

  /** offered runs the shell's completion on line (ending where the cursor is) and returns what it offers, sorted. */
  function offered(shell: Shell, line: string): string[] {
    const script = join(dir, `completion.${shell}`);
    let r;
    if (shell === "bash") {
      const words = line.split(" ");
      const driver = `source "$1"
spec=$(complete -p waitlock) || exit 9
fn=\${spec##*-F }; fn=\${fn%% *}
COMP_LINE=$2; COMP_POINT=\${#COMP_LINE}
read -r -a COMP_WORDS <<<"$2"
[[ $2 == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
"$fn" waitlock "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "\${COMPREPLY[@]}"`;
      assert.ok(words.length > 0);
      r = spawnSync("bash", ["--norc", "--noprofile", "-c", driver, "bash", script, line], { env, encoding: "utf8", timeout: 30_000 });
    } else if (shell === "zsh") {
      r = spawnSync("zsh", ["-f", join(FIXTURES, "zsh-complete.zsh"), script, line], { env, encoding: "utf8", timeout: 30_000 });
    } else {
      r = spawnSync("fish", ["--no-config", "-c", "source $argv[1]; complete -C $argv[2]", script, line], { env, encoding: "utf8", timeout: 30_000 });
    }
    assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
    // fish prints "candidate<TAB>description"; the others one candidate a line.
    return [...new Set(r.stdout.split("\n").map((l) => l.split("\t")[0]).filter(Boolean))].sort();
  }

  for (const shell of SHELLS) {
    describe(shell, () => {
      test("`waitlock autocomplete` prints a script for it", { skip: !available(shell) && `${shell} is not installed (scripts/test-servers.sh installs it)` }, () => {
        for (const { line, expect } of cases(dir)) {
          const got = offered(shell, line);
          if (typeof expect === "function") expect(got);
          else assert.deepEqual(got, expect, `${shell}: ${JSON.stringify(line)}`);
        }
      });
    });
  }

  test("an unknown shell is a usage error (exit 3, one line)", () => {
    const r = spawnSync(join(ROOT, "bin/waitlock"), ["autocomplete", "tcsh"], { env, encoding: "utf8" });
    assert.equal(r.status, 3);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  });
});
