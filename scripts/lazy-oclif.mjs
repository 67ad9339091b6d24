// An esbuild plugin for the CLI's fast path. @oclif/core is CommonJS, so a
// bundle evaluates every module it reaches; a few edges pull in oclif's whole
// help system (and with it config, ejs, spinners…) although the parser only
// needs it to render help. Those requires are made lazy: the module loads on
// first use. If oclif changes and a pattern no longer matches, the require
// simply stays eager — slower, never wrong.
import { readFile } from "node:fs/promises";

/** file (relative to @oclif/core/lib) → the required paths to defer. */
const LAZY = {
  "flags.js": ["./help"],
  "parser/index.js": ["./help"],
  "parser/help.js": ["../ux"],
};

export const lazyOclif = {
  name: "lazy-oclif",
  setup(build) {
    build.onLoad({ filter: /@oclif[\\/]core[\\/]lib[\\/].*\.js$/ }, async (args) => {
      const rel = args.path.replace(/\\/g, "/").split("@oclif/core/lib/")[1];
      const deferred = LAZY[rel];
      if (!deferred) return undefined;
      let code = await readFile(args.path, "utf8");
      for (const spec of deferred) {
        const re = new RegExp(`const (\\w+) = require\\("${spec.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}"\\);`);
        code = code.replace(re, (_m, name) =>
          `let ${name}__m; const ${name} = new Proxy({}, { get(_t, k) { return (${name}__m ??= require("${spec}"))[k]; } });`);
      }
      return { contents: code, loader: "js" };
    });
  },
};
