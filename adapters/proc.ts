// Linux /proc and /sys parsing shared by the Node and Deno platforms. Each
// runtime reads the files its own way and passes the text (or a reader) in.

/** statField returns field n (1-based, as in proc(5)) of a /proc/<pid>/stat line, as a number. */
function statField(text: string, n: number): number | undefined {
  // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const value = Number(fields[n - 3]); // fields[0] is field 3
  return Number.isFinite(value) ? value : undefined;
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
