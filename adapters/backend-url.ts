// Parses the string that says where locks live (`--backend`, WAITLOCK_BACKEND,
// the library's `backend` option). Pure: nothing is contacted and nothing is
// read here, so a bad URL fails before any I/O (exit 3). Secrets are kept out
// of every string meant for people: `display` never contains a password.
import { WaitlockError } from "./errors.ts";

/** Where etcd's v3 gateway is reached, and as whom. */
export interface EtcdTarget {
  kind: "etcd";
  /** "http" or "https" (from etcds://). */
  scheme: "http" | "https";
  /** host:port pairs, tried in order until one answers. */
  endpoints: string[];
  /** Key prefix under which every lock lives; ends with "/". */
  prefix: string;
  user?: string;
  password?: string;
  /** PEM file paths for TLS (etcds:// only). */
  tls: { ca?: string; cert?: string; key?: string };
  /** The URL with any password replaced by "***", for messages and listings. */
  display: string;
}

export interface FileTarget {
  kind: "file";
  dir: string;
  display: string;
}

/** Where one Redis server is reached, and as whom. */
export interface RedisTarget {
  kind: "redis";
  /** "rediss" speaks TLS. */
  scheme: "redis" | "rediss";
  /** Host name or address (an IPv6 address without brackets). */
  host: string;
  port: number;
  /** host:port as people write it (IPv6 in brackets), never with credentials. */
  endpoint: string;
  /** The database number (SELECT), 0 unless the path names one. */
  db: number;
  /** Key prefix under which every lock lives. */
  prefix: string;
  /** An ACL user; undefined authenticates with the password alone (the default user), if any. */
  user?: string;
  password?: string;
  /** PEM file paths for TLS (rediss:// only). */
  tls: { ca?: string; cert?: string; key?: string };
  display: string;
}

export type BackendTarget = FileTarget | EtcdTarget | RedisTarget;

/** The targets whose locks live on a server. */
export type ServerTarget = EtcdTarget | RedisTarget;

export const DEFAULT_ETCD_PORT = 2379;
export const DEFAULT_ETCD_PREFIX = "waitlock/";
export const DEFAULT_REDIS_PORT = 6379;
export const DEFAULT_REDIS_PREFIX = "waitlock:";

/** The environment variables a backend URL may take secrets and TLS files from. */
export const BACKEND_ENV = {
  password: "WAITLOCK_BACKEND_PASSWORD",
  ca: "WAITLOCK_TLS_CA",
  cert: "WAITLOCK_TLS_CERT",
  key: "WAITLOCK_TLS_KEY",
} as const;

const TLS_PARAMS = ["ca", "cert", "key"] as const;

function bad(message: string): WaitlockError {
  return new WaitlockError("EUSAGE", `invalid backend URL: ${message}`);
}

/** redact replaces the password of a URL-ish string, for any message that might echo it. */
export function redact(text: string): string {
  // Up to the last "@" before any query: a password may hold "/" or "@" unencoded.
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:)[^?#]*@/i, "$1***@");
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw bad(`${what} is not valid percent-encoding`);
  }
}

function parseEndpoint(hostPort: string, n: number, display: string, defaultPort: number): { host: string; port: number } {
  // [v6]:port, host:port, or host alone. The text is not echoed: a mistyped URL may hold a password there.
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(hostPort);
  if (!m) throw bad(`endpoint ${n + 1} is not HOST:PORT in ${display}`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) throw bad(`port ${m[2]} is out of range in ${display}`);
  return { host: m[1], port };
}

/** The parts every server URL shares: SCHEME://[USER[:PASS]@]HOSTS[/PATH][?QUERY]. */
interface UrlParts {
  hosts: string;
  path: string;
  params: Map<string, string>;
  /** Whether the URL has a USER[:PASS]@ part at all. */
  hasUserInfo: boolean;
  user?: string;
  password?: string;
}

function splitUrl(rest: string, display: string, known: readonly string[]): UrlParts {
  const shown = JSON.stringify(display);
  const hashAt = rest.indexOf("#");
  if (hashAt >= 0) throw bad(`no fragment (#…) is allowed in ${shown}`);
  const queryAt = rest.indexOf("?");
  const beforeQuery = queryAt >= 0 ? rest.slice(0, queryAt) : rest;
  const query = queryAt >= 0 ? rest.slice(queryAt + 1) : "";
  const slashAt = beforeQuery.indexOf("/");
  const authority = slashAt >= 0 ? beforeQuery.slice(0, slashAt) : beforeQuery;
  const path = slashAt >= 0 ? beforeQuery.slice(slashAt + 1) : "";

  const atAt = authority.lastIndexOf("@");
  const userInfo = atAt >= 0 ? authority.slice(0, atAt) : undefined;
  const hosts = atAt >= 0 ? authority.slice(atAt + 1) : authority;
  if (!hosts) throw bad(`no HOST:PORT in ${shown}`);

  let user: string | undefined;
  let password: string | undefined;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(":");
    user = decode(colon >= 0 ? userInfo.slice(0, colon) : userInfo, "the user name") || undefined;
    if (colon >= 0) password = decode(userInfo.slice(colon + 1), "the password");
  }

  const params = new Map<string, string>();
  for (const pair of query ? query.split("&") : []) {
    const eq = pair.indexOf("=");
    const name = eq >= 0 ? pair.slice(0, eq) : pair;
    if (!known.includes(name)) throw bad(`unknown parameter ${JSON.stringify(name)} (known: ${known.join(", ")})`);
    const value = eq >= 0 ? decode(pair.slice(eq + 1), `the ${name} parameter`) : "";
    if (!value) throw bad(`the ${name} parameter needs ${(TLS_PARAMS as readonly string[]).includes(name) ? "a file path" : "a value"}`);
    if (value.includes("\0")) throw bad(`the ${name} parameter contains a NUL byte`);
    params.set(name, value);
  }
  return { hosts, path, params, hasUserInfo: userInfo !== undefined, user, password };
}

