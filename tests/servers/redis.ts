// A real redis-server for tests, on a random loopback port with a temp dir,
// ready when it answers PING. By default it keeps nothing on disk (a restart
// starts empty); persistence "aof" writes and fsyncs every command, so data
// survives kill() + restart() as it would on a server configured for it.
import { tmpdir } from "node:os";
import { redisCommand } from "./redis-resp.ts";
import { ServerProcess, exitedEarly, makeTempDir, onFreePorts, removeTempDir, waitUntil } from "./server-process.ts";

export interface RedisOptions {
  persistence?: "none" | "aof";
  readyTimeoutMs?: number;
  /** More redis-server arguments, appended last. */
  extraArgs?: string[];
}

export class RedisServer implements AsyncDisposable {
  readonly endpoint: string;
  readonly url: string;
  readonly dir: string;
  private server: ServerProcess | undefined;
  private stopped = false;

  constructor(readonly port: number, private readonly options: Required<RedisOptions>) {
    this.endpoint = `127.0.0.1:${port}`;
    this.url = `redis://${this.endpoint}`;
    this.dir = makeTempDir(tmpdir(), "waitlock-redis-");
  }

  get pid(): number {
    if (!this.server) throw new Error("redis-server was never started");
    return this.server.pid;
  }

  get running(): boolean {
    return this.server?.running ?? false;
  }

  log(): string {
    return this.server?.log() ?? "";
  }

  launch(): void {
    if (this.stopped) throw new Error("this redis-server was stopped; start a new one");
    if (this.running) throw new Error(`redis-server is already running (pid ${this.pid})`);
    const persistence = this.options.persistence === "aof" ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
    this.server = new ServerProcess("redis-server", [
      "--port", String(this.port),
      "--bind", "127.0.0.1",
      "--dir", this.dir,
      "--save", "", // no RDB snapshots: the only persistence is the one asked for
      ...persistence,
      "--daemonize", "no",
      "--logfile", "", // stdout, into the log tail
      "--loglevel", "warning",
      ...this.options.extraArgs,
    ]);
  }

  async waitReady(timeoutMs = this.options.readyTimeoutMs): Promise<void> {
    const server = this.server!;
    await waitUntil(
      async () => {
        if (!server.running) throw await exitedEarly(server, "redis-server");
        return (await redisCommand(this.port, ["PING"], { timeoutMs: 1_000 }).catch(() => undefined)) === "PONG";
      },
      `redis-server on ${this.endpoint} to answer PING`,
      { timeoutMs, detail: () => server.log() },
    );
  }

  /** pause SIGSTOPs the server: connections stay open but nothing answers. */
  pause(): void {
    this.server?.signal("SIGSTOP");
  }

  resume(): void {
    this.server?.signal("SIGCONT");
  }

  /** kill SIGKILLs the server and waits until it has exited; its dir stays for restart(). */
  async kill(): Promise<void> {
    await this.server?.kill();
  }

  /** restart starts the server again on the same port and dir (killing it first if it runs). */
  async restart(): Promise<void> {
    await this.kill();
    this.launch();
    await this.waitReady();
  }

  /** stop kills the server and removes its dir. */
  async stop(): Promise<void> {
    await this.kill();
    this.stopped = true;
    removeTempDir(this.dir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** startRedis starts redis-server and resolves once it answers PING. */
export function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const full: Required<RedisOptions> = { persistence: "none", readyTimeoutMs: 15_000, extraArgs: [], ...options };
  return onFreePorts(1, async ([port]) => {
    const redis = new RedisServer(port, full);
    try {
      redis.launch();
      await redis.waitReady();
      return redis;
    } catch (err) {
      await redis.stop();
      throw err;
    }
  });
}
