// Foreground mode: hand the held lock to a small detached holder process bound
// to the owner, so `waitlock NAME || exit 1` returns and the script keeps the lock.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Lock } from "../adapters/api.ts";
import { WaitlockError } from "../adapters/errors.ts";
import type { SyslogTarget } from "./syslog-target.ts";

const HOLDER = fileURLToPath(new URL("./holder.cjs", import.meta.url));
// The holder only waits: a small heap and no JIT keep its memory low.
const HOLDER_NODE_FLAGS = ["--max-old-space-size=16", "--max-semi-space-size=1", "--jitless"];

export interface Owner {
  pid: number;
  start: number;
}

/** What the holder logs to syslog when it lets go (see cli/syslog-event.ts). */
export interface ReleaseEvent {
  facility: string;
  target: SyslogTarget;
  /** "DESCRIPTOR slot N" */
  what: string;
  acquiredAt: number;
}

/** handOver starts the holder and returns its PID once it holds the lock. */
export async function handOver(lock: Lock, owner: Owner, releaseEvent?: ReleaseEvent): Promise<number> {
  const fds = lock.fds;
  const args = [...HOLDER_NODE_FLAGS, HOLDER, String(owner.pid), String(owner.start), lock.recordPath!, String(fds.length)];
  if (releaseEvent) args.push(JSON.stringify(releaseEvent));
  const child = spawn(process.execPath, args, {
    detached: true, // its own session: a terminal's Ctrl-C to the script's group does not reach it
    stdio: ["ignore", "ignore", "ignore", "pipe", ...fds],
  });
  const answer = await new Promise<string>((resolve) => {
    let text = "";
    const pipe = child.stdio[3]!;
    pipe.on("data", (d) => (text += d));
    pipe.on("end", () => resolve(text));
    pipe.on("error", () => resolve(""));
    child.once("error", () => resolve(""));
  });
  if (answer.startsWith("owner-gone")) {
    await lock.release(); // (the holder has let go already)
    throw new WaitlockError("EUSAGE", `owner PID ${owner.pid} exited before waitlock could hand ${lock.descriptor} over to it; released`);
  }
  const ready = answer.startsWith("ready");
  if (!ready || child.pid === undefined) {
    child.kill("SIGKILL");
    throw new WaitlockError("ESYSTEM", "the foreground holder process did not start; try --exec instead");
  }
  await lock.updateRecord({ holderPid: child.pid, ownerPid: owner.pid, ownerStart: owner.start });
  child.unref();
  return child.pid;
}