/**
 * tlsFiles takes the CA, certificate and key from the query, else the
 * environment; a TLS parameter in the query of a plain-text scheme is a
 * mistake worth saying (the environment may serve other URLs too).
 */
function tlsFiles(parts: UrlParts, env: (name: string) => string | undefined, secure: boolean, tlsScheme: string, display: string): EtcdTarget["tls"] {
  if (!secure) {
    if (TLS_PARAMS.some((n) => parts.params.has(n))) throw bad(`TLS files need ${tlsScheme}://, not ${tlsScheme.slice(0, -1)}:// (${JSON.stringify(display)})`);
    return {};
  }
  const tls: EtcdTarget["tls"] = {};
  for (const name of TLS_PARAMS) tls[name] = parts.params.get(name) ?? (env(BACKEND_ENV[name]) || undefined);
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw bad("a client certificate needs both cert and key");
  return tls;
}

/**
 * parseBackendUrl turns a backend string into a target. env supplies secrets
 * and TLS files that are not in the URL (the URL wins where both are given).
 */
export function parseBackendUrl(raw: string, env: (name: string) => string | undefined = () => undefined): BackendTarget {
  const display = redact(raw);
  const shown = JSON.stringify(display);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (!scheme) throw bad(`${shown} has no scheme (use file:///DIR, etcd://HOST:PORT, etcds://HOST:PORT, redis://HOST:PORT or rediss://HOST:PORT)`);
  const rest = raw.slice(scheme.length + 3);

  if (scheme === "file") {
    if (!rest.startsWith("/")) throw bad(`file URLs take an absolute path: file:///DIR, not ${shown}`);
    if (/[?#]/.test(rest)) throw bad(`file URLs take no query or fragment: ${shown}`);
    const dir = decode(rest, "the path");
    if (dir.includes("\0")) throw bad("the path contains a NUL byte");
    return { kind: "file", dir, display };
  }
  if (scheme === "redis" || scheme === "rediss") return parseRedis(scheme, rest, display, env);
  if (scheme !== "etcd" && scheme !== "etcds") {
    throw bad(`unknown scheme ${JSON.stringify(scheme)} in ${shown} (known: file, etcd, etcds, redis, rediss)`);
  }

  const parts = splitUrl(rest, display, TLS_PARAMS);
  const endpoints = parts.hosts.split(",").map((h, n) => {
    const { host, port } = parseEndpoint(h, n, shown, DEFAULT_ETCD_PORT);
    return `${host}:${port}`;
  });
  const { user } = parts;
  if (parts.hasUserInfo && user === undefined) throw bad(`empty user name in ${shown}`);
  const password = parts.password ?? (env(BACKEND_ENV.password) || undefined);
  if (password !== undefined && user === undefined) throw bad(`a password needs a user name: etcd://USER@HOST:PORT with ${BACKEND_ENV.password}`);

  const prefixPath = decode(parts.path, "the prefix");
  if (prefixPath.includes("\0")) throw bad("the prefix contains a NUL byte");
  const prefix = prefixPath ? (prefixPath.endsWith("/") ? prefixPath : prefixPath + "/") : DEFAULT_ETCD_PREFIX;
  const https = scheme === "etcds";
  const tls = tlsFiles(parts, env, https, "etcds", display);
  return { kind: "etcd", scheme: https ? "https" : "http", endpoints, prefix, user, password, tls, display };
}

const REDIS_PARAMS = ["prefix", ...TLS_PARAMS] as const;
/** Redis accepts any number of databases its configuration allows; this bounds typing mistakes. */
const MAX_REDIS_DB = 1_000_000;

/** parseRedis reads redis://[USER[:PASS]@]HOST[:PORT][/DB][?prefix=P&ca=…&cert=…&key=…]. */
function parseRedis(scheme: "redis" | "rediss", rest: string, display: string, env: (name: string) => string | undefined): RedisTarget {
  const shown = JSON.stringify(display);
  const parts = splitUrl(rest, display, REDIS_PARAMS);
  if (parts.hosts.includes(",")) throw bad(`one HOST:PORT only in ${shown} (Redis Sentinel and Cluster are not supported)`);
  const { host, port } = parseEndpoint(parts.hosts, 0, shown, DEFAULT_REDIS_PORT);
  const path = parts.path.replace(/\/$/, "");
  if (path !== "" && !/^\d{1,7}$/.test(path)) throw bad(`the path of a redis URL is a database number (/0, /1, …), in ${shown}`);
  const db = path === "" ? 0 : Number(path);
  if (db > MAX_REDIS_DB) throw bad(`database ${db} is out of range in ${shown}`);
  // Redis authenticates a password alone as the default user: redis://:PASS@HOST is the usual form.
  const password = parts.password ?? (env(BACKEND_ENV.password) || undefined);
  // Keys are PREFIX DESCRIPTOR ":" …: a prefix that did not end in ":" could run into a descriptor.
  const given = parts.params.get("prefix");
  const prefix = given === undefined ? DEFAULT_REDIS_PREFIX : given.endsWith(":") ? given : `${given}:`;
  const tls = tlsFiles(parts, env, scheme === "rediss", "rediss", display);
  return {
    kind: "redis", scheme, host: host.replace(/^\[(.*)\]$/, "$1"), port, endpoint: `${host}:${port}`, db, prefix,
    user: parts.user, password, tls, display,
  };
}
