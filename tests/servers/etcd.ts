// Real etcd servers for tests: one node (startEtcd) or a static cluster
// (startEtcdCluster), on random loopback ports with temp data dirs, ready when
// they answer /health. Raft timings are shortened so start-up and fail-over
// take about a second, but not so short that a loaded 2-core machine sees
// spurious elections.
import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import { etcdHealthy, etcdStatus } from "./etcd-http.ts";
import { ServerProcess, exitedEarly, makeTempDir, onFreePorts, removeTempDir, waitUntil } from "./server-process.ts";

export interface EtcdOptions {
  /** Raft heartbeat (ms); elections start after electionMs without one. */
  heartbeatMs?: number;
  electionMs?: number;
  /** How long start() and restart() wait for /health. */
  readyTimeoutMs?: number;
  logLevel?: "debug" | "info" | "warn" | "error";
  /** More etcd flags, appended last. */
  extraArgs?: string[];
  /** Serve clients over TLS with these PEM files (the CA is what clients should trust). */
  tls?: { cert: string; key: string; ca: string };
}

const DEFAULTS = { heartbeatMs: 50, electionMs: 500, readyTimeoutMs: 20_000, logLevel: "error", extraArgs: [] as string[], tls: undefined };

// tmpfs where there is one: etcd fsyncs every write, which costs tens of ms on
// a busy disk and would make every test slow for nothing.
const DATA_PARENT = (() => {
  try {
    return statSync("/dev/shm").isDirectory() ? "/dev/shm" : tmpdir();
  } catch {
    return tmpdir();
  }
})();

interface MemberConfig {
  name: string;
  clientPort: number;
  peerPort: number;
  /** name=peerURL,… of every member, the static bootstrap configuration. */
  initialCluster: string;
  clusterToken: string;
  options: Required<EtcdOptions>;
}

export class EtcdMember implements AsyncDisposable {
  readonly name: string;
  readonly endpoint: string;
  readonly url: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  private server: ServerProcess | undefined;
  private stopped = false;
  private paused = false;

  constructor(private readonly config: MemberConfig) {
    this.name = config.name;
    this.endpoint = `127.0.0.1:${config.clientPort}`;
    this.url = `${config.options.tls ? "https" : "http"}://${this.endpoint}`;
    this.peerUrl = `http://127.0.0.1:${config.peerPort}`;
    this.dataDir = makeTempDir(DATA_PARENT, "waitlock-etcd-");
  }

  /** pid of the running etcd (the last one after a restart). */
  get pid(): number {
    if (!this.server) throw new Error(`etcd ${this.name} was never started`);
    return this.server.pid;
  }

  /** running: started, not killed, not exited (a paused member is running). */
  get running(): boolean {
    return this.server?.running ?? false;
  }

  /** serving: running and not paused. */
  get serving(): boolean {
    return this.running && !this.paused;
  }

  log(): string {
    return this.server?.log() ?? "";
  }

