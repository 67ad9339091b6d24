// What the Deno runtime lends network backends: HTTP on fetch, ioredis
// through Deno's npm and Node compatibility, and TLS files read from disk.
import type { NetworkSupport } from "../http.ts";
import { WaitlockError } from "../errors.ts";
import { DenoHttp } from "./http.ts";

export const denoNetwork: NetworkSupport = {
  http: (tls) => new DenoHttp(tls),
  // Resolved like any npm dependency (node_modules beside package.json, or the
  // package's own dependencies); ioredis reads the whole environment as it loads.
  loadRedis: async () => {
    try {
      return await import("ioredis");
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable) {
        throw new WaitlockError("EPERM", `Deno did not allow loading the Redis client (ioredis): ${(err as Error).message.split("\n")[0]} (a redis:// backend needs --allow-net, --allow-env and --allow-read of node_modules)`, { cause: err });
      }
      throw err;
    }
  },
  readText(path) {
    try {
      return Deno.readTextFileSync(path);
    } catch (err) {
      const code = err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied ? "EPERM" : "EUSAGE";
      throw new WaitlockError(code, `cannot read TLS file ${path}: ${(err as Error).message}`, { cause: err });
    }
  },
};
