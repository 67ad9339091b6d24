// Whether Deno is available, for the Deno adapter (information only: the CLI
// and the Node library never need it).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ok, type Finding } from "../finding.ts";

function version(file: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, ["--version"], { timeout: 10_000, encoding: "utf8", env }, (err, stdout) => {
      resolve(err ? undefined : stdout.split("\n")[0].trim() || undefined);
    });
  });
}

/**
 * deno reports root/node_modules/.bin/deno (the deno npm package, in a
 * checkout), else a deno on PATH. Worded for whoever installed waitlock: most
 * never need Deno.
 */
export async function deno(root: string, env: NodeJS.ProcessEnv = process.env): Promise<Finding> {
  const local = join(root, "node_modules/.bin/deno");
  if (existsSync(local)) {
    const v = await version(local, env);
    if (v) return ok("Deno", `${v} (${local}), for waitlock's Deno library`);
  }
  const onPath = await version("deno", env);
  if (onPath) return ok("Deno", `${onPath} (on PATH), for waitlock's Deno library`);
  return ok("Deno", "not installed; only waitlock's Deno library needs it (the CLI and the Node library do not)");
}
