// `waitlock exporter`: serves lock metrics on /metrics for Prometheus.
// run() parses the flags and delegates to serve(), loaded only when run.
import { Command, Flags, Help } from "@oclif/core";
import { parseBackendUrl } from "../../../../adapters/backend-url.ts";

/** The port when --listen gives none (not one of Prometheus's registered defaults). */
export const DEFAULT_PORT = 9787;
export const DEFAULT_HOST = "127.0.0.1";

/** parseListen reads HOST:PORT, [V6]:PORT, HOST or :PORT; a usage error otherwise. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*))(?::([0-9]{1,5}))?$/.exec(v);
  if (!m) throw new Error(`--listen ${JSON.stringify(v)} is not HOST:PORT`);
  const host = m[1] ?? (m[2] || DEFAULT_HOST);
  const port = m[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (port > 65535) throw new Error(`--listen port ${port} is out of range (0 to 65535)`);
  return { host, port };
}

export default class Exporter extends Command {
  static override summary = "Serve lock metrics to Prometheus on /metrics.";
  static override description = `Serves /metrics in the Prometheus text format (OpenMetrics when the scraper asks for it): slots held and free, waiters, the oldest holder's age, stale and corrupt files, and counters and histograms of wait and hold times from the events waitlock processes record (docs/METRICS.md). Runs until SIGTERM or SIGINT; a lock directory or server that cannot be read makes waitlock_backend_up 0, never ends it.

Exit status: 0 when stopped by a signal, 3 on a usage error, 4 when it cannot listen.`;
  static override examples = [
    "<%= config.bin %> exporter",
    "<%= config.bin %> exporter --listen 0.0.0.0:9787 --lock-dir /srv/locks",
    "<%= config.bin %> exporter --backend redis://10.0.0.7:6379",
  ];
  static override strict = false;
  static override flags = {
    listen: Flags.string({ char: "l", helpValue: "HOST:PORT", description: `where to serve /metrics (default ${DEFAULT_HOST}:${DEFAULT_PORT}; port 0 picks a free one)` }),
    "lock-dir": Flags.string({ char: "d", helpValue: "DIR", description: "the lock directory (default: as waitlock picks it: WAITLOCK_DIR, else automatic)" }),
    backend: Flags.string({ helpValue: "URL", description: "a server's locks instead (env WAITLOCK_BACKEND): etcd://… or redis://…; events are read only with --events-dir" }),
    "events-dir": Flags.string({ helpValue: "DIR", description: "read events from DIR (default: WAITLOCK_EVENTS if it names a directory, else the lock directory; none for a server)" }),
    help: Flags.boolean({ char: "h", description: "show this help" }),
  };

  async run(): Promise<void> {
    if (this.argv.includes("-h") || this.argv.includes("--help")) {
      const self = this.config.findCommand(this.id ?? "exporter");
      if (self) await new Help(this.config, { stripAnsi: true }).showCommandHelp(self);
      return;
    }
    let flags;
    let listen;
    try {
      let extra: unknown[];
      ({ flags, argv: extra } = await this.parse(Exporter));
      if (extra.length > 0) throw new Error(`unexpected argument ${JSON.stringify(extra[0])}`);
      listen = parseListen(flags.listen ?? `${DEFAULT_HOST}:${DEFAULT_PORT}`);
      if (flags["lock-dir"] === "") throw new Error("--lock-dir needs a directory");
      if (flags["events-dir"] !== undefined && !flags["events-dir"].startsWith("/")) throw new Error("--events-dir needs an absolute directory");
      if (flags["lock-dir"] !== undefined && flags.backend !== undefined) throw new Error("--backend and --lock-dir cannot be combined");
      if (flags.backend !== undefined) parseBackendUrl(flags.backend); // a bad URL is a usage error, with the password hidden
    } catch (err) {
      const message = String((err as Error)?.message ?? err).split("\n")[0];
      process.stderr.write(`waitlock: ${message} (see waitlock exporter --help)\n`);
      process.exitCode = 3;
      return;
    }
    const { serve } = await import("../serve.ts");
    const backend = flags.backend ?? (flags["lock-dir"] === undefined ? process.env.WAITLOCK_BACKEND || undefined : undefined);
    process.exitCode = await serve({ root: this.config.root, listen, lockDir: flags["lock-dir"], backend, eventsDir: flags["events-dir"] });
  }
}
