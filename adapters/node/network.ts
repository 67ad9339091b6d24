// What the Node runtime lends network backends: HTTP on node:http, and TLS files read from disk.
import { readFileSync } from "node:fs";
import type { NetworkSupport } from "../etcd-backend.ts";
import { fromSystemError } from "../errors.ts";
import { NodeHttp } from "./http.ts";

export const nodeNetwork: NetworkSupport = {
  http: (tls) => new NodeHttp(tls),
  readText(path) {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw fromSystemError(err, `cannot read TLS file ${path}`);
    }
  },
};
