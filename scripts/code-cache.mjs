// Writes <dist>/cli/run.cjs.cache, V8's code cache for the CLI's fast path,
// from one real `waitlock X --exec true` in a scratch directory: the cache then
// holds every function that invocation compiled. bin/waitlock reads it.
// usage: node scripts/code-cache.mjs [DIST_DIR]   (default dist)
import { execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dist = process.argv[2] ?? "dist";
const target = `${root}${dist}/cli/run.cjs.cache`;
const scratch = mkdtempSync(join(tmpdir(), "waitlock-code-cache-"));
try {
  const env = { ...process.env, WAITLOCK_WRITE_CODE_CACHE: `${target}.tmp-${process.pid}` };
  // V8 refuses a cache made under other V8 flags (even --max-old-space-size), so
  // the cache is made as users run waitlock: without NODE_OPTIONS.
  for (const name of ["NODE_OPTIONS", "WAITLOCK_DIR", "WAITLOCK_TIMEOUT", "WAITLOCK_DEBUG", "WAITLOCK_SLOT", "WAITLOCK_SYSLOG"]) delete env[name];
  execFileSync(`${root}bin/waitlock`, ["-d", scratch, "code-cache", "--exec", "true"], { env, stdio: "inherit" });
  renameSync(`${target}.tmp-${process.pid}`, target);
} finally {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(`${target}.tmp-${process.pid}`, { force: true });
}
