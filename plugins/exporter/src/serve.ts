// The exporter's HTTP server: GET /metrics renders the metrics of one backend
// (cli/metrics-source.ts) at each scrape; the events files are also read every
// second, so a burst of events between two scrapes is read before a rotation
// can drop it. Nothing a lock directory, an events file or a server does may
// end the process: a failed listing is waitlock_backend_up 0.
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createWaitlock } from "../../../adapters/api.ts";
import { nodeNetwork } from "../../../adapters/node/network.ts";
import { NodePlatform } from "../../../adapters/node/platform.ts";
import { createCore } from "../../../adapters/wasm-core.ts";
import { CONTENT_TYPES, type MetricsFormat } from "../../../cli/metrics.ts";
import { MetricsSource, eventsDirOf } from "../../../cli/metrics-source.ts";

export interface ServeOptions {
  /** The CLI's package root: build/waitlock.wasm lives under it. */
  root: string;
  listen: { host: string; port: number };
  lockDir?: string;
  backend?: string;
  eventsDir?: string;
}

const EVENTS_POLL_MS = 1000;

/** formatFor picks OpenMetrics when the scraper's Accept header asks for it. */
export function formatFor(accept: string | undefined): MetricsFormat {
  return accept && /application\/openmetrics-text/i.test(accept) ? "openmetrics" : "prometheus";
}

function oneLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0];
}

/** serve runs until SIGTERM or SIGINT; returns the exit code. */
export async function serve(o: ServeOptions): Promise<number> {
  const where = o.backend !== undefined ? { backend: o.backend } : { lockDir: o.lockDir };
  let source: MetricsSource;
  let what: string;
  let wl;
  try {
    // The exporter records no events of its own (it takes no locks): no event sink.
    wl = createWaitlock(new NodePlatform(), createCore(readFileSync(`${o.root}/build/waitlock.wasm`)), nodeNetwork);
    what = wl.backend(where).location;
    source = new MetricsSource(wl, where, o.eventsDir ?? eventsDirOf(wl, where));
  } catch (err) {
    process.stderr.write(`waitlock: ${oneLine(err)}\n`);
    return 3;
  }
  // A backend's client may emit an error nobody awaits (a server gone): say it, keep serving.
  let lastComplaint = "";
  process.on("uncaughtException", (err) => {
    const line = oneLine(err);
    if (line !== lastComplaint) process.stderr.write(`waitlock exporter: ${line}\n`);
    lastComplaint = line;
  });
  process.on("unhandledRejection", () => undefined);

  // One rendering at a time: concurrent scrapes share it.
  const inFlight = new Map<MetricsFormat, Promise<string>>();
  const render = (format: MetricsFormat): Promise<string> => {
    let p = inFlight.get(format);
    if (!p) {
      p = source.render(format).finally(() => inFlight.delete(format));
      inFlight.set(format, p);
    }
    return p;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      const format = formatFor(req.headers.accept);
      const body = await render(format);
      res.writeHead(200, { "content-type": CONTENT_TYPES[format] });
      res.end(req.method === "HEAD" ? undefined : body);
    } else if (path === "/") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("waitlock exporter: metrics on /metrics\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: metrics are on /metrics\n");
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end(`waitlock exporter: ${oneLine(err)}\n`);
    });
  });
  server.on("clientError", (_err, socket) => socket.destroy());

  const listening = await new Promise<true | Error>((resolve) => {
    server.once("error", resolve);
    server.listen(o.listen.port, o.listen.host, () => resolve(true));
  });
  if (listening !== true) {
    process.stderr.write(`waitlock: cannot listen on ${o.listen.host}:${o.listen.port}: ${oneLine(listening)}\n`);
    return 4;
  }
  server.on("error", (err) => process.stderr.write(`waitlock exporter: ${oneLine(err)}\n`));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : o.listen.port;
  const host = o.listen.host.includes(":") ? `[${o.listen.host}]` : o.listen.host;
  process.stderr.write(`waitlock exporter: serving http://${host}:${port}/metrics for ${what}\n`);

  const poll = setInterval(() => {
    try {
      source.pollEvents();
    } catch {
      // counted by the reader; never fatal
    }
  }, EVENTS_POLL_MS);
  return new Promise<number>((resolve) => {
    const stop = () => {
      clearInterval(poll);
      server.close();
      server.closeAllConnections();
      wl!.close();
      resolve(0);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}
