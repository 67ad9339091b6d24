// An esbuild plugin for the CLI's fast path. @oclif/core is CommonJS, so a
// bundle evaluates every module it reaches; a few edges pull in oclif's help
// system, error rendering (wrap-ansi and its emoji regex) and spinners although
// parsing flags needs none of them until something goes wrong or help is shown.
// Those requires are made lazy: the module loads on first property access. If
// oclif changes and a pattern no longer matches, the require simply stays
// eager — slower, never wrong. (Measured on the --check path: these edges cost
// ~30 ms of module evaluation.)
import { readFile } from "node:fs/promises";

/** file (relative to @oclif/core/lib) → the required specifiers to defer. */
const LAZY = {
  "logger.js": ["debug"],
  "flags.js": ["./help"],
  "parser/index.js": ["./help"],
  "parser/help.js": ["../ux"],
  "parser/errors.js": ["../ux/list", "../ux/theme"],
  "errors/index.js": ["./handle"],
  "errors/error.js": ["./errors/pretty-print"],
  "errors/warn.js": ["./errors/pretty-print"],
  "errors/errors/pretty-print.js": ["indent-string", "wrap-ansi"],
  "errors/errors/cli.js": ["clean-stack", "indent-string", "wrap-ansi", "../../ux/theme"],
};

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/**
 * lazify rewrites `const x = require("spec")` (optionally wrapped in tsc's
 * __importDefault or __importStar) into a proxy that requires on first use.
 */
export function lazify(code, spec) {
  const re = new RegExp(`(?:const|var|let) (\\w+) = (?:(__import(?:Default|Star))\\()?require\\("${escape(spec)}"\\)\\)?;`);
  return code.replace(re, (_m, name, wrap) => {
    const load = wrap ? `${wrap}(require("${spec}"))` : `require("${spec}")`;
    return `let ${name}__m; const ${name} = new Proxy({}, { get(_t, k) { return (${name}__m ??= ${load})[k]; } });`;
  });
}

export const lazyOclif = {
  name: "lazy-oclif",
  setup(build) {
    build.onLoad({ filter: /@oclif[\\/]core[\\/]lib[\\/].*\.js$/ }, async (args) => {
      const rel = args.path.replace(/\\/g, "/").split("@oclif/core/lib/")[1];
      const deferred = LAZY[rel];
      if (!deferred) return undefined;
      let code = await readFile(args.path, "utf8");
      for (const spec of deferred) code = lazify(code, spec);
      return { contents: code, loader: "js" };
    });
  },
};
