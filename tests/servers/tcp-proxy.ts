// A TCP proxy on a random loopback port in front of a server, which a test can
// cut to simulate a network partition between a client and that server:
//
// - cut("reset"): every connection is reset (RST to both ends) and new ones are
//   reset as soon as they are accepted: the client sees ECONNRESET at once,
//   like a peer whose host rebooted or a firewall that rejects.
// - cut("blackhole"): nothing is forwarded in either direction and nothing is
//   closed; new connections are accepted but not passed on. Bytes stay in the
//   kernel's buffers (the proxy stops reading) and are delivered on restore(),
//   as TCP retransmission does when a partition heals: the client sees silence
//   and only its own deadlines or keep-alives can tell.
// - cut("one-way"): what clients send is passed on (new connections too), what
//   the server sends back is held: the server acts on a request whose answer
//   never arrives, as when a link fails between a request and its reply.
// - cutAfter(marker, mode): the same cut, made the moment a client sends bytes
//   containing marker, right after passing them on: the link fails between a
//   given request and its reply.
// - restore(): forwarding resumes; held connections are connected upstream.
import { connect, createServer, type Socket } from "node:net";

export type CutMode = "reset" | "blackhole" | "one-way";

export interface ProxyCounters {
  /** Connections accepted since the start. */
  accepted: number;
  /** Connections currently open through the proxy (held ones included). */
  open: number;
  /** Connections the proxy reset (cut, or refused while cut). */
  reset: number;
}

export interface TcpProxy extends AsyncDisposable {
  port: number;
  /** "127.0.0.1:PORT", where clients connect instead of the target. */
  endpoint: string;
  counters: ProxyCounters;
  cut(mode: CutMode): void;
  /** cutAfter cuts (as cut(mode)) right after passing on the first client bytes that contain marker. */
  cutAfter(marker: string, mode: CutMode): void;
  restore(): void;
  close(): Promise<void>;
}

function reset(socket: Socket | undefined): void {
  if (!socket || socket.destroyed) return;
  // resetAndDestroy needs a connected handle; one still connecting just goes.
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

/** startTcpProxy listens on a random loopback port and forwards each connection to target (port on 127.0.0.1, or "host:port"). */
export async function startTcpProxy(target: number | string): Promise<TcpProxy> {
  const [host, port] = typeof target === "number" ? ["127.0.0.1", target] : [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
  let state: "open" | CutMode | "closed" = "open";
  const counters: ProxyCounters = { accepted: 0, open: 0, reset: 0 };
  const pairs = new Set<{ client: Socket; upstream?: Socket }>();
  let armed: { marker: string; mode: CutMode } | undefined;
  /** Which directions pass now: requests go up while open or cut one-way; replies come down only while open. */
  const upOpen = () => state === "open" || state === "one-way";
  const downOpen = () => state === "open";

  /** forward copies from → to while that direction is open, pausing on back-pressure. */
  const forward = (from: Socket, to: Socket, open: () => boolean, fromClient: boolean) => {
    from.on("data", (chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => open() && from.resume());
      }
      // A marker split across two chunks is missed: tests pick one that a single request carries.
      if (armed && fromClient && chunk.includes(armed.marker)) {
        const mode = armed.mode;
        armed = undefined;
        cut(mode);
      }
    });
    from.once("end", () => to.end()); // a half-close passes through
  };

  const flow = (pair: { client: Socket; upstream?: Socket }) => {
    const { client, upstream } = pair;
    if (!upstream || upstream.connecting) return;
    if (!client.writableNeedDrain && downOpen()) upstream.resume();
    if (!upstream.writableNeedDrain) client.resume();
  };

  const dial = (pair: { client: Socket; upstream?: Socket }) => {
    const upstream = connect({ host, port, allowHalfOpen: true });
    pair.upstream = upstream;
    upstream.pause();
    upstream.once("connect", () => {
      forward(pair.client, upstream, upOpen, true);
      forward(upstream, pair.client, downOpen, false);
      if (upOpen()) flow(pair);
    });
    // The server refused or reset: the client sees the same.
    upstream.once("error", () => reset(pair.client));
    upstream.once("close", () => pair.client.destroy());
  };

  const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    counters.accepted++;
    if (state === "reset" || state === "closed") {
      counters.reset++;
      reset(client);
      return;
    }
    const pair: { client: Socket; upstream?: Socket } = { client };
    pairs.add(pair);
    counters.open++;
    client.once("error", () => reset(pair.upstream));
    client.once("close", () => {
      pairs.delete(pair);
      counters.open--;
      pair.upstream?.destroy();
    });
    if (state !== "blackhole") dial(pair);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const listenPort = (server.address() as { port: number }).port;

  function cut(mode: CutMode): void {
    if (state === "closed") throw new Error("the proxy is closed");
    state = mode;
    for (const pair of pairs) {
      if (mode === "reset") {
        counters.reset++;
        reset(pair.client);
        reset(pair.upstream);
      } else if (mode === "blackhole") {
        pair.client.pause();
        pair.upstream?.pause();
      } else {
        pair.upstream?.pause(); // one-way: requests still go up
      }
    }
  }

  const close = async () => {
    if (state === "closed") return;
    state = "closed";
    for (const pair of pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    await new Promise((resolve) => server.close(resolve));
  };

  return {
    port: listenPort,
    endpoint: `127.0.0.1:${listenPort}`,
    counters,
    cut,
    cutAfter(marker, mode) {
      armed = { marker, mode };
    },
    restore() {
      if (state === "closed") throw new Error("the proxy is closed");
      state = "open";
      for (const pair of pairs) {
        if (pair.upstream) flow(pair);
        else dial(pair);
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