  /** launch starts etcd on this member's ports and data dir, without waiting for it. */
  launch(): void {
    if (this.stopped) throw new Error(`etcd ${this.name} was stopped; start a new one`);
    if (this.running) throw new Error(`etcd ${this.name} is already running (pid ${this.pid})`);
    const { options } = this.config;
    this.paused = false;
    this.server = new ServerProcess("etcd", [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.url}`,
      `--advertise-client-urls=${this.url}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${this.config.initialCluster}`,
      `--initial-cluster-token=${this.config.clusterToken}`,
      "--initial-cluster-state=new", // ignored once the data dir holds a member: restarts rejoin
      `--heartbeat-interval=${options.heartbeatMs}`,
      `--election-timeout=${options.electionMs}`,
      "--logger=zap",
      `--log-level=${options.logLevel}`,
      ...(options.tls ? [`--cert-file=${options.tls.cert}`, `--key-file=${options.tls.key}`] : []),
      ...options.extraArgs,
    ]);
  }

  /** waitHealthy waits until /health answers true; fails early if etcd exits (PortTaken if a port was in use). */
  async waitHealthy(timeoutMs = this.config.options.readyTimeoutMs): Promise<void> {
    const server = this.server!;
    await waitUntil(
      async () => {
        if (!server.running) throw await exitedEarly(server, `etcd ${this.name}`);
        return etcdHealthy(this.url, { timeoutMs: 1_000, ca: this.config.options.tls?.ca });
      },
      `etcd ${this.name} at ${this.url} to be healthy`,
      { timeoutMs, everyMs: 50, detail: () => server.log() },
    );
  }

  /** pause SIGSTOPs etcd: its sockets stay open but nothing answers. */
  pause(): void {
    this.server?.signal("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    this.server?.signal("SIGCONT");
    this.paused = false;
  }

  /** kill SIGKILLs etcd and waits until it has exited; the data dir stays for restart(). */
  async kill(): Promise<void> {
    await this.server?.kill();
    this.paused = false;
  }

  /**
   * restart starts etcd again on the same ports and data dir (killing it first
   * if it runs) and, unless told not to, waits until it is healthy: a cluster
   * member is healthy only once it has a leader, so with quorum lost pass
   * { waitHealthy: false }.
   */
  async restart({ waitHealthy = true } = {}): Promise<void> {
    await this.kill();
    this.launch();
    if (waitHealthy) await this.waitHealthy();
  }

  /** stop kills etcd and removes its data dir; the member cannot be restarted. */
  async stop(): Promise<void> {
    await this.kill();
    this.stopped = true;
    removeTempDir(this.dataDir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export type Etcd = EtcdMember;

let clusters = 0;

function configure(size: number, ports: number[], options: EtcdOptions = {}): MemberConfig[] {
  const full = { ...DEFAULTS, ...options } as Required<EtcdOptions>;
  const names = ports.slice(0, size).map((_, i) => `etcd${i}-${ports[2 * i]}`);
  const initialCluster = names.map((name, i) => `${name}=http://127.0.0.1:${ports[2 * i + 1]}`).join(",");
  const clusterToken = `waitlock-test-${process.pid}-${++clusters}`;
  return names.map((name, i) => ({ name, clientPort: ports[2 * i], peerPort: ports[2 * i + 1], initialCluster, clusterToken, options: full }));
}

/**
 * startMembers starts `size` members that form one cluster and waits until all
 * are healthy, picking new ports (and data dirs) when one was taken meanwhile.
 */
function startMembers(size: number, options: EtcdOptions = {}): Promise<EtcdMember[]> {
  return onFreePorts(2 * size, async (ports) => {
    const members = configure(size, ports, options).map((config) => new EtcdMember(config));
    try {
      for (const member of members) member.launch();
      await Promise.all(members.map((member) => member.waitHealthy()));
      return members;
    } catch (err) {
      await Promise.all(members.map((member) => member.stop()));
      throw err;
    }
  });
}

/** startEtcd starts a single-node etcd and resolves once it is healthy. */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdMember> {
  return (await startMembers(1, options))[0];
}

export interface EtcdCluster extends AsyncDisposable {
  members: EtcdMember[];
  /** host:port of every member, in member order. */
  endpoints: string[];
  /**
   * leader waits until a serving member says it leads and a majority of the
   * cluster's members agree, and returns it.
   */
  leader(options?: { timeoutMs?: number }): Promise<EtcdMember>;
  stop(): Promise<void>;
}

/** startEtcdCluster starts `size` members bootstrapped as one cluster and resolves once all are healthy. */
export async function startEtcdCluster(size = 3, options: EtcdOptions = {}): Promise<EtcdCluster> {
  const members = await startMembers(size, options);
  const majority = Math.floor(size / 2) + 1;
  const stop = async () => {
    await Promise.all(members.map((member) => member.stop()));
  };
  return {
    members,
    endpoints: members.map((member) => member.endpoint),
    leader: ({ timeoutMs = 15_000 } = {}) =>
      waitUntil(
        async () => {
          const serving = members.filter((member) => member.serving);
          const statuses = await Promise.all(serving.map((member) => etcdStatus(member.url, { timeoutMs: 1_000 }).catch(() => undefined)));
          const self = statuses.findIndex((s) => s !== undefined && s.leader === s.memberId);
          if (self < 0) return undefined;
          const agree = statuses.filter((s) => s?.leader === statuses[self]!.memberId).length;
          return agree >= majority ? serving[self] : undefined;
        },
        "a leader that a majority of the etcd cluster agrees on",
        { timeoutMs, everyMs: 50, detail: () => members.map((m) => `[${m.name}]\n${m.log().slice(-1000)}`).join("\n") },
      ),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
