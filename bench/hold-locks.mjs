// Takes N locks and keeps them until killed: to leave N stale lock files
// behind (SIGKILL it), to keep N held for a listing, or to measure the memory
// of a process holding N. Prints "ready N" once it holds them all.
// usage: hold-locks.mjs waitlock|proper-lockfile|lockfile|none DIR PREFIX N
import { closeSync, openSync } from "node:fs";
import { createRequire } from "node:module";

const [impl, dir, prefix, n] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const held = [];
const BATCH = 50; // a few in flight at once: faster than one by one, gentle on the thread pool

async function take(i) {
  if (impl === "waitlock") {
    const { acquire } = await import("../dist/node/index.js");
    held.push(await acquire(`${prefix}-${i}`, { lockDir: dir, timeout: 0 }));
  } else if (impl === "proper-lockfile") {
    const file = `${dir}/${prefix}-${i}`;
    closeSync(openSync(file, "w"));
    held.push(await require("proper-lockfile").lock(file, { realpath: false }));
  } else if (impl === "lockfile") {
    const file = `${dir}/${prefix}-${i}.lock`;
    await new Promise((resolve, reject) => require("lockfile").lock(file, (e) => (e ? reject(e) : resolve())));
    held.push(file);
  }
}

if (impl === "waitlock") await import("../dist/node/index.js");
if (impl === "proper-lockfile" || impl === "lockfile") require(impl);
for (let i = 0; i < Number(n); i += BATCH) {
  await Promise.all(Array.from({ length: Math.min(BATCH, Number(n) - i) }, (_, j) => take(i + j)));
}
process.stdout.write(`ready ${held.length}\n`);
setInterval(() => undefined, 1 << 30); // hold until killed
