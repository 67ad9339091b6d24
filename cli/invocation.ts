// Turns parsed flags, arguments and environment into one validated Invocation.
// Every mistake is a usage error (exit 3) raised before anything is created.
// What the flag table declares (values' kinds and ranges, which flags exclude
// or need which) oclif's parser has checked already; the checks here are the
// ones a table cannot declare: they depend on a value (--format's, the holders
// -c computes), the environment (WAITLOCK_*), the descriptor or the command.
import { WaitlockError } from "../adapters/errors.ts";
import { DEFAULT_LEASE_SECONDS, type LockDirOption, type Waitlock } from "../adapters/api.ts";
import { parseBackendUrl } from "../adapters/backend-url.ts";
import { FORMATS, MODE_FLAGS, type MainFlags } from "./options.ts";
import { DEFAULT_TARGET, parseSyslogTarget, type SyslogTarget } from "./syslog-target.ts";

export type Mode = "acquire" | "exec" | "check" | "done" | "list";
export type Format = (typeof FORMATS)[number];

export interface Invocation {
  mode: Mode;
  descriptor: string;
  maxHolders: number;
  /** Milliseconds; 0 = try once, Infinity = forever. */
  timeoutMs: number;
  preferredSlot?: number;
  /** Where locks live, as the library takes it: { lockDir } or { backend: URL }. */
  where: LockDirOption;
  /** A server holds the locks (leases, fences, loss), not the lock directory. */
  network: boolean;
  /** Seconds a lease lasts without renewal (network backends). */
  leaseSeconds: number;
  /** Foreground mode on a server: the signal for the owner when the lock is lost, or "none". */
  lostSignal: string;
  shared: boolean;
  owner?: number;
  printSlot: boolean;
  quiet: boolean;
  verbose: boolean;
  syslog: boolean;
  facility: string;
  syslogTarget: SyslogTarget;
  format: Format;
  all: boolean;
  staleOnly: boolean;
  watch: boolean;
  command: string[];
}

const usage = (message: string) => new WaitlockError("EUSAGE", message);

/** parseTimeout reads seconds ("2.5", "0", "inf") into milliseconds. */
export function parseTimeout(text: string, where: string): number {
  const t = text.trim().toLowerCase();
  if (t === "inf" || t === "infinity") return Infinity;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(t)) throw usage(`${where} must be seconds (e.g. 10, 0.5 or inf), not ${JSON.stringify(text)}`);
  return Number(t) * 1000;
}

const SIGNAL_NAMES = new Set(["TERM", "INT", "HUP", "QUIT", "KILL", "USR1", "USR2", "ALRM", "ABRT"]);

const TRUTHY = new Set(["1", "true", "yes", "on"]);

export function isDebugEnv(env: (name: string) => string | undefined): boolean {
  return TRUTHY.has((env("WAITLOCK_DEBUG") ?? "").trim().toLowerCase());
}

/**
 * buildInvocation validates everything. descriptor is the positional argument
 * (or the first line of stdin, read by the caller); command is what followed --exec.
 */
export function buildInvocation(
  wl: Waitlock, flags: MainFlags, descriptor: string | undefined, command: string[] | undefined,
): Invocation {
  const env = (n: string) => wl.platform.env(n);
  // The table makes the mode flags exclusive: at most one is given.
  const mode: Mode = MODE_FLAGS.find((m) => flags[m]) ?? "acquire";
  const format = (flags.format ?? "human") as Format; // the table's options: FORMATS
  const facility = flags["syslog-facility"] ?? "daemon";
  // The environment's target is read only for --syslog, and parsed as the flag's is.
  let syslogTarget = DEFAULT_TARGET;
  if (flags["syslog-target"] !== undefined) syslogTarget = parseSyslogTarget(flags["syslog-target"]);
  else if (flags.syslog && env("WAITLOCK_SYSLOG")) syslogTarget = parseSyslogTarget(env("WAITLOCK_SYSLOG")!);

  // Only two of --format's values refuse these: a relation of a value, not of a flag.
  if ((format === "prometheus" || format === "openmetrics") && (flags.watch || flags.all || flags["stale-only"])) {
    throw usage(`--format ${format} counts every entry once: it takes no --watch, --all or --stale-only`);
  }

  let maxHolders = flags.allowMultiple ?? 1;
  if (flags.onePerCPU) {
    const { affinity, quotaUs, periodUs } = wl.platform.cpuLimits();
    maxHolders = wl.core.holdersForCpus(wl.core.effectiveCpus(affinity, quotaUs, periodUs), flags.excludeCPUs ?? 0);
  }
  // -c makes a semaphore only on a machine with more than one CPU to give.
  if (flags.shared && maxHolders > 1) throw usage("--shared cannot be combined with a semaphore (-m/-c)");

  let timeoutMs = 0;
  if (flags.timeout !== undefined) timeoutMs = parseTimeout(flags.timeout, "--timeout");
  else if (env("WAITLOCK_TIMEOUT")) timeoutMs = parseTimeout(env("WAITLOCK_TIMEOUT")!, "WAITLOCK_TIMEOUT");

  let preferredSlot: number | undefined;
  const slotEnv = env("WAITLOCK_SLOT");
  if (slotEnv !== undefined && /^\d+$/.test(slotEnv.trim()) && Number(slotEnv) < maxHolders) preferredSlot = Number(slotEnv);

  if (mode === "list") {
    if (descriptor !== undefined) throw usage("--list takes no descriptor");
  } else {
    if (descriptor === undefined) throw usage("missing DESCRIPTOR (an argument, or the first line of stdin)");
    const problem = wl.core.descriptorProblem(descriptor);
    if (problem) throw usage(`invalid descriptor ${JSON.stringify(descriptor.length > 60 ? descriptor.slice(0, 60) + "…" : descriptor)}: ${problem}`);
  }
  // The command is what follows --exec, not a flag's value.
  if (mode === "exec" && (command ?? []).length === 0) throw usage("--exec needs a command to run");

  // --backend > WAITLOCK_BACKEND > the lock directory (--lock-dir, WAITLOCK_DIR, the default).
  const url = flags.backend ?? (flags["lock-dir"] === undefined ? env("WAITLOCK_BACKEND") || undefined : undefined);
  let where: LockDirOption = { lockDir: flags["lock-dir"] };
  let network = false;
  if (url !== undefined) {
    const target = parseBackendUrl(url, env); // a bad URL fails here, before anything is contacted
    network = target.kind !== "file";
    where = network ? { backend: url } : { lockDir: (target as { dir: string }).dir };
  }
  let lostSignal = "SIGTERM";
  if (flags["lost-signal"] !== undefined) {
    const name = flags["lost-signal"].trim().toUpperCase().replace(/^SIG/, "");
    if (name === "NONE") lostSignal = "none";
    else if (SIGNAL_NAMES.has(name)) lostSignal = `SIG${name}`;
    else throw usage(`--lost-signal must be a signal name (TERM, INT, HUP, KILL, USR1, …) or none, not ${JSON.stringify(flags["lost-signal"])}`);
  }
  return {
    mode, descriptor: descriptor ?? "", maxHolders, timeoutMs, preferredSlot,
    where, network, leaseSeconds: flags.lease ?? DEFAULT_LEASE_SECONDS, lostSignal,
    shared: !!flags.shared, owner: flags.owner, printSlot: !!flags["print-slot"],
    quiet: !!flags.quiet, verbose: !!flags.verbose || isDebugEnv(env), syslog: !!flags.syslog, facility, syslogTarget,
    format, all: !!flags.all, staleOnly: !!flags["stale-only"], watch: !!flags.watch, command: command ?? [],
  };
}
