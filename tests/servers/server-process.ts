// A server process started by a test (etcd, redis-server): always our own
// child, so its exit is seen and it is reaped (PID 1 on these machines does not
// reap orphans), ended by its PID when the test process ends however it ends,
// and with the tail of its log kept for error messages.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { notInstalled, onPath } from "./installed.ts";

const LOG_TAIL_CHARS = 8192;

// The kernel SIGKILLs the server when the process that started it dies, even by
// SIGKILL (a test runner's timeout), where no exit handler of ours runs: a
// leftover server would keep its ports and data dir. setpriv execs the server,
// so the PID we hold is the server's own.
const PARENT_DEATH = onPath("setpriv") ? ["setpriv", "--pdeathsig", "KILL", "--"] : [];

const running = new Set<ServerProcess>();
const dirs = new Set<string>();

function killAll(): void {
  for (const server of running) server.signal("SIGKILL");
  for (const dir of dirs) removeTempDir(dir);
}

/** makeTempDir makes a server's data dir, removed by removeTempDir or, at the latest, when this process exits. */
export function makeTempDir(parent: string, prefix: string): string {
  const dir = mkdtempSync(join(parent, prefix));
  dirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

process.once("exit", killAll);
for (const [name, number] of [["SIGINT", 2], ["SIGTERM", 15], ["SIGHUP", 1]] as const) {
  process.once(name, () => {
    killAll();
    // A listener of ours replaces Node's default (exit); if nobody else handles
    // the signal, exit as the default would have.
    if (process.listenerCount(name) === 0) process.exit(128 + number);
  });
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export class ServerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  private tail = "";

  constructor(readonly binary: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    if (!onPath(binary)) throw notInstalled(binary);
    const [cmd, ...rest] = [...PARENT_DEATH, binary, ...args];
    this.child = spawn(cmd, rest, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    running.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      });
      this.child.once("error", (err) => {
        running.delete(this);
        this.append(`spawn failed: ${err.message}\n`);
        resolve({ code: null, signal: null });
      });
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) stream.setEncoding("utf8").on("data", (d: string) => this.append(d));
  }

  private append(text: string): void {
    this.tail = (this.tail + text).slice(-LOG_TAIL_CHARS);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** running tells whether the process has not exited (a stopped process is running). */
  get running(): boolean {
    return running.has(this);
  }

  /** log returns the last few KiB the server wrote on stdout and stderr. */
  log(): string {
    return this.tail;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // it exited in between; its 'exit' event is on its way
    }
  }

  /** kill SIGKILLs the process (stopped or not) and waits until it has exited and been reaped. */
  async kill(): Promise<Exit> {
    this.signal("SIGKILL");
    return this.exited;
  }
}

/** freePorts returns n distinct loopback ports that were free a moment ago (bound to port 0, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
      ports.push((server.address() as { port: number }).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** PortTaken: another process bound a port between freePorts() and the server binding it. */
export class PortTaken extends Error {}

const PORT_ATTEMPTS = 5;

/**
 * onFreePorts calls start with `count` free ports, and again with new ones
 * (up to 5 times) when it fails with PortTaken: start must clean up after
 * itself when it fails.
 */
export async function onFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePorts(count));
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === PORT_ATTEMPTS) throw err;
    }
  }
}

/** exitedEarly is the error for a server that exited before it was ready: PortTaken when its log says a port was in use. */
export async function exitedEarly(server: ServerProcess, what: string): Promise<Error> {
  const exit = await server.exited;
  const log = server.log().trim();
  if (/address already in use/i.test(log)) return new PortTaken(`${what}: a port was taken meanwhile: ${log.slice(-300)}`);
  return new Error(`${what} exited (${exit.code ?? exit.signal}) before it was ready:\n${log}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * waitUntil polls check every `everyMs` until it returns something other than
 * undefined or false, and fails after timeoutMs with `what` and detail() (a log
 * tail, say). check may throw to give up early (the server exited).
 */
export async function waitUntil<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  { timeoutMs = 15_000, everyMs = 25, detail }: { timeoutMs?: number; everyMs?: number; detail?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const more = detail?.().trim();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${more ? `\n--- log tail ---\n${more}` : ""}`);
    }
    await sleep(everyMs);
  }
}
