// Records the IDs of every command the installed CLI has (its own and its
// plugins'), so bin/waitlock can tell `waitlock doctor` from `waitlock backup`
// without loading oclif. usage: node scripts/command-ids.mjs DIST_DIR
import { writeFileSync } from "node:fs";
import { Config } from "@oclif/core";

const root = new URL("..", import.meta.url).pathname;
const dist = process.argv[2] ?? "dist";
const config = await Config.load({ root, pjson: undefined });
const ids = [...new Set(config.commands.flatMap((c) => [c.id, ...(c.aliases ?? [])]))].filter((id) => !id.includes(":main"));
writeFileSync(`${root}${dist}/cli/command-ids.json`, JSON.stringify(ids.sort()) + "\n");
