// Whether Deno is available, for the Deno adapter (information only: the CLI
// and the Node library never need it).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ok, type Finding } from "../finding.ts";

function version(file: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, ["--version"], { timeout: 10_000, encoding: "utf8" }, (err, stdout) => {
      resolve(err ? undefined : stdout.split("\n")[0].trim() || undefined);
    });
  });
}

/** deno reports root/node_modules/.bin/deno (the deno npm package), else a deno on PATH. */
export async function deno(root: string): Promise<Finding> {
  const local = join(root, "node_modules/.bin/deno");
  if (existsSync(local)) {
    const v = await version(local);
    if (v) return ok("Deno", `${v} (${local}); the Deno adapter is described in docs/DENO.md`);
  }
  const onPath = await version("deno");
  if (onPath) return ok("Deno", `${onPath} (on PATH)`);
  return ok("Deno", "not found (only the Deno adapter needs it: npm ci installs it as a dev dependency)");
}
