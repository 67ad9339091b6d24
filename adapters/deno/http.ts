// HttpTransport on Deno's fetch. TLS files (etcds://) go through
// Deno.createHttpClient; Deno guards the network with --allow-net.
import { HttpError, splitLines, type HttpOptions, type HttpResponse, type HttpTransport, type TlsFiles } from "../http.ts";

function transportError(err: unknown, host: string, timedOut: boolean): HttpError {
  if (err instanceof HttpError) return err;
  if (timedOut) return new HttpError("ETIMEDOUT", `no answer from ${host} in time`, { cause: err });
  // Deno's fetch says "fetch failed"; what failed is in the cause.
  const cause = (err as { cause?: { message?: unknown } } | null)?.cause?.message;
  const text = String((err as Error)?.message ?? err) + (cause ? `: ${String(cause)}` : "");
  if (err instanceof Deno.errors.NotCapable) return new HttpError("EPERM", `${text} (run Deno with --allow-net)`, { cause: err });
  if (err instanceof Deno.errors.ConnectionRefused || /refused/i.test(text)) return new HttpError("ECONNREFUSED", text, { cause: err });
  if (err instanceof Deno.errors.ConnectionReset || /reset/i.test(text)) return new HttpError("ECONNRESET", text, { cause: err });
  if (/blocked/i.test(text)) return new HttpError("EPERM", text, { cause: err });
  if (/certificate|tls|handshake/i.test(text)) return new HttpError("ETLS", text, { cause: err });
  return new HttpError("EIO", text, { cause: err });
}

export class DenoHttp implements HttpTransport {
  readonly #client: Deno.HttpClient | undefined;

  constructor(tls?: TlsFiles) {
    this.#client = tls
      ? Deno.createHttpClient({
        caCerts: tls.ca ? [tls.ca] : undefined,
        ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
      })
      : undefined;
  }

  /** #send POSTs and returns the response once its headers are in; the timer is the caller's to clear. */
  async #send(baseUrl: string, path: string, body: string, o: HttpOptions, abort: AbortController): Promise<Response> {
    const url = new URL(path, baseUrl);
    let timedOut = false;
    const timer = setTimeout(() => ((timedOut = true), abort.abort()), o.timeoutMs);
    const onAbort = () => abort.abort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await fetch(url, {
        method: "POST", body, signal: abort.signal, client: this.#client,
        headers: { "content-type": "application/json", ...o.headers },
      });
    } catch (err) {
      o.signal?.removeEventListener("abort", onAbort);
      throw transportError(err, url.host, timedOut);
    } finally {
      clearTimeout(timer);
    }
  }

  async post(baseUrl: string, path: string, body: string, o: HttpOptions): Promise<HttpResponse> {
    const abort = new AbortController();
    const res = await this.#send(baseUrl, path, body, o, abort);
    let timedOut = false;
    const timer = setTimeout(() => ((timedOut = true), abort.abort()), o.timeoutMs);
    try {
      return { status: res.status, body: await res.text() };
    } catch (err) {
      throw transportError(err, new URL(baseUrl).host, timedOut);
    } finally {
      clearTimeout(timer);
    }
  }

  async stream(baseUrl: string, path: string, body: string, onLine: (line: string) => void, o: HttpOptions): Promise<void> {
    const abort = new AbortController();
    let res: Response;
    try {
      res = await this.#send(baseUrl, path, body, o, abort);
    } catch (err) {
      if (o.signal?.aborted) return;
      throw err;
    }
    if (res.status !== 200) throw new HttpError(`HTTP${res.status}`, (await res.text()).trim() || `HTTP ${res.status}`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let pending = "";
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<string>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (o.signal?.aborted) return;
          throw transportError(err, new URL(baseUrl).host, false);
        }
        if (chunk.done) return;
        pending = splitLines(pending, chunk.value, onLine); // onLine's own errors pass through as they are
      }
    } finally {
      abort.abort();
    }
  }

  close(): void {
    this.#client?.close();
  }
}
