// A small client for etcd's v3 API through its built-in JSON gateway (the
// HTTP face every etcd ≥ 3.4 serves on its client port). Only what the lock
// protocol needs: leases, ranges, transactions, watches and status. No gRPC
// library: the gateway costs nothing to load, where the npm etcd3 client
// (gRPC) would multiply the CLI's start-up and memory.
//
// Wire facts this relies on: keys and values are base64; 64-bit integers are
// decimal strings; fields equal to their default (0, false, empty) are omitted.
import type { EtcdTarget } from "../backend-url.ts";
import { WaitlockError } from "../errors.ts";
import { HttpError, type HttpTransport, type NetworkSupport, type TlsFiles } from "../http.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** All ASCII: then the text is its own UTF-8, and btoa/atob need no loop over its bytes. */
const ASCII = /^[\x00-\x7f]*$/;

export function b64(text: string): string {
  if (ASCII.test(text)) return btoa(text); // keys and JSON values, nearly always
  let bin = "";
  for (const byte of encoder.encode(text)) bin += String.fromCharCode(byte);
  return btoa(bin);
}

export function unb64(data: string | undefined): string {
  if (!data) return "";
  const bin = atob(data);
  if (ASCII.test(bin)) return bin;
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return decoder.decode(bytes);
}

/** The key just past every key that starts with prefix: a range_end for "all keys under prefix". */
export function prefixEnd(prefix: string): string {
  const bytes = encoder.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i]++;
      let bin = "";
      for (const byte of end) bin += String.fromCharCode(byte);
      return btoa(bin); // already base64: may not be valid UTF-8
    }
  }
  return btoa("\0");
}

export interface KeyValue {
  key: string;
  value: string;
  createRevision: bigint;
  modRevision: bigint;
  /** The lease ID (decimal) the key is attached to, "0" when none. */
  lease: string;
}

export interface WatchEvent {
  type: "PUT" | "DELETE";
  kv: KeyValue;
}

/**
 * A comparison of a transaction, on one key, or (prefix) on every key under it:
 * true when it holds for each of them, and compared with an absent key's zeros
 * when there are none — so VERSION = 0 over a prefix means "no key there".
 */
export type Compare =
  | { key: string; prefix?: boolean; target: "CREATE" | "MOD" | "VERSION"; result: "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL"; value: bigint }
  | { key: string; prefix?: boolean; target: "VALUE"; result: "EQUAL" | "NOT_EQUAL"; value: string };

/** An operation of a transaction. */
export type Op =
  | { put: { key: string; value: string; lease?: string } }
  | { range: { key: string; prefix?: boolean; sortByCreate?: boolean; limit?: number } }
  | { delete: { key: string; prefix?: boolean } };

export interface TxnResult {
  succeeded: boolean;
  revision: bigint;
  /** One entry per operation run: the keys a range returned, [] for puts and deletes. */
  results: KeyValue[][];
}

export interface Status {
  version: string;
  memberId: string;
  leader: string;
  revision: bigint;
}

interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}

function toKv(raw: RawKv): KeyValue {
  return {
    key: unb64(raw.key),
    value: unb64(raw.value),
    createRevision: BigInt(raw.create_revision ?? 0),
    modRevision: BigInt(raw.mod_revision ?? 0),
    lease: raw.lease ?? "0",
  };
}

// gRPC status codes the gateway reports in its error bodies.
const GRPC_UNAUTHENTICATED = 16;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAVAILABLE = 14;

/** Transport failures after which another endpoint may answer. */
const RETRYABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EIO"]);

export interface EtcdClientOptions {
  /** Bound on one request to one endpoint. */
  requestTimeoutMs?: number;
}

export class EtcdClient {
  readonly target: EtcdTarget;
  readonly #http: HttpTransport;
  readonly #timeoutMs: number;
  #current = 0;
  #token: string | undefined;

