// The main command's options, exit codes, environment and files, declared
// once: oclif parses the options, --help shows them, and scripts/manpage.mjs
// renders waitlock.1 (OPTIONS, EXIT STATUS, ENVIRONMENT, FILES) from the same tables.
// Each flag carries its value's kind and range and its relations to the other
// flags (exclusive, dependsOn): oclif's parser enforces them, and
// cli/flag-errors.ts words a broken one as waitlock's other usage errors are.
import type { Interfaces } from "@oclif/core";
import * as Flags from "@oclif/core/flags";
import { MAX_HOLDERS } from "../adapters/api.ts";
import { EXIT_CODES } from "../adapters/errors.ts";
import { FlagValueError, wholeNumber } from "./flag-kinds.ts";

export const FORMATS = ["human", "csv", "null", "json", "prometheus", "openmetrics"] as const;
export const FACILITIES = [
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
  "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
] as const;

/**
 * The flags that each choose a mode; with none of them waitlock acquires the
 * lock in the foreground. They exclude each other, and other flags' relations
 * to them say which modes those flags apply to.
 */
export const MODE_FLAGS = ["exec", "check", "done", "list"] as const;
export type ModeFlag = (typeof MODE_FLAGS)[number];

/** modesOtherThan lists the mode flags but the ones given, for an exclusive: relation. */
function modesOtherThan(...kept: ModeFlag[]): ModeFlag[] {
  return MODE_FLAGS.filter((m) => !kept.includes(m));
}

/** A syslog facility, in any letter case (syslog's names are case-insensitive), as its lower-case name. */
const facility = Flags.custom<(typeof FACILITIES)[number]>({
  async parse(input) {
    const name = FACILITIES.find((f) => f === input.toLowerCase());
    if (name === undefined) throw new FlagValueError(`unknown syslog facility ${JSON.stringify(input)}; use daemon, user, local0..local7 or another standard name`);
    return name;
  },
});

/**
 * alsoKebab gives a flag named as the original tool names it (--allowMultiple)
 * its kebab-case spelling too (--allow-multiple), as the other flags are spelt;
 * help and the man page name both.
 */
function alsoKebab<F extends { description?: string; aliases?: string[] }>(flag: F, kebab: string): F {
  return { ...flag, aliases: [kebab], description: `${flag.description} (also --${kebab})` };
}

