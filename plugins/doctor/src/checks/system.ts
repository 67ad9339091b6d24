// The operating system, C library and architecture, against what waitlock
// supports and what its test suite runs on (README "Platforms").
import { unsupportedOs } from "../../../../adapters/supported-os.ts";
import { fail, ok, warn, type Finding } from "../finding.ts";

const CHECK = "system";

export interface SystemFacts {
  /** process.platform */
  os: string;
  /** process.arch */
  arch: string;
  /** glibc's version, undefined on another C library (musl). */
  glibc: string | undefined;
}

/** thisSystem reads the facts of the running process. */
export function thisSystem(): SystemFacts {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return { os: process.platform, arch: process.arch, glibc: header?.glibcVersionRuntime };
}

export function system(f: SystemFacts): Finding {
  const reason = unsupportedOs(f.os);
  if (reason) return fail(CHECK, reason, "run waitlock on Linux; a lock server (--backend etcd://… or redis://…) shared with Linux hosts does not change this: each host still runs waitlock itself");
  const what = `Linux ${f.arch}, ${f.glibc ? `glibc ${f.glibc}` : "not glibc (musl?)"}`;
  if (!f.glibc) return warn(CHECK, `${what}: supported, but untested; the kernel lock addon's prebuild and Deno's FFI expect glibc`, "if locks fail, waitlock doctor's kernel locks check says how");
  if (f.arch !== "x64") return warn(CHECK, `${what}: supported, tested only on x64 (this architecture's lock addon is prebuilt, its tests are not run)`);
  return ok(CHECK, `${what}: supported and tested`);
}
