// Records the first words that name waitlock's own commands (its own and those
// of the plugins its package.json lists; not a user's plugins, whose commands
// never take a word from descriptors), so bin/waitlock can tell `waitlock
// doctor` from `waitlock backup` without loading oclif.
// usage: node scripts/command-ids.mjs DIST_DIR
import { writeFileSync } from "node:fs";
import { Config } from "@oclif/core";

const root = new URL("..", import.meta.url).pathname;
const dist = process.argv[2] ?? "dist";
const config = await Config.load({ root, pjson: undefined });
const own = config.commands.filter((c) => c.pluginType === "core" && !c.id.includes(":main"));
const ids = [...new Set(own.flatMap((c) => [c.id, ...(c.aliases ?? [])]).flatMap((id) => [id, id.split(":")[0]]))];
writeFileSync(`${root}${dist}/cli/command-ids.json`, JSON.stringify(ids.sort()) + "\n");
