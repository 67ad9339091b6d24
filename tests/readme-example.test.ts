// The README's library example, run as a user on Node 20 would run it: plain
// JavaScript in an ES module, importing the package by its name (a file
// inside the package resolves "waitlock" to the package itself, through its
// exports). The example's etcd address is replaced with a real local etcd.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "./helpers.ts";
import { startEtcd } from "./servers/etcd.ts";
import { skipUnlessInstalled } from "./servers/installed.ts";

/** The README's first ```js block under "The library (Node)". */
function libraryExample(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## The library (Node)"));
  const block = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(block, "the README shows a plain JavaScript example for the library");
  return block[1];
}

test("the README's plain-JavaScript library example runs as written on this Node", { skip: skipUnlessInstalled("etcd") }, async (t) => {
  const example = libraryExample();
  assert.ok(example.includes("etcd://10.0.0.5:2379"), "the example still names the address this test replaces");
  const etcd = await startEtcd();
  t.after(() => etcd.stop());
  // Inside the package, so that `import … from "waitlock"` finds it the way an installed copy would be found.
  const file = join(ROOT, `readme-example-${process.pid}.mjs`);
  t.after(() => rmSync(file, { force: true }));
  writeFileSync(file, `${example.replace("etcd://10.0.0.5:2379", `etcd://${etcd.endpoint}/readme`)}\nconsole.log("ran");\n`);
  const r = spawnSync(process.execPath, [file], { encoding: "utf8", env: { ...process.env, WAITLOCK_DIR: tempDir(t) }, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "ran");
});
