// Builds everything a fresh clone needs: the WASM core, the JS bundles, type
// declarations and the man page. Run by `npm run build` and by `prepare` (so
// `npm ci` leaves a working tree).
//
// dist/ is built aside and swapped in at the end, so a test or a holder
// running from dist/ never sees it half-written.
import { execFileSync } from "node:child_process";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";
import { OCLIF_REQUIRE_BANNER, lazyOclifFromNodeModules } from "./lazy-oclif.mjs";
import { sourceHash } from "./source-hash.mjs";

const root = new URL("..", import.meta.url).pathname;
const bin = (name) => `${root}node_modules/.bin/${name}`;
const next = `dist.next-${process.pid}`;
const run = (file, args) => execFileSync(file, args, { cwd: root, stdio: "inherit" });
// What this build is built from, read before anything is built: a source changed meanwhile makes it stale.
const sources = sourceHash(root);

// The core. asc writes the file in place; it is a few KB and loaded whole.
run(bin("asc"), ["assembly/index.ts", "--target", "release"]);

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
  // string-width (a dependency) serves busy messages and listings only: the fast path
  // requires it from node_modules when it first cuts a text, rather than carry it.
  external: ["fs-native-extensions", "typescript", "string-width"],
  sourcemap: "linked",
  logLevel: "warning",
  // @oclif/core is CommonJS and calls require() at run time; ESM bundles have no require.
  banner: { js: 'import { createRequire as __wlCreateRequire } from "node:module"; const require = __wlCreateRequire(import.meta.url);' },
};

