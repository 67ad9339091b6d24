// What the Node runtime lends network backends: HTTP on node:http, and TLS files read from disk.
import { readFileSync } from "node:fs";
import type { NetworkSupport } from "../http.ts";
import { WaitlockError, fromSystemError } from "../errors.ts";
import { NodeHttp } from "./http.ts";

export const nodeNetwork: NetworkSupport = {
  http: (tls) => new NodeHttp(tls),
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
