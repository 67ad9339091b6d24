// Lock events to syslog. UDP and TCP targets go through syslog-client. The
// machine's own syslog listens on a unix datagram socket (/dev/log), which
// neither Node nor syslog-client can write to, so local delivery (and any
// unix:// target) goes through logger(1) from util-linux, present wherever
// there is a /dev/log. A syslog that cannot be reached never fails a lock
// operation: waitlock warns once (unless -q) and carries on.
import { spawn } from "node:child_process";
import { hostname } from "node:os";
import { createRequire } from "node:module";
import { describeTarget, type SyslogTarget } from "./syslog-target.ts";

export const FACILITY_CODES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};
const SEVERITY = { err: 3, warning: 4, info: 6 } as const;
export type Severity = keyof typeof SEVERITY;

/** How long waitlock waits, at exit, for log lines still in flight. */
const FLUSH_MS = 2000;

interface SyslogClient {
  log(message: string, options: { facility: number; severity: number; syslogHostname?: string }, cb: (err?: Error) => void): void;
  close(): void;
  on(event: "error", cb: (err: Error) => void): void;
}

export interface EventLogOptions {
  facility: string;
  target: SyslogTarget;
  /** Print the one warning about an unreachable syslog? */
  quiet: boolean;
  /** The PID to name in each line (the process the event is about). */
  pid?: number;
}

/** EventLog sends one line per lock event; send() never throws or rejects. */
export class EventLog {
  readonly #o: EventLogOptions;
  readonly #pending = new Set<Promise<void>>();
  #client?: SyslogClient;
  #warned = false;

  constructor(options: EventLogOptions) {
    this.#o = options;
  }

  info(text: string): void {
    this.#track(this.#send("info", text));
  }

  warning(text: string): void {
    this.#track(this.#send("warning", text));
  }

  error(text: string): void {
    this.#track(this.#send("err", text));
  }

  /** flush waits (at most a couple of seconds) for lines in flight, then closes the connection. */
  async flush(): Promise<void> {
    const timeout = new Promise<void>((r) => setTimeout(r, FLUSH_MS).unref());
    await Promise.race([Promise.all(this.#pending), timeout]);
    this.#client?.close();
  }

  #track(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #unreachable(why: string): void {
    if (this.#warned || this.#o.quiet) return;
    this.#warned = true;
    process.stderr.write(`waitlock: syslog ${describeTarget(this.#o.target)} unreachable (${why}); continuing without it\n`);
  }

  async #send(severity: Severity, text: string): Promise<void> {
    const pid = this.#o.pid ?? process.pid;
    try {
      if (this.#o.target.kind === "unix") await this.#viaLogger(severity, text, pid, this.#o.target.path);
      else await this.#viaClient(severity, `waitlock[${pid}]: ${text}`);
    } catch (err) {
      this.#unreachable((err as Error).message);
    }
  }

  #viaLogger(severity: Severity, text: string, pid: number, socket: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn("logger", ["--socket-errors=on", "-u", socket, "-p", `${this.#o.facility}.${severity}`, "-t", "waitlock", `--id=${pid}`, "--", text], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      child.stderr!.on("data", (d) => (err += d));
      child.once("error", (e) => reject(new Error(`logger: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(err.trim().split("\n")[0] || `logger exited ${code}`))));
    });
  }

  #viaClient(severity: Severity, message: string): Promise<void> {
    const t = this.#o.target as Extract<SyslogTarget, { kind: "udp" | "tcp" }>;
    if (!this.#client) {
      const syslog = createRequire(import.meta.url)("syslog-client") as {
        createClient(host: string, o: object): SyslogClient;
        Transport: { Udp: number; Tcp: number };
      };
      this.#client = syslog.createClient(t.host, {
        port: t.port, transport: t.kind === "tcp" ? syslog.Transport.Tcp : syslog.Transport.Udp,
        syslogHostname: hostname(), tcpTimeout: 1000, rfc3164: true,
      });
      this.#client.on("error", () => undefined); // reported per message below
    }
    const client = this.#client;
    return new Promise((resolve, reject) =>
      client.log(message, { facility: FACILITY_CODES[this.#o.facility], severity: SEVERITY[severity] }, (err) => (err ? reject(err) : resolve())),
    );
  }
}
