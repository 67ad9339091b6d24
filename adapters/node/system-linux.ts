// Linux for the Node platform: OFD locks (F_OFD_SETLK) through
// fs-native-extensions, and /proc for processes.
//
// The package's front door resolves its prebuilt addon through require-addon
// and which-runtime, a large part of a CLI start (docs/STARTUP.md has the
// numbers); the prebuild for this architecture is loaded directly instead.
// The front door remains the fallback (an architecture without a prebuild,
// another layout).
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import { readCgroupQuota, startTimeFrom } from "../proc.ts";
import type { ProcReader } from "../proc-locks.ts";
import type { NodeSystem } from "./system.ts";

interface KernelLocks {
  tryLock(fd: number, offset: number, length: number, shared: boolean): boolean;
  unlock(fd: number, offset: number, length: number): void;
}

interface RawBinding {
  tryLock(fd: number, offset: number, length: number, exclusive: boolean): void;
  unlock(fd: number, offset: number, length: number): void;
}

const require = createRequire(import.meta.url);

function fromPrebuild(): KernelLocks | undefined {
  let binding: RawBinding;
  try {
    binding = require(`fs-native-extensions/prebuilds/linux-${process.arch}/fs-native-extensions.node`);
  } catch {
    return undefined;
  }
  if (typeof binding?.tryLock !== "function" || typeof binding.unlock !== "function") return undefined;
  return {
    tryLock(fd, offset, length, shared) {
      try {
        binding.tryLock(fd, offset, length, !shared);
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === "EAGAIN") return false;
        throw err;
      }
    },
    unlock: (fd, offset, length) => binding.unlock(fd, offset, length),
  };
}

function fromPackage(): KernelLocks {
  const fsx = require("fs-native-extensions") as {
    tryLock(fd: number, offset: number, length: number, opts: { shared: boolean }): boolean;
    unlock(fd: number, offset: number, length: number): void;
  };
  return {
    tryLock: (fd, offset, length, shared) => fsx.tryLock(fd, offset, length, { shared }),
    unlock: (fd, offset, length) => fsx.unlock(fd, offset, length),
  };
}

/** readText reads a small text file (/proc, /sys); throws if missing. */
function readText(path: string): string {
  return fs.readFileSync(path, "latin1");
}

const proc: ProcReader = {
  listDir: (path) => fs.readdirSync(path),
  statFollow(path) {
    const st = fs.statSync(path, { bigint: true, throwIfNoEntry: false });
    return st && { dev: st.dev, ino: st.ino };
  },
  readText,
};

let locks: KernelLocks | undefined;

export function linuxSystem(): NodeSystem {
  locks ??= fromPrebuild() ?? fromPackage();
  const { tryLock, unlock } = locks;
  return {
    unsupported: undefined,
    tryLock,
    unlock,
    proc,
    processStartTime(pid) {
      try {
        return startTimeFrom(readText(`/proc/${pid}/stat`));
      } catch {
        return undefined; // no such process
      }
    },
    cpuLimits: () => ({ affinity: os.availableParallelism(), ...readCgroupQuota(readText) }),
  };
}
