// Runs every check in order and returns the findings. Loaded on demand by the
// doctor command, so `waitlock doctor --help` and the CLI's start-up never pay
// for it.
import { createWaitlock } from "../../../adapters/api.ts";
import { parseBackendUrl } from "../../../adapters/backend-url.ts";
import type { Platform } from "../../../adapters/platform.ts";
import { cpus } from "./checks/cpus.ts";
import { deno } from "./checks/deno.ts";
import { filesystem } from "./checks/filesystem.ts";
import { kernelLocks } from "./checks/kernel-locks.ts";
import { leftovers } from "./checks/leftovers.ts";
import { lockDirectory } from "./checks/lock-dir.ts";
import { syslog } from "./checks/syslog.ts";
import { system, thisSystem } from "./checks/system.ts";
import { wasmCore } from "./checks/core.ts";
import { errorText, fail, type Finding } from "./finding.ts";

export interface DiagnoseOptions {
  /** The CLI's package root: build/waitlock.wasm and node_modules/.bin/deno live under it. */
  root: string;
  /** --lock-dir, if given. */
  lockDir?: string;
  /** --backend (or WAITLOCK_BACKEND), if given: a server is checked instead of a lock directory. */
  backend?: string;
  env?: (name: string) => string | undefined;
  /** The local syslog socket (a parameter for tests). */
  devLog?: string;
}

/**
 * loadPlatform loads the Node platform. Its native lock addon
 * (fs-native-extensions) loads with it: if that fails, doctor says so instead
 * of crashing.
 */
async function loadPlatform(): Promise<Platform | Finding> {
  try {
    const { NodePlatform } = await import("../../../adapters/node/platform.ts");
    return new NodePlatform();
  } catch (err) {
    return fail("kernel locks", `the Node platform does not load (fs-native-extensions, the native lock addon): ${errorText(err)}`,
      "reinstall the package; fs-native-extensions ships prebuilt binaries for Linux on x64 and arm64");
  }
}

export async function diagnose(o: DiagnoseOptions): Promise<Finding[]> {
  if (o.backend !== undefined) {
    const target = parseBackendUrl(o.backend, o.env ?? ((n) => process.env[n]));
    if (target.kind === "file") return diagnose({ ...o, backend: undefined, lockDir: target.dir });
    const findings = target.kind === "redis"
      ? await (await import("./checks/redis.ts")).redis(target)
      : await (await import("./checks/etcd.ts")).etcd(target);
    findings.unshift(system(thisSystem()));
    findings.push(wasmCore(o.root).finding);
    findings.push(await syslog(o.env ?? ((n) => process.env[n]), o.devLog));
    return findings;
  }
  const findings: Finding[] = [system(thisSystem())];
  const loaded = await loadPlatform();
  const platform = "check" in loaded ? undefined : loaded;
  if (!platform) findings.push(loaded as Finding);

  let dir: string | undefined;
  if (platform?.unsupported) {
    // Nothing below can work here; the system check above said why.
  } else if (platform) {
    const r = lockDirectory(platform, o.lockDir);
    findings.push(...r.findings);
    dir = r.dir?.path;
    if (dir) {
      findings.push(filesystem(dir));
      findings.push(kernelLocks(platform, dir));
    }
  }

  const { finding, core } = wasmCore(o.root);
  findings.push(finding);
  if (platform && core && dir) findings.push(...(await leftovers(createWaitlock(platform, core), dir)));
  if (platform) findings.push(cpus(platform, core));
  findings.push(await syslog(o.env ?? ((n) => process.env[n]), o.devLog));
  findings.push(await deno(o.root));
  return findings;
}
