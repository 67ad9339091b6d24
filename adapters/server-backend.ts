// The backend for a lock server, by the scheme of its URL. Shared by the
// library (api.ts) and the foreground lease holder, which needs no lock
// directory, WASM core or kernel locks: only a way to reach the server.
import type { BackendHost, LockBackend } from "./backend.ts";
import type { ServerTarget } from "./backend-url.ts";
import { EtcdBackend } from "./etcd-backend.ts";
import type { NetworkSupport } from "./http.ts";
import { RedisBackend } from "./redis-backend.ts";

export type { BackendHost };

export function serverBackend(target: ServerTarget, net: NetworkSupport, host: BackendHost): LockBackend {
  return target.kind === "etcd" ? new EtcdBackend(target, net, host) : new RedisBackend(target, net, host);
}
