// The little HTTP a network backend needs, behind one interface so the etcd
// client is written once: Node implements it on node:http (loading fetch's
// undici would cost Node more than the whole CLI start), Deno on its built-in fetch. The Redis client
// (ioredis) is lent the same way: each runtime knows how to load it.
import type { IoRedisModule } from "./redis/client.ts";

export interface HttpOptions {
  /** Give up (rejecting with an error whose code is "ETIMEDOUT") after this many ms. */
  timeoutMs: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** A long-lived stream that must not keep the process alive by itself (where the runtime allows). */
  background?: boolean;
}

export interface HttpResponse {
  status: number;
  body: string;
}

/** TLS material for https, already read from disk (PEM text). */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface HttpTransport {
  /** POSTs a JSON body to baseUrl + path and returns the whole response. */
  post(baseUrl: string, path: string, body: string, options: HttpOptions): Promise<HttpResponse>;
  /**
   * POSTs a JSON body and hands each newline-delimited line of the streamed
   * response to onLine as it arrives. Resolves when the server ends the
   * response; rejects on a transport error; stops quietly when signal aborts.
   * connectTimeoutMs bounds only the wait for the response headers.
   */
  stream(baseUrl: string, path: string, body: string, onLine: (line: string) => void, options: HttpOptions): Promise<void>;
  /** Drops idle connections so the process may exit. */
  close(): void;
}

/** What a runtime lends a network backend: HTTP, the Redis client, and reading TLS files. */
export interface NetworkSupport {
  http(tls?: TlsFiles): HttpTransport;
  /** Loads ioredis, only when a redis:// backend is first used (it is never bundled with the CLI). */
  loadRedis(): Promise<IoRedisModule>;
  /** Reads a whole text file (PEM); throws a WaitlockError saying what could not be read. */
  readText(path: string): string;
}

/** A transport failure with a code the caller can map: ETIMEDOUT, ECONNREFUSED, ECONNRESET, ETLS… */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** splitLines feeds complete lines of chunked text to onLine and returns the unfinished tail. */
export function splitLines(pending: string, chunk: string, onLine: (line: string) => void): string {
  let text = pending + chunk;
  let nl: number;
  while ((nl = text.indexOf("\n")) >= 0) {
    const line = text.slice(0, nl).trim();
    text = text.slice(nl + 1);
    if (line) onLine(line);
  }
  return text;
}
