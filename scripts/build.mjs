// Builds everything a fresh clone needs: the WASM core, then the JS bundles.
// Run by `npm run build` and by `prepare` (so `npm ci` leaves a working tree).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { build } from "esbuild";

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;

execFileSync(bin("asc"), ["assembly/index.ts", "--target", "release"], { cwd: root, stdio: "inherit" });

// Bundles sit two levels below the root (dist/<name>/), like their sources, so
// relative URLs such as ../../build/waitlock.wasm resolve the same from both.
const bundles = [
  { entry: "adapters/node/index.ts", out: "dist/node/index.js" },
].filter((b) => existsSync(new URL(`../${b.entry}`, import.meta.url)));

// Type declarations for library users (the bundle itself carries none).
execFileSync(bin("tsc"), ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });

for (const { entry, out } of bundles) {
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // A native addon cannot be bundled; it is loaded from node_modules at run time.
    external: ["fs-native-extensions"],
    sourcemap: "linked",
    logLevel: "warning",
  });
}
