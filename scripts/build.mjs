// Builds everything a fresh clone needs: the WASM core, then the JS bundles.
// Run by `npm run build` and by `prepare` (so `npm ci` leaves a working tree).
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { build } from "esbuild";

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
execFileSync(bin("asc"), ["assembly/index.ts", "--target", "release"], { cwd: root, stdio: "inherit" });

// Bundles sit two levels below the root (dist/<name>/), like their sources, so
// relative URLs such as ../../build/waitlock.wasm resolve the same from both.
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // A native addon cannot be bundled; it is loaded from node_modules at run time.
  // typescript is only required by oclif when transpiling a linked dev plugin: never bundle it.
  external: ["fs-native-extensions", "typescript"],
  sourcemap: "linked",
  logLevel: "warning",
  // @oclif/core is CommonJS and calls require() at run time; ESM bundles have no require.
  banner: { js: 'import { createRequire as __wlCreateRequire } from "node:module"; const require = __wlCreateRequire(import.meta.url);' },
};

// Type declarations for library users (the bundle itself carries none).
execFileSync(bin("tsc"), ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });

// The library.
await build({ ...common, entryPoints: ["adapters/node/index.ts"], outfile: "dist/node/index.js" });
// The CLI: the entry and oclif's command table share chunks, so oclif sees one Command class.
await build({ ...common, entryPoints: ["cli/run.ts", "cli/commands.ts"], outdir: "dist/cli", splitting: true, chunkNames: "chunk-[hash]" });
// The foreground holder stays a separate, dependency-free file: it must be small in memory.
await build({ ...common, banner: undefined, entryPoints: ["cli/holder.ts"], outfile: "dist/cli/holder.js", sourcemap: false });

// The man page, from the same declarations as --help.
execFileSync(process.execPath, ["scripts/manpage.mjs"], { cwd: root, stdio: "inherit" });
