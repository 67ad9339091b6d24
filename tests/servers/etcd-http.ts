// A few calls of etcd's v3 JSON gateway (the grpc-gateway on the client URL),
// enough for tests to check a server without a client library. Each request
// opens its own connection (no keep-alive pool), so a test that cuts a proxy
// or stops a server knows which connection a request used, and every request
// has a hard deadline: a stopped server or a black hole fails it as ETIMEDOUT.
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export class EtcdRequestError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string) => Buffer.from(s, "base64").toString();

/** etcdCall sends one request to url + path (POST with a JSON body, or GET) and returns the parsed JSON answer. */
export function etcdCall<T = unknown>(url: string, path: string, body?: object, { timeoutMs = 2_000, ca }: { timeoutMs?: number; ca?: string } = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const https = url.startsWith("https:");
    const req = (https ? httpsRequest : httpRequest)(`${url}${path}`, {
      method: data === undefined ? "GET" : "POST",
      agent: false,
      ...(https && ca ? { ca: readFileSync(ca, "utf8") } : {}),
      headers: data === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
    });
    const timer = setTimeout(() => req.destroy(new EtcdRequestError(`etcd ${path} at ${url}: no answer within ${timeoutMs} ms`, "ETIMEDOUT")), timeoutMs);
    req.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err instanceof EtcdRequestError ? err : new EtcdRequestError(`etcd ${path} at ${url}: ${err.message}`, err.code ?? "EIO"));
    });
    req.once("response", (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => (text += d));
      res.once("error", () => undefined); // the request's own error (its deadline) reports it
      res.once("end", () => {
        clearTimeout(timer);
        if (res.statusCode !== 200) return reject(new EtcdRequestError(`etcd ${path} at ${url}: HTTP ${res.statusCode} ${text.trim()}`, "EHTTP"));
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new EtcdRequestError(`etcd ${path} at ${url}: not JSON: ${text.slice(0, 200)}`, "EHTTP"));
        }
      });
    });
    req.end(data);
  });
}

export async function etcdPut(url: string, key: string, value: string, options?: { timeoutMs?: number }): Promise<void> {
  await etcdCall(url, "/v3/kv/put", { key: b64(key), value: b64(value) }, options);
}

/** etcdGet returns the value of key, or undefined when there is none. */
export async function etcdGet(url: string, key: string, options?: { timeoutMs?: number }): Promise<string | undefined> {
  const res = await etcdCall<{ kvs?: { value?: string }[] }>(url, "/v3/kv/range", { key: b64(key) }, options);
  const kv = res.kvs?.[0];
  return kv === undefined ? undefined : unb64(kv.value ?? "");
}

export interface EtcdStatus {
  memberId: string;
  /** The member this one believes leads ("0" while it knows of none). */
  leader: string;
  raftTerm: string;
}

export async function etcdStatus(url: string, options?: { timeoutMs?: number }): Promise<EtcdStatus> {
  const res = await etcdCall<{ header: { member_id: string }; leader?: string; raftTerm?: string }>(url, "/v3/maintenance/status", {}, options);
  return { memberId: res.header.member_id, leader: res.leader ?? "0", raftTerm: res.raftTerm ?? "0" };
}

/** etcdHealthy tells whether GET /health says so (it does once the member has a leader and can serve). */
export async function etcdHealthy(url: string, options?: { timeoutMs?: number; ca?: string }): Promise<boolean> {
  try {
    return (await etcdCall<{ health?: string }>(url, "/health", undefined, options)).health === "true";
  } catch {
    return false;
  }
}
