// Writes <dist>/man/waitlock.1 from the same declarations --help shows (the
// main command's flags, usage, description and examples), so the two never drift.
// usage: node scripts/manpage.mjs [DIST_DIR]   (default dist)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const dist = new URL(`../${process.argv[2] ?? "dist"}/`, import.meta.url);
const { COMMANDS } = await import(new URL("cli/commands.js", dist).href);

const Main = Object.values(COMMANDS)[0];
const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const esc = (s) => String(s).replace(/\\/g, "\\e").replace(/^([.'])/gm, "\\&$1").replace(/-/g, "\\-");

const lines = [
  `.TH WAITLOCK 1 "" "waitlock ${version}" "User Commands"`,
  ".SH NAME",
  `waitlock \\- ${esc(Main.summary)}`,
  ".SH SYNOPSIS",
  ...Main.usage.flatMap((u) => [".B waitlock", esc(u), ".br"]),
  ".SH DESCRIPTION",
  ...Main.description.split("\n\n").flatMap((p) => [esc(p), ".PP"]),
  ".SH OPTIONS",
];
for (const [name, flag] of Object.entries(Main.flags)) {
  const names = [flag.char ? `\\-${flag.char}` : undefined, `\\-\\-${esc(name)}`].filter(Boolean).join(", ");
  const value = flag.type === "option" ? ` \\fI${esc(flag.helpValue ?? "VALUE")}\\fR` : "";
  lines.push(".TP", `\\fB${names}\\fR${value}`, esc(flag.description));
}
lines.push(
  ".SH ENVIRONMENT",
  ".TP", "WAITLOCK_DIR", "lock directory when \\-\\-lock\\-dir is not given",
  ".TP", "WAITLOCK_TIMEOUT", "default \\-\\-timeout, in seconds",
  ".TP", "WAITLOCK_SLOT", "the slot to try first; exec mode sets it for the command",
  ".TP", "WAITLOCK_DESCRIPTOR", "set for the command in exec mode",
  ".TP", "WAITLOCK_DEBUG", "1, true or yes: as \\-\\-verbose",
  ".SH EXAMPLES",
  ...Main.examples.flatMap((e) => [".PP", ".nf", esc(e), ".fi"]),
  ".SH SEE ALSO",
  "flock(1)",
);
mkdirSync(new URL("man", dist), { recursive: true });
writeFileSync(new URL("man/waitlock.1", dist), lines.join("\n") + "\n");
