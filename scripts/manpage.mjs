// Writes <dist>/man/waitlock.1 from the same declarations --help shows (the
// main command's flags, usage, description and examples; the exit codes,
// environment and files of cli/options.ts; waitlock's own commands as oclif
// lists them), so the two never drift.
// usage: node scripts/manpage.mjs [DIST_DIR]   (default dist)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Config } from "@oclif/core";

const distName = process.argv[2] ?? "dist";
const root = new URL("..", import.meta.url).pathname;
const dist = new URL(`../${distName}/`, import.meta.url);
const { COMMANDS, EXIT_STATUS, ENVIRONMENT, FILES, MAIN_ID, ownCommands } = await import(new URL("cli/commands.js", dist).href);

const Main = COMMANDS[MAIN_ID];
const pjson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
// The CLI as it will be installed, its commands read from the DIST_DIR being built.
const config = await Config.load({ root, pjson: { ...pjson, oclif: { ...pjson.oclif, commands: { ...pjson.oclif.commands, target: `./${distName}/cli/commands.js` } } } });
const esc = (s) => String(s).replace(/\\/g, "\\e").replace(/^([.'])/gm, "\\&$1").replace(/-/g, "\\-");
const bold = (s) => `\\fB${esc(s)}\\fR`;
const table = (rows) => rows.flatMap(([term, text]) => [".TP", bold(term), esc(text)]);

const lines = [
  `.TH WAITLOCK 1 "" "waitlock ${pjson.version}" "User Commands"`,
  ".SH NAME",
  `waitlock \\- ${esc(Main.summary)}`,
  ".SH SYNOPSIS",
  ...Main.usage.flatMap((u) => [".B waitlock", esc(u), ".br"]),
  ".B waitlock",
  "\\fICOMMAND\\fR [\\fIARGS\\fR...]",
  ".SH DESCRIPTION",
  ...Main.description.split("\n\n").flatMap((p) => [esc(p), ".PP"]),
  ".SH OPTIONS",
];
for (const [name, flag] of Object.entries(Main.flags)) {
  const names = [flag.char ? `\\-${flag.char}` : undefined, ...[name, ...(flag.aliases ?? [])].map((n) => `\\-\\-${esc(n)}`)].filter(Boolean).join(", ");
  const value = flag.type === "option" ? ` \\fI${esc(flag.helpValue ?? "VALUE")}\\fR` : "";
  // The names line shows the aliases: the description's "(also --x)" would say it twice.
  lines.push(".TP", `\\fB${names}\\fR${value}`, esc(flag.description.replace(/ \(also --[\w-]+\)$/, "")));
}
lines.push(
  ".SH COMMANDS",
  ...table(ownCommands(config).map((c) => [
    c.subcommands.length ? `${c.name} [${c.subcommands.join("|")}]` : c.name,
    `${c.summary} (waitlock ${c.name} --help)`,
  ])),
  ".SH EXIT STATUS",
  ...table(EXIT_STATUS.map(([code, meaning]) => [String(code), meaning])),
  ".SH ENVIRONMENT",
  ...table(ENVIRONMENT),
  ".SH FILES",
  ...table(FILES),
  ".SH EXAMPLES",
  ...Main.examples.flatMap((e) => [".PP", ".nf", esc(e), ".fi"]),
  ".SH SEE ALSO",
  "flock(1)",
);
mkdirSync(new URL("man", dist), { recursive: true });
writeFileSync(new URL("man/waitlock.1", dist), lines.join("\n") + "\n");
