// Turns parsed flags, arguments and environment into one validated Invocation.
// Every mistake is a usage error (exit 3) raised before anything is created.
import { WaitlockError } from "../adapters/errors.ts";
import { DEFAULT_LEASE_SECONDS, MAX_HOLDERS, type LockDirOption, type Waitlock } from "../adapters/api.ts";
import { parseBackendUrl } from "../adapters/backend-url.ts";
import { FACILITIES, FORMATS } from "./options.ts";
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

export interface RawFlags {
  allowMultiple?: string;
  onePerCPU?: boolean;
  excludeCPUs?: string;
  timeout?: string;
  check?: boolean;
  done?: boolean;
  list?: boolean;
  all?: boolean;
  "stale-only"?: boolean;
  watch?: boolean;
  format?: string;
  "lock-dir"?: string;
  backend?: string;
  lease?: string;
  "lost-signal"?: string;
  shared?: boolean;
  owner?: string;
  "print-slot"?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  syslog?: boolean;
  "syslog-facility"?: string;
  "syslog-target"?: string;
}

const usage = (message: string) => new WaitlockError("EUSAGE", message);

function wholeNumber(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw usage(`${what} must be a whole number, not ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw usage(`${what} must be from ${min} to ${max}, not ${n}`);
  return n;
}

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
  wl: Waitlock, flags: RawFlags, descriptor: string | undefined, command: string[] | undefined,
): Invocation {
  const env = (n: string) => wl.platform.env(n);
  const modes = (["check", "done", "list"] as const).filter((m) => flags[m]);
  if (command) modes.unshift("exec" as never);
  if (modes.length > 1) throw usage(`${modes.map((m) => `--${m}`).join(" and ")} cannot be combined`);
  const mode: Mode = (modes[0] as Mode | undefined) ?? "acquire";

  const format = (flags.format ?? "human") as Format;
  if (!FORMATS.includes(format)) throw usage(`unknown format ${JSON.stringify(flags.format)}; use one of ${FORMATS.join(", ")}`);
  const facility = (flags["syslog-facility"] ?? "daemon").toLowerCase();
  if (!(FACILITIES as readonly string[]).includes(facility)) {
    throw usage(`unknown syslog facility ${JSON.stringify(flags["syslog-facility"])}; use daemon, user, local0..local7 or another standard name`);
  }
  let syslogTarget = DEFAULT_TARGET;
  if (flags["syslog-target"] !== undefined) syslogTarget = parseSyslogTarget(flags["syslog-target"]);
  else if (flags.syslog && env("WAITLOCK_SYSLOG")) syslogTarget = parseSyslogTarget(env("WAITLOCK_SYSLOG")!);

  if (mode !== "list") {
    for (const f of ["all", "stale-only", "format", "watch"] as const) if (flags[f] !== undefined && flags[f] !== false) throw usage(`--${f} only applies to --list`);
  }
  if (flags.all && flags["stale-only"]) throw usage("--all and --stale-only cannot be combined");
  if ((format === "prometheus" || format === "openmetrics") && (flags.watch || flags.all || flags["stale-only"])) {
    throw usage(`--format ${format} counts every entry once: it takes no --watch, --all or --stale-only`);
  }
  if (flags.allowMultiple !== undefined && flags.onePerCPU) throw usage("--allowMultiple and --onePerCPU cannot be combined");
  if (flags.excludeCPUs !== undefined && !flags.onePerCPU) throw usage("--excludeCPUs needs --onePerCPU");

  let maxHolders = 1;
  if (flags.allowMultiple !== undefined) maxHolders = wholeNumber(flags.allowMultiple, "--allowMultiple", 1, MAX_HOLDERS);
  if (flags.onePerCPU) {
    const exclude = flags.excludeCPUs === undefined ? 0 : wholeNumber(flags.excludeCPUs, "--excludeCPUs", 0, MAX_HOLDERS);
    const { affinity, quotaUs, periodUs } = wl.platform.cpuLimits();
    maxHolders = wl.core.holdersForCpus(wl.core.effectiveCpus(affinity, quotaUs, periodUs), exclude);
  }
  if (flags.shared && maxHolders > 1) throw usage("--shared cannot be combined with a semaphore (-m/-c)");

  let timeoutMs = 0;
  if (flags.timeout !== undefined) timeoutMs = parseTimeout(flags.timeout, "--timeout");
  else if (env("WAITLOCK_TIMEOUT")) timeoutMs = parseTimeout(env("WAITLOCK_TIMEOUT")!, "WAITLOCK_TIMEOUT");

  let owner: number | undefined;
  if (flags.owner !== undefined) {
    if (mode !== "acquire") throw usage("--owner only applies to foreground mode (no --exec, --check, --done or --list)");
    owner = wholeNumber(flags.owner, "--owner", 1, 0xffffffff);
  }
  if (flags["print-slot"] && mode !== "acquire" && mode !== "exec") throw usage("--print-slot only applies when acquiring");

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
  if (mode === "exec" && command!.length === 0) throw usage("--exec needs a command to run");

  // --backend > WAITLOCK_BACKEND > the lock directory (--lock-dir, WAITLOCK_DIR, the default).
  if (flags.backend !== undefined && flags["lock-dir"] !== undefined) throw usage("--backend and --lock-dir cannot be combined (file:///DIR is a lock directory)");
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
    if (mode !== "acquire") throw usage("--lost-signal only applies to foreground mode (no --exec, --check, --done or --list)");
    const name = flags["lost-signal"].trim().toUpperCase().replace(/^SIG/, "");
    if (name === "NONE") lostSignal = "none";
    else if (SIGNAL_NAMES.has(name)) lostSignal = `SIG${name}`;
    else throw usage(`--lost-signal must be a signal name (TERM, INT, HUP, KILL, USR1, …) or none, not ${JSON.stringify(flags["lost-signal"])}`);
  }
  let leaseSeconds = DEFAULT_LEASE_SECONDS;
  if (flags.lease !== undefined) leaseSeconds = wholeNumber(flags.lease, "--lease", 1, 86400);

  return {
    mode, descriptor: descriptor ?? "", maxHolders, timeoutMs, preferredSlot,
    where, network, leaseSeconds, lostSignal, shared: !!flags.shared, owner, printSlot: !!flags["print-slot"],
    quiet: !!flags.quiet, verbose: !!flags.verbose || isDebugEnv(env), syslog: !!flags.syslog, facility, syslogTarget,
    format, all: !!flags.all, staleOnly: !!flags["stale-only"], watch: !!flags.watch, command: command ?? [],
  };
}