// CommonJS for the files Node runs as programs (bin/waitlock's fast path, the
// foreground holder, the syslog line): an ESM entry costs each start the ESM
// loader's set-up (docs/STARTUP.md). import.meta.url is given its CommonJS meaning.
const cjs = {
  format: "cjs",
  define: { "import.meta.url": "__wlImportMetaUrl" },
  banner: { js: 'const __wlImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
};

// The doctor and exporter plugins are their own packages (plugins/<name>, npm
// workspaces listed in oclif.plugins). Each bundle carries the library code it
// reuses; @oclif/core comes from node_modules, like any plugin's. Its manifest
// lets oclif list the command without loading it. Both are built aside and
// renamed into place.
const PLUGINS = ["doctor", "exporter"];
async function buildPlugin(name) {
  const pluginRoot = `${root}plugins/${name}/`;
  const { Plugin } = await import("@oclif/core");
  await build({
    ...common, banner: undefined, external: [...common.external, "@oclif/core"],
    entryPoints: [`plugins/${name}/src/commands.ts`], outdir: `plugins/${name}/${next}`, splitting: true, chunkNames: "chunk-[hash]",
  });
  const pjson = JSON.parse(readFileSync(`${pluginRoot}package.json`, "utf8"));
  const commands = { ...pjson.oclif.commands, target: `./${next}/commands.js` };
  const plugin = new Plugin({ root: pluginRoot, pjson: { ...pjson, oclif: { ...pjson.oclif, commands } }, isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
  await plugin.load();
  writeFileSync(`${pluginRoot}oclif.manifest.json.tmp-${process.pid}`, JSON.stringify(plugin.manifest, null, 2) + "\n");
  const old = `${pluginRoot}dist.old-${process.pid}`;
  try {
    renameSync(`${pluginRoot}dist`, old);
  } catch {
    // first build: no dist yet
  }
  renameSync(`${pluginRoot}${next}`, `${pluginRoot}dist`);
  renameSync(`${pluginRoot}oclif.manifest.json.tmp-${process.pid}`, `${pluginRoot}oclif.manifest.json`);
  rmSync(old, { recursive: true, force: true });
}

try {
  // The plugins (plugins/*), first: listing the CLI's commands loads them.
  for (const name of PLUGINS) await buildPlugin(name);
  // Type declarations for library users (the bundle itself carries none).
  run(bin("tsc"), ["-p", "tsconfig.build.json", "--outDir", `${next}/types`]);
  // The library.
  await build({ ...common, entryPoints: ["adapters/node/index.ts"], outfile: `${next}/node/index.js` });
  // The CLI's fast path (bin/waitlock runs it): one CommonJS file, so Node's ESM
  // loader never starts, holding only what the main command needs; what oclif
  // needs for errors and help stays in node_modules until used (lazy-oclif.mjs).
  await build({
    ...common, ...cjs, entryPoints: ["cli/run.ts"], outfile: `${next}/cli/run.cjs`, plugins: [lazyOclifFromNodeModules],
    minifyWhitespace: true, minifySyntax: true,
    banner: { js: `${cjs.banner.js} ${OCLIF_REQUIRE_BANNER}` },
  });
  // The full CLI (help, plugins, other commands) and oclif's command table share chunks, so oclif sees one Command class.
  // @oclif/core is the installed one, as for the doctor and users' plugins: a second, bundled copy would
  // only add ~0.8 MB to the package. @oclif/plugin-plugins (a dev dependency) is bundled: see cli/commands.ts.
  await build({
    ...common, external: [...common.external, "@oclif/core"],
    entryPoints: ["cli/full-cli.ts", "cli/commands.ts"], outdir: `${next}/cli`, splitting: true, chunkNames: "chunk-[hash]",
  });
  // One syslog line from a separate process (the foreground holder's "released").
  await build({ ...common, ...cjs, entryPoints: ["cli/syslog-event.ts"], outfile: `${next}/cli/syslog-event.cjs` });
  // The foreground holder stays a separate, dependency-free file: it must be small in memory.
  await build({ ...common, ...cjs, entryPoints: ["cli/holder.ts"], outfile: `${next}/cli/holder.cjs`, sourcemap: false });
  // Its counterpart for locks on a server keeps a lease alive, so it carries the server backends
  // (ioredis is required from node_modules when a redis:// lease is kept, never bundled).
  await build({ ...common, ...cjs, entryPoints: ["cli/lease-holder.ts"], outfile: `${next}/cli/lease-holder.cjs`, sourcemap: false });
  // ioredis as one file, for Node to load when a redis:// backend is first used (adapters/node/network.ts):
  // one file loads faster than its ~60 modules. Nothing else includes it.
  await build({
    absWorkingDir: root, bundle: true, platform: "node", target: "node20", format: "cjs", logLevel: "warning",
    stdin: { contents: 'module.exports = require("ioredis");', resolveDir: root, sourcefile: "ioredis-entry.cjs" },
    outfile: `${next}/redis/ioredis.cjs`, minifyWhitespace: true, minifySyntax: true,
  });
  // Deno will not load TypeScript from node_modules: an npm install gets a JS bundle
  // of the Deno entry (runtime-neutral, no Node banner), next to the Node one.
  // ioredis stays an import of the installed package (Deno loads it through its npm support, only for redis://).
  await build({ absWorkingDir: root, entryPoints: ["adapters/deno/mod.ts"], outfile: `${next}/deno/mod.js`, bundle: true, format: "esm", platform: "neutral", target: "es2022", logLevel: "warning", external: ["ioredis"] });
  // The man page, from the same declarations as --help.
  run(process.execPath, ["scripts/manpage.mjs", next]);
  // Which sources this is (tests/helpers.ts refuses a dist/ built from others).
  writeFileSync(`${root}${next}/sources.sha256`, `${sources}\n`);

  const old = `dist.old-${process.pid}`;
  try {
    renameSync(`${root}dist`, `${root}${old}`);
  } catch {
    // first build: no dist yet
  }
  renameSync(`${root}${next}`, `${root}dist`);
  rmSync(`${root}${old}`, { recursive: true, force: true });
  // Which first words are commands (doctor, plugins, autocomplete…), so bin/waitlock
  // can dispatch without loading oclif. It loads the installed CLI: after the swap.
  run(process.execPath, ["scripts/command-ids.mjs", "dist"]);
  // V8's code cache for the fast path, from one real `waitlock X --exec true`.
  run(process.execPath, ["scripts/code-cache.mjs", "dist"]);
} finally {
  rmSync(`${root}${next}`, { recursive: true, force: true });
  for (const name of PLUGINS) {
    rmSync(`${root}plugins/${name}/${next}`, { recursive: true, force: true });
    rmSync(`${root}plugins/${name}/oclif.manifest.json.tmp-${process.pid}`, { force: true });
  }
}
