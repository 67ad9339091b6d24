// Linux /proc and /sys parsing shared by the Node and Deno platforms. Each
// runtime reads the files its own way and passes the text (or a reader) in.

/** statField returns field n (1-based, as in proc(5)) of a /proc/<pid>/stat line, as a number. */
function statField(text: string, n: number): number | undefined {
  // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const value = Number(fields[n - 3]); // fields[0] is field 3
  return Number.isFinite(value) ? value : undefined;
}

/** parentPidFrom returns field 4 of a /proc/<pid>/stat line (the parent's PID). */
export function parentPidFrom(text: string): number | undefined {
  return statField(text, 4);
}

/**
 * startTimeFrom returns field 22 of a /proc/<pid>/stat line (start time in clock
 * ticks since boot), or undefined for a process that has exited: a zombie (state
 * Z, or X while it is being reaped) keeps its /proc entry until its parent
 * reaps it, which a parent may put off for as long as it likes, and a lock
 * bound to an owner must not outlive the owner that long.
 */
export function startTimeFrom(text: string): number | undefined {
  const state = text[text.lastIndexOf(")") + 2]; // field 3, after "(comm) "
  if (state === "Z" || state === "X") return undefined;
  return statField(text, 22);
}

/**
 * wasAdopted tells, from our own and our parent's /proc/<pid>/stat lines, whether
 * the parent is not the process that started us but one that adopted us after our
 * caller exited (init, or a subreaper in another session). Linux keeps no record of
 * the original parent, so this reads what a fork leaves behind:
 * - a child starts in its parent's session, unless it called setsid itself
 *   (`setsid waitlock ...`: then it leads its own session and its parent is real);
 * - init leads no session its callers run in, except as a container's entry point
 *   (then it leads ours). An init that does not (session 0, as under process
 *   supervisors and in PID namespaces) adopted us.
 * A subreaper inside our own session is the one adopter this cannot tell apart.
 */
export function wasAdopted(self: { pid: number; stat: string }, parent: { pid: number; stat: string }): boolean {
  const mySession = statField(self.stat, 6);
  const theirSession = statField(parent.stat, 6);
  if (mySession === undefined || theirSession === undefined || mySession === self.pid) return false;
  if (mySession !== theirSession) return true;
  return parent.pid === 1 && mySession !== 1;
}

/** What the owner walk knows of one process: its /proc/<pid>/stat line and its argv (/proc/<pid>/cmdline). */
export interface ProcessView {
  pid: number;
  stat: string;
  argv: string[];
}

/**
 * The process a foreground lock is bound to, and the wrappers walked past to
 * find it; or why there is none to bind to ("adopted": the caller exited before
 * waitlock started; "wrapper": a wrapper that exits with waitlock, whose own
 * caller cannot be found).
 */
export type OwnerChoice =
  | { pid: number; walkedPast: ProcessView[] }
  | { refused: "adopted" | "wrapper"; pid: number; name: string };

/**
 * Wrappers that start a command, wait for it and exit with it (timeout, sudo,
 * time, flock, setsid -w...): binding a lock to one would release it the moment
 * waitlock returns. env, nice, nohup, stdbuf, ionice, taskset and chrt normally
 * exec the command and so never show up as its parent; they are listed so that
 * an implementation that forks instead is walked past too.
 */
