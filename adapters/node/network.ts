// What the Node runtime lends network backends: HTTP on node:http, ioredis
// from node_modules, and TLS files read from disk.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { NetworkSupport } from "../http.ts";
import { WaitlockError, fromSystemError } from "../errors.ts";
import { NodeHttp } from "./http.ts";

export const nodeNetwork: NetworkSupport = {
  http: (tls) => new NodeHttp(tls),
  // require, not import(): the CLI's fast path runs from a V8 code cache through
  // node:vm, where import() is unavailable; and a name the bundler cannot see
  // stays out of every bundle (ioredis is CommonJS, so require loads it whole).
  // The build's one-file copy beside the bundles (dist/redis/) loads faster;
  // run from source, there is none, and the installed package is used.
  loadRedis: async () => {
    const require = createRequire(import.meta.url);
    try {
      return require("../redis/ioredis.cjs");
    } catch (err) {
      if ((err as { code?: string }).code !== "MODULE_NOT_FOUND" || !String((err as Error).message).includes("ioredis.cjs")) throw err;
      return require("ioredis");
    }
  },
  readText(path) {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      // A path in the URL or environment that names nothing is the caller's mistake (3); a refusal is 5.
      const e = fromSystemError(err, `cannot read TLS file ${path}`);
      throw e.code === "EPERM" ? e : new WaitlockError("EUSAGE", e.message, { cause: err });
    }
  },
};