export const mainFlags = {
  allowMultiple: alsoKebab(wholeNumber({ char: "m", helpValue: "N", min: 1, max: MAX_HOLDERS, exclusive: ["onePerCPU"], description: "a semaphore: allow N holders at once (slots 0..N-1)" }), "allow-multiple"),
  onePerCPU: alsoKebab(Flags.boolean({ char: "c", description: "allow one holder per CPU available to this process (affinity and cgroup quota)" }), "one-per-cpu"),
  excludeCPUs: alsoKebab(wholeNumber({ char: "x", helpValue: "N", min: 0, max: MAX_HOLDERS, dependsOn: ["onePerCPU"], description: "with --onePerCPU: leave N CPUs out (at least 1 holder remains)" }), "exclude-cpus"),
  timeout: Flags.string({ char: "t", helpValue: "SECS", description: "wait up to SECS seconds (fractions allowed; inf waits forever; default: fail at once; env WAITLOCK_TIMEOUT)" }),
  check: Flags.boolean({ exclusive: modesOtherThan("check"), description: "exit 0 if DESCRIPTOR could be acquired now, 1 if it is busy, else the exit code acquiring would fail with; takes nothing" }),
  done: Flags.boolean({ exclusive: modesOtherThan("done"), description: "send SIGTERM to every holder of DESCRIPTOR (verified through /proc); a foreground lock's owner gets --lost-signal, unless it is the caller: a script's own lock is let go quietly" }),
  exec: Flags.boolean({ char: "e", exclusive: modesOtherThan("exec"), description: "run the command that follows while holding the lock (everything after --exec is the command)" }),
  list: Flags.boolean({ char: "l", exclusive: modesOtherThan("list"), description: "list held locks" }),
  all: Flags.boolean({ char: "a", dependsOn: ["list"], exclusive: ["stale-only"], description: "with --list: include stale and corrupt lock files" }),
  "stale-only": Flags.boolean({ dependsOn: ["list"], description: "with --list: only stale and corrupt lock files" }),
  watch: Flags.boolean({ char: "w", dependsOn: ["list"], description: "with --list: keep listing as locks come and go (redrawn on a terminal; into a pipe, each change once; Ctrl-C ends)" }),
  format: Flags.option({ char: "f", helpValue: "FMT", options: FORMATS, dependsOn: ["list"], description: `with --list: ${FORMATS.join(", ")} (default human); prometheus and openmetrics print lock metrics (docs/METRICS.md) for node_exporter's textfile collector; with --watch into a pipe, json is NDJSON: one {"time", "locks"} object per line per change` })(),
  "lock-dir": Flags.string({ char: "d", helpValue: "DIR", description: "lock directory (env WAITLOCK_DIR; default /var/lock/waitlock, /tmp/waitlock, ~/.waitlock)" }),
  backend: Flags.string({ helpValue: "URL", exclusive: ["lock-dir"], description: "where locks live: file:///DIR, etcd://HOST:PORT[,HOST:PORT…][/PREFIX], etcds://…, redis://[USER:PASS@]HOST:PORT[/DB][?prefix=P] or rediss://… (env WAITLOCK_BACKEND; default the lock directory)" }),
  lease: wholeNumber({ helpValue: "SECS", min: 1, max: 86400, description: "on a server: seconds a lock survives without renewal when its holder is cut off (default 10)" }),
  "lost-signal": Flags.string({ helpValue: "SIG", exclusive: [...MODE_FLAGS], description: "foreground mode: signal sent to the owner if its lock is taken from it (--done or a kill from elsewhere; a server's lease lost) (default TERM; none: only log it)" }),
  shared: Flags.boolean({ description: "a shared (read) lock: many shared holders, or one exclusive holder" }),
  owner: wholeNumber({ helpValue: "PID", min: 1, max: 0xffffffff, exclusive: [...MODE_FLAGS], description: "foreground mode: hold the lock until PID exits (default: the calling process, past wrappers such as timeout, sudo and npx)" }),
  "print-slot": Flags.boolean({ char: "p", exclusive: modesOtherThan("exec"), description: "print the slot acquired on stdout (for slot=$(waitlock -p -m 4 pool))" }),
  quiet: Flags.boolean({ char: "q", description: "print nothing on failure, and no status line while waiting" }),
  verbose: Flags.boolean({ char: "v", description: "explain each step on stderr (env WAITLOCK_DEBUG=1)" }),
  syslog: Flags.boolean({ description: "log acquired/released/timeout/conflict to syslog" }),
  "syslog-target": Flags.string({ helpValue: "URL", description: "where --syslog sends: udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH (env WAITLOCK_SYSLOG; default the local syslog, /dev/log)" }),
  "syslog-facility": facility({ helpValue: "FAC", description: "syslog facility (default daemon; user, local0..local7, …)" }),
  version: Flags.boolean({ char: "V", description: "print the version" }),
  help: Flags.boolean({ char: "h", description: "show this help" }),
};

/** The main command's flags as oclif's parser returns them, typed from the table. */
export type MainFlags = Omit<Interfaces.InferredFlags<typeof mainFlags>, "json">;

