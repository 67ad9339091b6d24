// The hash of the sources dist/ is built from. The build writes it to
// dist/sources.sha256; tests/helpers.ts compares it with the sources as they
// are, because the tests import the sources while the CLI, the holders and
// the fixtures they start run dist/: a stale dist/ would have one test check
// two versions of the code at once.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

/** The directories whose code ends up in dist/ (or in the plugins' dist/). */
export const SOURCE_DIRS = ["assembly", "adapters", "cli", "plugins/doctor/src", "plugins/exporter/src"];

/** sourceHash hashes every code file under SOURCE_DIRS of root (a path ending in "/"), names and contents. */
export function sourceHash(root) {
  const h = createHash("sha256");
  for (const dir of SOURCE_DIRS) {
    const files = readdirSync(`${root}${dir}`, { recursive: true }).map(String).filter((f) => /\.(ts|mts|mjs|cjs|js)$/.test(f)).sort();
    for (const f of files) {
      h.update(`${dir}/${f}\0`);
      h.update(readFileSync(`${root}${dir}/${f}`));
    }
  }
  return h.digest("hex");
}
