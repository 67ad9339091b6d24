// Reads the chain of processes above this one from /proc, for the owner walk
// (chooseOwner in adapters/proc.ts decides; this only reads), and the owner's
// command line for listings.
import { readFileSync } from "node:fs";
import { parentPidFrom, type ProcessView } from "../proc.ts";

// Deep enough for any chain of wrappers; a bound keeps a PID cycle (a process
// exiting and its PID reused mid-walk) from looping.
const MAX_DEPTH = 32;

function view(pid: number | "self"): ProcessView | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (argv.at(-1) === "") argv.pop();
    return { pid: pid === "self" ? process.pid : pid, stat, argv };
  } catch {
    return undefined; // exited meanwhile, hidden (hidepid), or no /proc
  }
}

/** readAncestry returns this process and its ancestors from parent upwards, as far as they can be read. */
export function readAncestry(parent: number): { self: ProcessView; ancestors: ProcessView[] } | undefined {
  const self = view("self");
  if (!self) return undefined;
  const ancestors: ProcessView[] = [];
  let pid: number | undefined = parent;
  while (pid !== undefined && pid > 0 && ancestors.length < MAX_DEPTH) {
    const p = view(pid);
    if (!p) break;
    ancestors.push(p);
    pid = parentPidFrom(p.stat);
  }
  return { self, ancestors };
}

/** commandLineOf is a process's command line from /proc, or undefined if it cannot be read. */
export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ") || undefined;
  } catch {
    return undefined;
  }
}
