// Kernel byte-range locks from fs-native-extensions: OFD locks on Linux
// (F_OFD_SETLK), flock on macOS. The package's front door resolves its
// prebuilt addon through require-addon and which-runtime, which costs ~20 ms
// of every CLI start; loading the prebuild for this platform directly costs
// ~2 ms. The front door remains the fallback (other platforms, other layouts).
import { createRequire } from "node:module";

export interface KernelLocks {
  /** Non-blocking lock of [offset, offset+length); false when another open file description conflicts. */
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
    binding = require(`fs-native-extensions/prebuilds/${process.platform}-${process.arch}/fs-native-extensions.node`);
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

export const kernelLocks: KernelLocks = fromPrebuild() ?? fromPackage();
