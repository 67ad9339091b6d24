// The main command's options, declared once: oclif parses them, --help shows
// them, and scripts/manpage.mjs renders waitlock.1 from the same table.
import * as Flags from "@oclif/core/flags";

export const FORMATS = ["human", "csv", "null", "json"] as const;
export const FACILITIES = [
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
  "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
] as const;

export const mainFlags = {
  allowMultiple: Flags.string({ char: "m", helpValue: "N", description: "a semaphore: allow N holders at once (slots 0..N-1)" }),
  onePerCPU: Flags.boolean({ char: "c", description: "allow one holder per CPU available to this process (affinity and cgroup quota)" }),
  excludeCPUs: Flags.string({ char: "x", helpValue: "N", description: "with --onePerCPU: leave N CPUs out (at least 1 holder remains)" }),
  timeout: Flags.string({ char: "t", helpValue: "SECS", description: "wait up to SECS seconds (fractions allowed; inf waits forever; default: fail at once; env WAITLOCK_TIMEOUT)" }),
  check: Flags.boolean({ description: "exit 0 if DESCRIPTOR could be acquired now, 1 if it is busy, else the exit code acquiring would fail with; takes nothing" }),
  done: Flags.boolean({ description: "send SIGTERM to every holder of DESCRIPTOR (verified through /proc)" }),
  exec: Flags.boolean({ char: "e", description: "run the command that follows while holding the lock (everything after --exec is the command)" }),
  list: Flags.boolean({ char: "l", description: "list held locks" }),
  all: Flags.boolean({ char: "a", description: "with --list: include stale and corrupt lock files" }),
  "stale-only": Flags.boolean({ description: "with --list: only stale and corrupt lock files" }),
  watch: Flags.boolean({ char: "w", description: "with --list: keep listing as locks come and go (redrawn on a terminal; Ctrl-C ends)" }),
  format: Flags.string({ char: "f", helpValue: "FMT", description: `with --list: ${FORMATS.join(", ")} (default human)` }),
  "lock-dir": Flags.string({ char: "d", helpValue: "DIR", description: "lock directory (env WAITLOCK_DIR; default /var/lock/waitlock, /tmp/waitlock, ~/.waitlock)" }),
  backend: Flags.string({ helpValue: "URL", description: "where locks live: file:///DIR, etcd://HOST:PORT[,HOST:PORT…][/PREFIX], etcds://…, redis://[USER:PASS@]HOST:PORT[/DB][?prefix=P] or rediss://… (env WAITLOCK_BACKEND; default the lock directory)" }),
  lease: Flags.string({ helpValue: "SECS", description: "on a server: seconds a lock survives without renewal when its holder is cut off (default 10)" }),
  "lost-signal": Flags.string({ helpValue: "SIG", description: "foreground mode on a server: signal sent to the owner if the lock is lost (default TERM; none: only log it)" }),
  shared: Flags.boolean({ description: "a shared (read) lock: many shared holders, or one exclusive holder" }),
  owner: Flags.string({ helpValue: "PID", description: "foreground mode: hold the lock until PID exits (default: the calling process, past wrappers such as timeout, sudo and npx)" }),
  "print-slot": Flags.boolean({ char: "p", description: "print the slot acquired on stdout (for slot=$(waitlock -p -m 4 pool))" }),
  quiet: Flags.boolean({ char: "q", description: "print nothing on failure, and no status line while waiting" }),
  verbose: Flags.boolean({ char: "v", description: "explain each step on stderr (env WAITLOCK_DEBUG=1)" }),
  syslog: Flags.boolean({ description: "log acquired/released/timeout/conflict to syslog" }),
  "syslog-target": Flags.string({ helpValue: "URL", description: "where --syslog sends: udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH (env WAITLOCK_SYSLOG; default the local syslog, /dev/log)" }),
  "syslog-facility": Flags.string({ helpValue: "FAC", description: "syslog facility (default daemon; user, local0..local7, …)" }),
  version: Flags.boolean({ char: "V", description: "print the version" }),
  help: Flags.boolean({ char: "h", description: "show this help" }),
};
