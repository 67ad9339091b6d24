// The package as a user gets it. SLOW (~60-90 s): packs the built tree
// (`npm pack --ignore-scripts`, so run `npm run build` first), installs the tarball
// globally into a temp prefix (`npm install -g --prefix`, dependencies from the npm
// registry), and runs the installed `waitlock`, the library from Node and its Deno
// bundle from Deno. Nothing here reads the checkout except the tarball and the
// example plugin.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DENO, FIXTURES, ROOT } from "./helpers.ts";
import { FORMATS } from "../cli/options.ts";

/** How long `npm install -g` of the tarball may take before it counts as failed. */
const INSTALL_TIMEOUT_MS = 200_000;
/** MAX_INSTALL_KB: the most a global install may take (issue 16: at most 20 MB; it was 42 MB). */
const MAX_INSTALL_KB = 20 * 1024;

interface Result { code: number | null; stdout: string; stderr: string }

let dir: string;
let prefix: string;
let installed: string; // the installed package's root
let tarball: string;
let env: NodeJS.ProcessEnv;

function run(file: string, args: string[], opts: { cwd?: string; input?: string } = {}): Result {
  const r = spawnSync(file, args, { env, encoding: "utf8", timeout: 60_000, cwd: opts.cwd ?? dir, input: opts.input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const waitlock = (...args: string[]) => run(join(prefix, "bin/waitlock"), args);

/**
 * userPath: PATH without the node_modules/.bin directories `npm test` puts first: a dev
 * dependency brings an npm 6 there, and a user's npm is the one beside Node.
 */
function userPath(): string {
  return (process.env.PATH ?? "").split(":").filter((p) => !/node_modules[\\/]\.bin$/.test(p)).join(":");
}

describe("the packed tarball, installed globally (slow: npm install from the registry)", { timeout: 240_000 }, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "waitlock-package-"));
    prefix = join(dir, "global");
    installed = join(prefix, "lib/node_modules/waitlock");
    env = {
      ...process.env,
      XDG_DATA_HOME: join(dir, "data"), XDG_CACHE_HOME: join(dir, "cache"), XDG_CONFIG_HOME: join(dir, "config"),
      WAITLOCK_DIR: join(dir, "locks"), PATH: `${join(dir, "global/bin")}:${userPath()}`, NO_COLOR: "1", FORCE_COLOR: "0",
      npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? dir, ".npm"),
    };
    delete env.WAITLOCK_BACKEND;
    mkdirSync(env.WAITLOCK_DIR!);
    const packed = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8", env });
    tarball = join(dir, JSON.parse(packed)[0].filename);
    // Bounded: the describe's timeout cannot end a synchronous call, and a stalled
    // registry can hold one indefinitely; killed, the install fails these tests.
    execFileSync("npm", ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", tarball], {
      cwd: dir, env, stdio: ["ignore", "ignore", "inherit"], timeout: INSTALL_TIMEOUT_MS, killSignal: "SIGKILL",
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test(`the install takes at most ${MAX_INSTALL_KB / 1024} MB, without npm, yarn, source maps or TypeScript sources`, (t) => {
    const kb = Number(execFileSync("du", ["-sk", prefix], { encoding: "utf8" }).split("\t")[0]);
    t.diagnostic(`global install: ${(kb / 1024).toFixed(1)} MB; tarball: ${(statSync(tarball).size / 1024).toFixed(0)} KB`);
    assert.ok(kb <= MAX_INSTALL_KB, `a global install takes ${(kb / 1024).toFixed(1)} MB`);
    for (const heavy of ["npm", "yarn"]) assert.ok(!existsSync(join(installed, "node_modules", heavy)), `node_modules/${heavy} installed`);
    const files = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" }).trim().split("\n");
    assert.deepEqual(files.filter((f) => f.endsWith(".map")), [], "source maps in the tarball");
    assert.deepEqual(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), [], "TypeScript sources in the tarball");
    // The full CLI uses the installed @oclif/core: no copy of its Config class in dist/.
    const bundledCore = spawnSync("grep", ["-rl", "--include=*.js", "--include=*.cjs", "class Config {", join(installed, "dist")], { encoding: "utf8" });
    assert.equal(bundledCore.stdout, "", "a bundled copy of @oclif/core's Config");
  });

  test("--version, --help and doctor run", () => {
    const version = waitlock("--version");
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^waitlock 0\.1\.0\b/);
    const help = waitlock("--help");
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--check/);
    const doctor = waitlock("doctor", "--format", "json");
    assert.equal(doctor.code, 0, doctor.stderr);
    const checks: { check: string; status: string; finding: string }[] = JSON.parse(doctor.stdout);
    const wasm = checks.find((c) => c.check === "WASM core");
    assert.equal(wasm?.status, "OK", JSON.stringify(wasm));
    assert.ok(wasm.finding.includes(installed), wasm.finding);
  });

  test("completion: the installed bash script completes through the installed waitlock", () => {
    const script = waitlock("autocomplete", "bash");
    assert.equal(script.code, 0, script.stderr);
    const driver = `source <(waitlock autocomplete bash)
COMP_WORDS=(waitlock --format ""); COMP_CWORD=2
$(complete -p waitlock | sed 's/.*-F \\([^ ]*\\) .*/\\1/') waitlock "" --format
echo "\${COMPREPLY[*]}"`;
    const r = run("bash", ["--norc", "--noprofile", "-c", driver]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${FORMATS.join(" ")}\n`, "every --format, in the flag table's order");
    const fish = waitlock("autocomplete", "fish");
    assert.equal(fish.code, 0, fish.stderr);
  });

  test("an exec round trip: the lock is held while the command runs, free after", () => {
    const r = waitlock("job", "--exec", "sh", "-c", `"$0" --check job; echo "inside: $?"`, join(prefix, "bin/waitlock"));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "inside: 1\n");
    assert.equal(waitlock("--check", "job").code, 0);
  });

  test("a third-party plugin links and runs (plugins link / plugins run)", () => {
    const link = waitlock("plugins", "link", join(FIXTURES, "example-plugin"), "--no-install");
    assert.equal(link.code, 0, link.stderr);
    const hello = waitlock("plugins", "run", "hello", "you");
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(hello.stdout, "hello, you, from a plugin of waitlock 0.1.0\n");
    assert.match(waitlock("plugins").stdout, /^waitlock-plugin-hello 1\.0\.0 \(link\)/m);
    assert.equal(waitlock("plugins", "unlink", "waitlock-plugin-hello").code, 0);
  });

  test("the library loads from a project that depends on the package (Node, ESM)", () => {
    const project = join(dir, "project");
    mkdirSync(join(project, "node_modules"), { recursive: true });
    writeFileSync(join(project, "package.json"), '{"type": "module"}\n');
    symlinkSync(installed, join(project, "node_modules/waitlock"));
    const script = `import { tryAcquire, check } from "waitlock";
const lock = await tryAcquire("lib", { lockDir: process.argv[1] });
console.log(Boolean(lock), await check("lib", { lockDir: process.argv[1] }));
await lock.release();
console.log(await check("lib", { lockDir: process.argv[1] }));`;
    const r = run(process.execPath, ["--input-type=module", "-e", script, env.WAITLOCK_DIR!], { cwd: project });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "true false\ntrue\n");
  });

  test("the Deno bundle (the package's `deno` export) works from the install", () => {
    const script = join(dir, "deno-lock.ts");
    writeFileSync(script, `import { tryAcquire, check } from ${JSON.stringify(`file://${installed}/dist/deno/mod.js`)};
const lock = await tryAcquire("deno", { lockDir: Deno.args[0] });
console.log(\`\${Boolean(lock)} \${await check("deno", { lockDir: Deno.args[0] })}\`);
await lock!.release();
`);
    const r = run(DENO, ["run", "--quiet", "--no-prompt", "--allow-read", "--allow-write", "--allow-ffi", "--allow-env", script, env.WAITLOCK_DIR!]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "true false\n");
  });
});
