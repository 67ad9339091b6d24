// What the Deno runtime lends network backends: HTTP on fetch, and TLS files read from disk.
import type { NetworkSupport } from "../http.ts";
import { WaitlockError } from "../errors.ts";
import { DenoHttp } from "./http.ts";

export const denoNetwork: NetworkSupport = {
  http: (tls) => new DenoHttp(tls),
  readText(path) {
    try {
      return Deno.readTextFileSync(path);
    } catch (err) {
      const code = err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied ? "EPERM" : "EUSAGE";
      throw new WaitlockError(code, `cannot read TLS file ${path}: ${(err as Error).message}`, { cause: err });
    }
  },
};
