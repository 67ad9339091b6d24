// An esbuild plugin for the CLI's fast path. @oclif/core is CommonJS, so a
// bundle evaluates every module it reaches; a few edges pull in oclif's help
// system, error rendering (wrap-ansi and its emoji regex), spinners and the
// terminal-size probe although parsing flags needs none of them until
// something goes wrong or help is shown. Those requires are made lazy: the
// module loads on first property access. If oclif changes and a pattern no
// longer matches, the require stays eager: slower, never wrong, and
// tests/cli.test.ts fails. What it saves: docs/STARTUP.md.
import { readFile } from "node:fs/promises";
import { posix } from "node:path";

/** file (relative to @oclif/core/lib) → the required specifiers to defer. */
export const LAZY = {
  "logger.js": ["debug"],
  // readline serves only flags that read stdin, which ours do not.
  "parser/parse.js": ["node:readline"],
  "flags.js": ["./help", "./util/fs"],
  "parser/index.js": ["./help"],
  "parser/help.js": ["../ux"],
  "parser/errors.js": ["../ux/list", "../ux/theme"],
  "errors/index.js": ["./handle"],
  "errors/error.js": ["./errors/pretty-print"],
  "errors/warn.js": ["./errors/pretty-print"],
  "errors/errors/pretty-print.js": ["indent-string", "wrap-ansi"],
  // screen measures the terminal at load, creating process.stdout and stderr.
  "errors/errors/cli.js": ["clean-stack", "indent-string", "wrap-ansi", "../../ux/theme", "../../screen"],
};

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/**
 * lazify rewrites `const x = require("spec")` (optionally wrapped in tsc's
 * __importDefault or __importStar) into a proxy that loads on first use, with
 * `load` (by default the same require, which the bundler then bundles).
 */
export function lazify(code, spec, load = (s) => `require("${s}")`) {
  const re = new RegExp(`(?:const|var|let) (\\w+) = (?:(__import(?:Default|Star))\\()?require\\("${escape(spec)}"\\)\\)?;`);
  return code.replace(re, (_m, name, wrap) => {
    const loaded = wrap ? `${wrap}(${load(spec)})` : load(spec);
    return `let ${name}__m; const ${name} = new Proxy({}, { get(_t, k) { return (${name}__m ??= ${loaded})[k]; } });`;
  });
}

/**
 * lazyOclifPlugin defers the requires listed in LAZY. With fromNodeModules, a
 * deferred module is not bundled at all: on first use it is required from the
 * installed @oclif/core (through OCLIF_REQUIRE, which the bundle's banner must
 * define). Those modules serve only error rendering and help, so the fast
 * path's bundle leaves out ~250 KB it would read on every start.
 */
function lazyOclifPlugin({ fromNodeModules }) {
  return {
    name: "lazy-oclif",
    setup(build) {
      build.onLoad({ filter: /@oclif[\\/]core[\\/]lib[\\/].*\.js$/ }, async (args) => {
        const rel = args.path.replace(/\\/g, "/").split("@oclif/core/lib/")[1];
        const deferred = LAZY[rel];
        if (!deferred) return undefined;
        const fromPackageRoot = (spec) => (spec.startsWith(".") ? `./${posix.join("lib", posix.dirname(rel), spec)}` : spec);
        const load = fromNodeModules ? (spec) => `${OCLIF_REQUIRE}("${fromPackageRoot(spec)}")` : undefined;
        let code = await readFile(args.path, "utf8");
        for (const spec of deferred) code = lazify(code, spec, load);
        return { contents: code, loader: "js" };
      });
    },
  };
}

/** OCLIF_REQUIRE names the require function, relative to @oclif/core's root, that a fromNodeModules bundle defines. */
export const OCLIF_REQUIRE = "__wlOclifRequire";
/** OCLIF_REQUIRE_BANNER defines it (CommonJS bundles): resolved on first use only. */
export const OCLIF_REQUIRE_BANNER = `let ${OCLIF_REQUIRE}__r; const ${OCLIF_REQUIRE} = (s) => (${OCLIF_REQUIRE}__r ??= require("node:module").createRequire(require.resolve("@oclif/core/package.json")))(s);`;

/** lazyOclif bundles the deferred modules; lazyOclifFromNodeModules leaves them in node_modules. */
export const lazyOclif = lazyOclifPlugin({ fromNodeModules: false });
export const lazyOclifFromNodeModules = lazyOclifPlugin({ fromNodeModules: true });