/** What each exit status means (README's table; adapters/errors.ts maps errors to them). */
export const EXIT_STATUS: readonly (readonly [number | string, string])[] = [
  [0, "ok"],
  [EXIT_CODES.EBUSY, "busy (no --timeout: fails at once; another instance is already running)"],
  [EXIT_CODES.ETIMEDOUT, "timed out"],
  [EXIT_CODES.EUSAGE, "usage: a bad descriptor, flag, number, format or facility (nothing is created)"],
  [EXIT_CODES.ESYSTEM, "system error; also the caller exiting while waitlock took the lock for it, and a bug in waitlock (which says so)"],
  [EXIT_CODES.EPERM, "permission denied"],
  [EXIT_CODES.ENODIR, "lock directory unusable (missing, not a directory, a planted symlink or hard link)"],
  [EXIT_CODES.ELOST, "lock lost (a server's lease ran out while held): the command was stopped first"],
  [EXIT_CODES.EAGAIN, "temporary failure (disk full, server unreachable): try again"],
  [126, "with --exec: the command is not executable"],
  [127, "with --exec: the command is not found"],
  ["128+N", "interrupted by signal N while waiting (130: SIGINT); with --exec: the command was killed by signal N (otherwise the command's own exit status)"],
];

/** The environment waitlock reads, and what it sets for the command of --exec. */
export const ENVIRONMENT: readonly (readonly [string, string])[] = [
  ["WAITLOCK_DIR", "the lock directory when --lock-dir is not given"],
  ["WAITLOCK_BACKEND", "where locks live when --backend is not given (a URL, as --backend)"],
  ["WAITLOCK_BACKEND_PASSWORD", "the password for the backend URL's user (never printed)"],
  ["WAITLOCK_TLS_CA, WAITLOCK_TLS_CERT, WAITLOCK_TLS_KEY", "TLS files for etcds:// when the URL names none"],
  ["WAITLOCK_TIMEOUT", "the default --timeout, in seconds"],
  ["WAITLOCK_SLOT", "the slot to try first; --exec sets it for the command to the slot held"],
  ["WAITLOCK_DESCRIPTOR", "set for the command of --exec: the descriptor held"],
  ["WAITLOCK_FENCE", "set for the command of --exec on a server: the lock's fencing token"],
  ["WAITLOCK_SYSLOG", "where --syslog sends when --syslog-target is not given"],
  ["WAITLOCK_DEBUG", "1, true or yes: as --verbose"],
  ["WAITLOCK_EVENTS", "off (or 0, no, false): record no lock events for metrics; an absolute directory: record every backend's events there (servers' too); unset: a lock directory's events go into it (docs/METRICS.md)"],
  ["XDG_DATA_HOME, XDG_CACHE_HOME", "where the plugins a user installs and the shell completion cache are kept (see FILES)"],
];

/** The files waitlock uses. */
export const FILES: readonly (readonly [string, string])[] = [
  ["/var/lock/waitlock, /tmp/waitlock, ~/.waitlock", "the default lock directory: the first usable of these (the shared ones are created 1777)"],
  ["DIR/DESCRIPTOR.slotN.lock", "slot N of DESCRIPTOR, held while a kernel lock is held on it; its content is the holder's record"],
  ["DIR/DESCRIPTOR.slot0.readerPID-N.lock", "the record of one --shared holder"],
  ["DIR/.waitlock-events, DIR/.waitlock-events.1", "lock events (acquired, released, conflict, timeout, lost, stale), one line each, for waitlock exporter and --format prometheus; rotated at 4 MiB"],
  ["$XDG_DATA_HOME/waitlock (~/.local/share/waitlock)", "the plugins a user installed or linked (waitlock plugins)"],
  ["$XDG_CACHE_HOME/waitlock/autocomplete (~/.cache/waitlock/autocomplete)", "shell completion functions (waitlock autocomplete)"],
  ["/dev/log", "the local syslog socket --syslog writes to by default"],
];

/** exitStatusText: the exit codes in one paragraph, for --help. */
export function exitStatusText(): string {
  return `Exit codes: ${EXIT_STATUS.filter(([code]) => typeof code === "number" && code < 126).map(([code, meaning]) => `${code} ${meaning.split(" (")[0].split(":")[0]}`).join(", ")}; with --exec the command's status (128+N if killed by signal N, 126 not executable, 127 not found).`;
}