const WRAPPERS = new Set([
  "timeout", "sudo", "doas", "setsid", "time", "flock",
  "env", "nice", "nohup", "stdbuf", "ionice", "taskset", "chrt",
]);
const SHELLS = new Set(["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"]);

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** commFrom returns field 2 of a /proc/<pid>/stat line (the kernel's 15-byte name). */
function commFrom(stat: string): string {
  return stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
}

/**
 * isNpmExec tells whether a process is `npm exec`/`npx`, which runs the package's
 * bin through a shell and exits with it. npm renames itself ("npm exec NAME ARGS"
 * in one string, its process title); before it does, it is `node .../npm-cli.js exec`.
 */
function isNpmExec(p: ProcessView): boolean {
  const words = p.argv.join(" ").trim().split(/\s+/);
  const at = words.findIndex((w, i) => i <= 1 && /^(npm|npx)(-cli\.js)?$/.test(baseName(w)));
  if (at < 0) return false;
  if (baseName(words[at]).startsWith("npx")) return true;
  const command = words.slice(at + 1).find((w) => !w.startsWith("-"));
  return command === "exec" || command === "x";
}

/**
 * wrapperName returns what to call p in messages if it is a wrapper that exits
 * when waitlock does, else undefined. parent is p's own parent, if known: the
 * shell npm exec runs the bin through (`sh -c 'waitlock' x`) is part of npm's
 * wrapping, unless its -c text is a script of its own (`npx -c 'waitlock x; work'`).
 */
function wrapperName(p: ProcessView, parent: ProcessView | undefined): string | undefined {
  const name = p.argv.length > 0 ? baseName(p.argv[0]) : commFrom(p.stat);
  if (WRAPPERS.has(name) || WRAPPERS.has(commFrom(p.stat))) return name;
  if (isNpmExec(p)) return "npm exec";
  if (parent && isNpmExec(parent) && SHELLS.has(name) && p.argv[1] === "-c" && !/[;&|\n]/.test(p.argv[2] ?? "")) {
    return "npm exec's shell";
  }
  return undefined;
}

/**
 * chooseOwner decides which process a foreground lock is bound to: the first
 * ancestor that is not a wrapper exiting with waitlock, so that
 * `timeout 60 waitlock x`, `sudo waitlock x` and `npx waitlock x` hold the lock for
 * the script that ran them. `ancestors` runs from our parent upwards, as far as
 * /proc could be read. It refuses when the caller exited before waitlock started
 * (wasAdopted), or when a wrapper's caller cannot be found (unreadable, or it
 * exited and an adopter took the wrapper): binding to the wrapper would hold
 * nothing, binding to an adopter would hold the lock until reboot. Undefined
 * when not even the parent could be read (no /proc): there is nothing to tell by.
 */
export function chooseOwner(self: ProcessView, ancestors: ProcessView[]): OwnerChoice | undefined {
  const parent = ancestors[0];
  if (!parent) return undefined;
  if (wasAdopted(self, parent)) return { refused: "adopted", pid: parent.pid, name: commFrom(parent.stat) };
  const walkedPast: ProcessView[] = [];
  for (let i = 0; i < ancestors.length; i++) {
    const p = ancestors[i];
    const name = wrapperName(p, ancestors[i + 1]);
    if (name === undefined) return { pid: p.pid, walkedPast };
    const next = ancestors[i + 1];
    if (!next || next.pid === 0 || wasAdopted(p, next)) return { refused: "wrapper", pid: p.pid, name };
    walkedPast.push(p);
  }
  return undefined; // not reached: the loop ends at the first non-wrapper or at the last ancestor
}

/** readCgroupQuota finds the tightest cgroup v2 cpu.max up to the root, else cgroup v1's quota. */
export function readCgroupQuota(readText: (path: string) => string): { quotaUs: number; periodUs: number } {
  let best = { quotaUs: 0, periodUs: 0 };
  try {
    const line = readText("/proc/self/cgroup").split("\n").find((l) => l.startsWith("0::"));
    let dir = line ? line.slice(3).trim() : "/";
    for (;;) {
      try {
        const [quota, period] = readText(`/sys/fs/cgroup${dir === "/" ? "" : dir}/cpu.max`).trim().split(/\s+/);
        const q = Number(quota);
        const per = Number(period);
        if (quota !== "max" && q > 0 && per > 0 && (best.quotaUs === 0 || q / per < best.quotaUs / best.periodUs)) {
          best = { quotaUs: q, periodUs: per };
        }
      } catch {
        // no cpu controller at this level
      }
      if (dir === "/" || dir === "") break;
      dir = dir.slice(0, dir.lastIndexOf("/")) || "/";
    }
  } catch {
    // no cgroup v2
  }
  if (best.quotaUs === 0) {
    try {
      const q = Number(readText("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"));
      const per = Number(readText("/sys/fs/cgroup/cpu/cpu.cfs_period_us"));
      if (q > 0 && per > 0) best = { quotaUs: q, periodUs: per };
    } catch {
      // none
    }
  }
  return best;
}
