// The package from both module systems, as a project that depends on it
// would load it: by name (a file inside the package resolves "waitlock" to the
// package itself, through its exports), from CommonJS and from an ES module.
// CommonJS loads the ES module through require(esm), which Node 20 has without
// a flag only from 20.19: package.json's engines must say so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "./helpers.ts";

/** The version require(esm) works from without a flag, on the Node line the package supports. */
const REQUIRE_ESM_SINCE = [20, 19, 0];

const SCRIPT = (load: string) => `${load}
const lock = await acquire("mods", { lockDir: process.env.LOCK_DIR });
console.log(lock.slot, lock instanceof Lock, typeof check);
await lock.release();
`;

for (const [kind, ext, load] of [
  ["CommonJS (require)", "cjs", 'const { acquire, check, Lock } = require("waitlock");\n(async () => {'],
  ["an ES module (import)", "mjs", 'import { acquire, check, Lock } from "waitlock";'],
] as const) {
  test(`the package loads by name from ${kind} and takes a lock`, (t) => {
    const file = join(ROOT, `module-systems-${process.pid}.${ext}`);
    t.after(() => rmSync(file, { force: true }));
    writeFileSync(file, ext === "cjs" ? `${SCRIPT(load)}})();\n` : SCRIPT(load));
    const r = spawnSync(process.execPath, [file], { encoding: "utf8", env: { ...process.env, LOCK_DIR: tempDir(t) }, timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "0 true function\n");
    assert.doesNotMatch(r.stderr, /Warning/, "no warning on a supported Node");
  });
}

test("package.json's engines admit no Node that cannot load the package from CommonJS", () => {
  const range = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).engines.node as string;
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range);
  assert.ok(m, `engines.node is a lower bound: ${range}`);
  const floor = [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
  const below = floor.findIndex((v, i) => v !== REQUIRE_ESM_SINCE[i]);
  assert.ok(below === -1 || floor[below] > REQUIRE_ESM_SINCE[below], `engines.node ${range} admits Node before ${REQUIRE_ESM_SINCE.join(".")}`);
});