  /** connect makes a client for target, reading its TLS files (etcds://) through net. */
  static connect(target: EtcdTarget, net: NetworkSupport, options: EtcdClientOptions = {}): EtcdClient {
    let tls: TlsFiles | undefined;
    if (target.scheme === "https") {
      tls = {};
      for (const name of ["ca", "cert", "key"] as const) {
        const path = target.tls[name];
        if (path !== undefined) tls[name] = net.readText(path);
      }
    }
    return new EtcdClient(target, net.http(tls), options);
  }

  constructor(target: EtcdTarget, http: HttpTransport, options: EtcdClientOptions = {}) {
    this.target = target;
    this.#http = http;
    this.#timeoutMs = options.requestTimeoutMs ?? 3000;
  }

  /** The endpoint requests go to now (host:port, never with credentials). */
  get endpoint(): string {
    return this.target.endpoints[this.#current];
  }

  #base(i: number): string {
    return `${this.target.scheme}://${this.target.endpoints[i]}`;
  }

  #headers(): Record<string, string> | undefined {
    return this.#token ? { authorization: this.#token } : undefined;
  }

  /**
   * #unreachable is the error for "no endpoint answered": EAGAIN (exit 75),
   * naming the endpoints and the last cause, never a credential.
   */
  #unreachable(last: HttpError): WaitlockError {
    const where = this.target.endpoints.join(", ");
    if (last.code === "ETLS") return new WaitlockError("EPERM", `TLS refused by etcd at ${where}: ${last.message}`, { cause: last });
    if (last.code === "EPERM") return new WaitlockError("EPERM", `not permitted to reach etcd at ${where}: ${last.message}`, { cause: last });
    return new WaitlockError("EAGAIN", `cannot reach etcd at ${where} (${last.code})`, { cause: last });
  }

  /** #serverError maps an answer that is an error (HTTP status ≠ 200) to a WaitlockError. */
  #serverError(status: number, body: string, path: string): WaitlockError & { grpc?: number } {
    let message = body.trim();
    let grpc: number | undefined;
    try {
      const parsed = JSON.parse(body) as { error?: string; message?: string; code?: number };
      message = parsed.message || parsed.error || message;
      grpc = parsed.code;
    } catch {
      // not JSON: keep the text
    }
    // etcd reports a missing user as InvalidArgument ("user name is empty"): go by the text too.
    const authProblem = /user name is empty|permission denied|authentication failed|invalid auth token/i.test(message);
    const code = grpc === GRPC_UNAUTHENTICATED || grpc === GRPC_PERMISSION_DENIED || status === 401 || status === 403 || authProblem
      ? "EPERM"
      : grpc === GRPC_UNAVAILABLE || status === 503 ? "EAGAIN" : "ESYSTEM";
    const err = new WaitlockError(code, `etcd refused ${path}: ${message || `HTTP ${status}`}`) as WaitlockError & { grpc?: number };
    err.grpc = grpc;
    return err;
  }

  async #authenticate(i: number): Promise<void> {
    const { user, password } = this.target;
    if (user === undefined) return;
    const res = await this.#http.post(this.#base(i), "/v3/auth/authenticate", JSON.stringify({ name: user, password: password ?? "" }), { timeoutMs: this.#timeoutMs });
    if (res.status !== 200) {
      const err = this.#serverError(res.status, res.body, "authentication");
      throw new WaitlockError(err.code === "EAGAIN" ? "EAGAIN" : "EPERM", `etcd at ${this.target.endpoints[i]} refused user ${JSON.stringify(user)}: ${err.message.replace(/^etcd refused authentication: /, "")}`);
    }
    this.#token = (JSON.parse(res.body) as { token?: string }).token;
  }

  /**
   * call POSTs one request, moving to the next endpoint when one does not
   * answer, and authenticating (again) when the server asks. Requests the
   * protocol sends are safe to repeat (they compare before they write).
   */
  async call<T>(path: string, body: unknown, timeoutMs = this.#timeoutMs): Promise<T> {
    const text = JSON.stringify(body);
    let last: HttpError | undefined;
    let reauthenticated = false;
    for (let tried = 0; tried < this.target.endpoints.length; tried++) {
      const i = (this.#current + tried) % this.target.endpoints.length;
      try {
        if (this.#token === undefined) await this.#authenticate(i);
        const res = await this.#http.post(this.#base(i), path, text, { timeoutMs, headers: this.#headers() });
        if (res.status === 200) {
          this.#current = i;
          return JSON.parse(res.body) as T;
        }
        const err = this.#serverError(res.status, res.body, path);
        if (err.grpc === GRPC_UNAUTHENTICATED && this.target.user !== undefined && !reauthenticated) {
          reauthenticated = true; // the token expired: authenticate once more, same endpoint
          this.#token = undefined;
          tried--;
          continue;
        }
        if (err.code !== "EAGAIN") throw err;
        last = new HttpError("EUNAVAILABLE", err.message);
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        if (!RETRYABLE.has(err.code)) throw this.#unreachable(err);
        last = err;
        this.#token = undefined; // a token belongs to one member's session
      }
    }
    throw this.#unreachable(last!);
  }

  async put(key: string, value: string, lease?: string): Promise<bigint> {
    const r = await this.call<{ header?: { revision?: string } }>("/v3/kv/put", { key: b64(key), value: b64(value), lease });
    return BigInt(r.header?.revision ?? 0);
  }

  async grantLease(ttlSeconds: number): Promise<{ id: string; ttl: number }> {
    const r = await this.call<{ ID?: string; TTL?: string; error?: string }>("/v3/lease/grant", { TTL: String(ttlSeconds) });
    if (!r.ID || r.error) throw new WaitlockError("ESYSTEM", `etcd did not grant a lease: ${r.error ?? "no ID"}`);
    return { id: r.ID, ttl: Number(r.TTL ?? ttlSeconds) };
  }

  /** Renews a lease once; returns the TTL granted, 0 when the lease no longer exists. */
  async keepAlive(id: string, timeoutMs?: number): Promise<number> {
    const r = await this.call<{ result?: { TTL?: string }; error?: { message?: string } }>("/v3/lease/keepalive", { ID: id }, timeoutMs);
    if (r.error) throw new WaitlockError("EAGAIN", `etcd did not renew lease: ${r.error.message ?? "error"}`);
    return Number(r.result?.TTL ?? 0);
  }

  async revokeLease(id: string, timeoutMs?: number): Promise<void> {
    try {
      await this.call("/v3/lease/revoke", { ID: id }, timeoutMs);
    } catch (err) {
      // A lease that has already expired is revoked as far as anyone can tell.
      if (!(err instanceof WaitlockError && /lease not found/.test(err.message))) throw err;
    }
  }

  /** Seconds left on a lease, -1 when it is gone. */
  async leaseTimeToLive(id: string): Promise<number> {
    const r = await this.call<{ TTL?: string }>("/v3/lease/timetolive", { ID: id });
    return Number(r.TTL ?? 0);
  }

  static #op(op: Op): unknown {
    if ("put" in op) return { request_put: { key: b64(op.put.key), value: b64(op.put.value), lease: op.put.lease } };
    if ("range" in op) {
      const r = op.range;
      return {
        request_range: {
          key: b64(r.key), range_end: r.prefix ? prefixEnd(r.key) : undefined, limit: r.limit,
          sort_target: r.sortByCreate ? "CREATE" : undefined, sort_order: r.sortByCreate ? "ASCEND" : undefined,
        },
      };
    }
    return { request_delete_range: { key: b64(op.delete.key), range_end: op.delete.prefix ? prefixEnd(op.delete.key) : undefined } };
  }

  static #compare(c: Compare): unknown {
    const field = { CREATE: "create_revision", MOD: "mod_revision", VERSION: "version", VALUE: "value" }[c.target];
    const value = c.target === "VALUE" ? b64(c.value) : String(c.value);
    return { key: b64(c.key), range_end: c.prefix ? prefixEnd(c.key) : undefined, target: c.target, result: c.result, [field]: value };
  }

  async txn(compare: Compare[], success: Op[], failure: Op[] = []): Promise<TxnResult> {
    const r = await this.call<{
      header?: { revision?: string };
      succeeded?: boolean;
      responses?: { response_range?: { kvs?: RawKv[] } }[];
    }>("/v3/kv/txn", {
      compare: compare.map((c) => EtcdClient.#compare(c)),
      success: success.map((o) => EtcdClient.#op(o)),
      failure: failure.map((o) => EtcdClient.#op(o)),
    });
    return {
      succeeded: r.succeeded === true,
      revision: BigInt(r.header?.revision ?? 0),
      results: (r.responses ?? []).map((x) => (x.response_range?.kvs ?? []).map(toKv)),
    };
  }

  async range(key: string, o: { prefix?: boolean; sortByCreate?: boolean; limit?: number } = {}): Promise<{ kvs: KeyValue[]; revision: bigint }> {
    const r = await this.call<{ header?: { revision?: string }; kvs?: RawKv[] }>("/v3/kv/range", (EtcdClient.#op({ range: { key, ...o } }) as { request_range: unknown }).request_range);
    return { kvs: (r.kvs ?? []).map(toKv), revision: BigInt(r.header?.revision ?? 0) };
  }

  async status(): Promise<Status> {
    const r = await this.call<{ version?: string; leader?: string; header?: { member_id?: string; revision?: string } }>("/v3/maintenance/status", {});
    return { version: r.version ?? "?", leader: r.leader ?? "0", memberId: r.header?.member_id ?? "0", revision: BigInt(r.header?.revision ?? 0) };
  }

  /**
   * watch streams the changes to key (or every key under it, with prefix)
   * from startRevision on, calling onEvents for each batch. It resolves when
   * signal aborts, and rejects when the stream breaks (the caller decides
   * whether to re-read and watch again) or the revision was compacted.
   */
  async watch(
    key: string,
    o: { prefix?: boolean; startRevision: bigint; noPut?: boolean; signal: AbortSignal; connectTimeoutMs?: number; background?: boolean },
    onEvents: (events: WatchEvent[], revision: bigint) => void,
  ): Promise<void> {
    const body = JSON.stringify({
      create_request: {
        key: b64(key), range_end: o.prefix ? prefixEnd(key) : undefined,
        start_revision: String(o.startRevision), filters: o.noPut ? ["NOPUT"] : undefined,
      },
    });
    if (this.#token === undefined && this.target.user !== undefined) await this.call("/v3/maintenance/status", {});
    const onLine = (line: string) => {
      const msg = JSON.parse(line) as {
        result?: { header?: { revision?: string }; events?: { type?: string; kv?: RawKv }[]; canceled?: boolean; compact_revision?: string; cancel_reason?: string };
        error?: { message?: string };
      };
      if (msg.error) throw new WaitlockError("EAGAIN", `etcd watch failed: ${msg.error.message ?? "error"}`);
      const r = msg.result;
      if (!r) return;
      if (r.canceled) throw new WaitlockError("EAGAIN", `etcd cancelled a watch${r.compact_revision ? " (revision compacted)" : ""}: ${r.cancel_reason ?? ""}`.trim());
      if (r.events?.length) {
        onEvents(r.events.map((e) => ({ type: e.type === "DELETE" ? "DELETE" : "PUT", kv: toKv(e.kv ?? {}) })), BigInt(r.header?.revision ?? 0));
      }
    };
    try {
      await this.#http.stream(this.#base(this.#current), "/v3/watch", body, onLine, {
        timeoutMs: o.connectTimeoutMs ?? this.#timeoutMs, signal: o.signal, headers: this.#headers(), background: o.background,
      });
    } catch (err) {
      if (err instanceof HttpError) throw this.#unreachable(err);
      throw err;
    }
    if (!o.signal.aborted) throw new WaitlockError("EAGAIN", `etcd at ${this.endpoint} ended a watch`);
  }

  close(): void {
    this.#http.close();
  }
}
