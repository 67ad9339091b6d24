// One Redis command over a fresh connection, speaking RESP directly: enough for
// tests to check a server without a client library. A hard deadline fails the
// call as ETIMEDOUT when the server is stopped or the network cut.
import { connect } from "node:net";

export type RedisReply = string | number | null | RedisReply[];

export class RedisCommandError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

/** parse reads one reply at offset; undefined when the buffer does not hold all of it yet. */
function parse(buf: string, offset = 0): { value: RedisReply | Error; end: number } | undefined {
  const eol = buf.indexOf("\r\n", offset);
  if (eol < 0) return undefined;
  const line = buf.slice(offset + 1, eol);
  const next = eol + 2;
  switch (buf[offset]) {
    case "+": return { value: line, end: next };
    case "-": return { value: new Error(line), end: next };
    case ":": return { value: Number(line), end: next };
    case "$": {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      // lengths are in bytes: the tests' values are ASCII, so bytes = chars
      return buf.length >= next + n + 2 ? { value: buf.slice(next, next + n), end: next + n + 2 } : undefined;
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items: RedisReply[] = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, at);
        if (!item) return undefined;
        if (item.value instanceof Error) return item;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default: return { value: new Error(`unexpected reply ${JSON.stringify(buf.slice(offset, offset + 40))}`), end: buf.length };
  }
}

export function redisCommand(port: number, args: string[], { timeoutMs = 2_000 } = {}): Promise<RedisReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const fail = (err: RedisCommandError) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new RedisCommandError(`redis ${args[0]} on port ${port}: no answer within ${timeoutMs} ms`, "ETIMEDOUT")), timeoutMs);
    let buf = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      buf += d;
      const reply = parse(buf);
      if (!reply) return;
      clearTimeout(timer);
      socket.end();
      if (reply.value instanceof Error) reject(new RedisCommandError(`redis ${args[0]}: ${reply.value.message}`, "EREDIS"));
      else resolve(reply.value);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => fail(new RedisCommandError(`redis ${args[0]} on port ${port}: ${err.message}`, err.code ?? "EIO")));
    socket.once("end", () => fail(new RedisCommandError(`redis ${args[0]} on port ${port}: connection closed before a reply`, "ECONNRESET")));
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
  });
}
