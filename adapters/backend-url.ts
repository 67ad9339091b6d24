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

export type BackendTarget = FileTarget | EtcdTarget;

export const DEFAULT_ETCD_PORT = 2379;
export const DEFAULT_ETCD_PREFIX = "waitlock/";

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

function parseEndpoint(hostPort: string, n: number, display: string): string {
  // [v6]:port, host:port, or host alone. The text is not echoed: a mistyped URL may hold a password there.
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(hostPort);
  if (!m) throw bad(`endpoint ${n + 1} is not HOST:PORT in ${display}`);
  const port = m[2] === undefined ? DEFAULT_ETCD_PORT : Number(m[2]);
  if (port < 1 || port > 65535) throw bad(`port ${m[2]} is out of range in ${display}`);
  return `${m[1]}:${port}`;
}

/**
 * parseBackendUrl turns a backend string into a target. env supplies secrets
 * and TLS files that are not in the URL (the URL wins where both are given).
 */
export function parseBackendUrl(raw: string, env: (name: string) => string | undefined = () => undefined): BackendTarget {
  const display = redact(raw);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (!scheme) throw bad(`${JSON.stringify(display)} has no scheme (use file:///DIR, etcd://HOST:PORT or etcds://HOST:PORT)`);
  const rest = raw.slice(scheme.length + 3);

  if (scheme === "file") {
    if (!rest.startsWith("/")) throw bad(`file URLs take an absolute path: file:///DIR, not ${JSON.stringify(display)}`);
    if (/[?#]/.test(rest)) throw bad(`file URLs take no query or fragment: ${JSON.stringify(display)}`);
    const dir = decode(rest, "the path");
    if (dir.includes("\0")) throw bad("the path contains a NUL byte");
    return { kind: "file", dir, display };
  }
  if (scheme !== "etcd" && scheme !== "etcds") {
    throw bad(`unknown scheme ${JSON.stringify(scheme)} in ${JSON.stringify(display)} (known: file, etcd, etcds)`);
  }

  const hashAt = rest.indexOf("#");
  if (hashAt >= 0) throw bad(`no fragment (#…) is allowed in ${JSON.stringify(display)}`);
  const queryAt = rest.indexOf("?");
  const beforeQuery = queryAt >= 0 ? rest.slice(0, queryAt) : rest;
  const query = queryAt >= 0 ? rest.slice(queryAt + 1) : "";
  const slashAt = beforeQuery.indexOf("/");
  const authority = slashAt >= 0 ? beforeQuery.slice(0, slashAt) : beforeQuery;
  const path = slashAt >= 0 ? beforeQuery.slice(slashAt + 1) : "";

  const atAt = authority.lastIndexOf("@");
  const userInfo = atAt >= 0 ? authority.slice(0, atAt) : undefined;
  const hosts = atAt >= 0 ? authority.slice(atAt + 1) : authority;
  if (!hosts) throw bad(`no HOST:PORT in ${JSON.stringify(display)}`);
  const endpoints = hosts.split(",").map((h, n) => parseEndpoint(h, n, JSON.stringify(display)));

  let user: string | undefined;
  let password: string | undefined;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(":");
    user = decode(colon >= 0 ? userInfo.slice(0, colon) : userInfo, "the user name");
    if (colon >= 0) password = decode(userInfo.slice(colon + 1), "the password");
    if (!user) throw bad(`empty user name in ${JSON.stringify(display)}`);
  }
  password ??= env(BACKEND_ENV.password) || undefined;
  if (password !== undefined && user === undefined) throw bad(`a password needs a user name: etcd://USER@HOST:PORT with ${BACKEND_ENV.password}`);

  const prefixPath = decode(path, "the prefix");
  if (prefixPath.includes("\0")) throw bad("the prefix contains a NUL byte");
  const prefix = prefixPath ? (prefixPath.endsWith("/") ? prefixPath : prefixPath + "/") : DEFAULT_ETCD_PREFIX;

  const tls: EtcdTarget["tls"] = {};
  for (const pair of query ? query.split("&") : []) {
    const eq = pair.indexOf("=");
    const name = eq >= 0 ? pair.slice(0, eq) : pair;
    const value = eq >= 0 ? decode(pair.slice(eq + 1), `the ${name} parameter`) : "";
    if (!(TLS_PARAMS as readonly string[]).includes(name)) {
      throw bad(`unknown parameter ${JSON.stringify(name)} (known: ${TLS_PARAMS.join(", ")})`);
    }
    if (!value) throw bad(`the ${name} parameter needs a file path`);
    tls[name as (typeof TLS_PARAMS)[number]] = value;
  }
  for (const name of TLS_PARAMS) tls[name] ??= env(BACKEND_ENV[name]) || undefined;
  const https = scheme === "etcds";
  if (!https && TLS_PARAMS.some((n) => queryAt >= 0 && tls[n] !== undefined && query.includes(`${n}=`))) {
    throw bad(`TLS files need etcds://, not etcd:// (${JSON.stringify(display)})`);
  }
  if ((tls.cert === undefined) !== (tls.key === undefined) && https) {
    throw bad("a client certificate needs both cert and key");
  }
  return {
    kind: "etcd", scheme: https ? "https" : "http", endpoints, prefix, user, password,
    tls: https ? tls : {}, display,
  };
}
