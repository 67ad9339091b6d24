// Where the Deno executable is, for tests that run Deno beside Node. Its own
// module, free of helpers.ts's check of dist/, for tests of the core alone.
import { existsSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * DENO is the Deno executable of the repository's dev dependency: the platform
 * package's binary for this libc where it is installed, else npm's launcher
 * (node_modules/.bin/deno). The launcher may be a Node script that runs Deno as
 * its child (when the package's install script did not run): it costs a Node
 * start per run, and a signal sent to "the Deno process" would miss Deno.
 */
export const DENO = ((): string => {
  const muslLoader = `/lib/ld-musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`;
  const libc = process.platform !== "linux" ? "" : existsSync(muslLoader) ? "-musl" : "-glibc";
  const candidates = [join(ROOT, `node_modules/@deno/${process.platform}-${process.arch}${libc}/deno`), join(ROOT, "node_modules/deno/deno")];
  return candidates.find((p) => existsSync(p)) ?? join(ROOT, "node_modules/.bin/deno");
})();
