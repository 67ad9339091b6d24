// What differs between the operating systems Node runs on, for the Node
// platform: kernel locks, and what the system tells about processes. One file
// per system (system-linux.ts); elsewhere a system that refuses, at the first
// lock operation, with one line saying why (../supported-os.ts).
import * as os from "node:os";
import { WaitlockError } from "../errors.ts";
import type { ProcReader } from "../proc-locks.ts";
import { unsupportedOs } from "../supported-os.ts";
import { linuxSystem } from "./system-linux.ts";

export interface NodeSystem {
  /** Why waitlock cannot run here; undefined where it can. */
  readonly unsupported: string | undefined;
  /** Non-blocking lock of [offset, offset+length) owned by the open file; false when another open file holds a conflicting one. */
  tryLock(fd: number, offset: number, length: number, shared: boolean): boolean;
  unlock(fd: number, offset: number, length: number): void;
  /** How to read the system's per-process files (/proc on Linux). */
  readonly proc: ProcReader;
  /** A token that changes when pid is reused; undefined if there is no such live process. */
  processStartTime(pid: number): number | undefined;
  cpuLimits(): { affinity: number; quotaUs: number; periodUs: number };
}

/** unsupportedSystem refuses every lock operation with the reason; it reports no processes. */
function unsupportedSystem(reason: string): NodeSystem {
  const refuse = (): never => {
    throw new WaitlockError("ESYSTEM", reason);
  };
  return {
    unsupported: reason,
    tryLock: refuse,
    unlock: refuse,
    proc: { listDir: refuse, statFollow: refuse, readText: refuse },
    processStartTime: () => undefined,
    cpuLimits: () => ({ affinity: os.availableParallelism(), quotaUs: 0, periodUs: 0 }),
  };
}

/** nodeSystem is the system for os (default: this one). */
export function nodeSystem(name: string = process.platform): NodeSystem {
  const reason = unsupportedOs(name);
  return reason === undefined ? linuxSystem() : unsupportedSystem(reason);
}
