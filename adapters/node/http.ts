// HttpTransport on node:http/https with keep-alive connections. The modules
// are loaded when the first network backend is made, so that the lock
// directory's paths (the common case) do not pay for them at start-up.
import type http from "node:http";
import type https from "node:https";
import { HttpError, splitLines, type HttpOptions, type HttpResponse, type HttpTransport, type TlsFiles } from "../http.ts";

function transportError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const c = typeof code === "string" ? code : "EIO";
  const tls = /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL)/.test(c);
  return new HttpError(tls ? "ETLS" : c, (err as Error)?.message ?? String(err), { cause: err });
}

type OnResponse = (res: http.IncomingMessage, done: (err?: unknown) => void) => void;

export class NodeHttp implements HttpTransport {
  readonly #agent: http.Agent;
  readonly #module: typeof http | typeof https;
  readonly #tlsOptions: { ca?: string; cert?: string; key?: string };

  constructor(tls?: TlsFiles) {
    this.#tlsOptions = tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {};
    if (tls) {
      const https_ = process.getBuiltinModule("node:https") as typeof https;
      this.#module = https_;
      this.#agent = new https_.Agent({ keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key });
    } else {
      const http_ = process.getBuiltinModule("node:http") as typeof http;
      this.#module = http_;
      this.#agent = new http_.Agent({ keepAlive: true });
    }
  }

  /**
   * #exchange sends one POST. The timeout covers the whole exchange, or only
   * the wait for the response headers when untilHeaders is set (a watch may
   * then stay quiet for hours).
   */
  #exchange(baseUrl: string, path: string, body: string, o: HttpOptions, untilHeaders: boolean, onResponse: OnResponse): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let finished = false;
      const url = new URL(path, baseUrl);
      // A background stream gets a connection of its own, unreferenced: pooled sockets serve other requests.
      const req = this.#module.request(url, {
        method: "POST", agent: o.background ? false : this.#agent,
        // A length, not chunks: the request leaves in one write.
        headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...o.headers },
        ...(o.background ? this.#tlsOptions : {}),
      });
      if (o.background) req.on("socket", (socket) => socket.unref());
      const done = (err?: unknown) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
        if (err) reject(transportError(err));
        else resolve();
      };
      const timer = setTimeout(() => {
        req.destroy(new HttpError("ETIMEDOUT", `no answer from ${url.host} within ${o.timeoutMs} ms`));
      }, o.timeoutMs);
      const onAbort = () => {
        req.destroy();
        done();
      };
      if (o.signal?.aborted) return onAbort();
      o.signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", done);
      req.on("response", (res) => {
        if (untilHeaders) clearTimeout(timer);
        res.on("error", done);
        res.on("aborted", () => done(new HttpError("ECONNRESET", `connection to ${url.host} closed mid-answer`)));
        onResponse(res, done);
      });
      req.end(body);
    });
  }

  async post(baseUrl: string, path: string, body: string, o: HttpOptions): Promise<HttpResponse> {
    let status = 0;
    let text = "";
    await this.#exchange(baseUrl, path, body, o, false, (res, done) => {
      status = res.statusCode ?? 0;
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => done());
    });
    return { status, body: text };
  }

  stream(baseUrl: string, path: string, body: string, onLine: (line: string) => void, o: HttpOptions): Promise<void> {
    return this.#exchange(baseUrl, path, body, o, true, (res, done) => {
      const status = res.statusCode ?? 0;
      let pending = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (status !== 200) return void (pending += c);
        try {
          pending = splitLines(pending, c, onLine);
        } catch (err) {
          res.destroy();
          done(err);
        }
      });
      res.on("end", () => done(status === 200 ? undefined : new HttpError(`HTTP${status}`, pending.trim() || `HTTP ${status}`)));
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
