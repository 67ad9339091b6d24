// Shell completion for bash, zsh and fish. Each shell's script (completionScript)
// is a thin shim: on TAB it runs `waitlock __complete -- WORDS… CURRENT` and
// offers what that prints, so the three shells complete the same things from one
// table. The first line printed is a directive, the rest are candidates:
//   words  the candidates (the shell filters them by the word being typed)
//   dirs   the shell's own directory completion (-d/--lock-dir)
//   files  the shell's own file completion (the command after --exec)
import type { Config } from "@oclif/core";
import { waitlock as wl } from "../adapters/node/index.ts";
import { FACILITIES, mainFlags } from "./options.ts";
import { isOwnCommand } from "./commands/plugins-run.ts";
import { MAIN_ID } from "./commands/main.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

export type Directive = "words" | "dirs" | "files";
export interface Completion { directive: Directive; words: string[] }

/** Signals --lost-signal takes (by name, as kill -l spells them), and none. */
const SIGNALS = ["TERM", "INT", "HUP", "QUIT", "USR1", "USR2", "KILL", "none"];

interface FlagInfo { names: string[]; takesValue: boolean; values?: readonly string[] | "dirs" }

/**
 * FLAG_VALUES: what a value-taking main flag is completed with, beyond a flag
 * table's options list (flags with neither: nothing to offer).
 */
const FLAG_VALUES: Record<string, readonly string[] | "dirs"> = {
  "syslog-facility": FACILITIES, "lost-signal": SIGNALS, "lock-dir": "dirs",
};

/** mainFlagTable: each of the main command's flags, with every spelling (--name, its aliases, -c). */
function mainFlagTable(): FlagInfo[] {
  return Object.entries(mainFlags).map(([name, f]) => {
    const flag = f as { char?: string; aliases?: string[]; type: string; options?: readonly string[] };
    const names = [`--${name}`, ...(flag.aliases ?? []).map((a) => `--${a}`), ...(flag.char ? [`-${flag.char}`] : [])];
    return { names, takesValue: flag.type === "option", values: flag.options ?? FLAG_VALUES[name] };
  });
}

/**
 * descriptors lists the descriptors that have a lock file in the lock directory, sorted;
 * nothing if it cannot be read, or if locks live on a server: a TAB must not wait
 * on a network.
 */
async function descriptors(lockDir: string | undefined, backend: string | undefined): Promise<string[]> {
  const url = backend ?? process.env.WAITLOCK_BACKEND;
  if (url && !url.startsWith("file:")) return [];
  try {
    const infos = await wl.list({ lockDir, all: true });
    return [...new Set(infos.map((i) => i.descriptor))].sort();
  } catch {
    return [];
  }
}

/** topLevel: waitlock's own commands' first words (doctor, plugins, …), not hidden ones. */
function topLevel(config: Config): string[] {
  const own = config.commands.filter((c) => isOwnCommand(c) && !c.hidden && c.id !== MAIN_ID);
  return [...new Set(own.map((c) => c.id.split(":")[0]))].sort();
}

/**
 * complete tells what may follow `waitlock WORDS…` where current is the word
 * being typed ("" for a new one).
 */
export async function complete(config: Config, words: string[], current: string): Promise<Completion> {
  const dashdash = words.indexOf("--");
  const before = dashdash === -1 ? words : words.slice(0, dashdash);

  // A subcommand: `waitlock doctor …`, `waitlock plugins link …`.
  if (words[0] !== undefined && !words[0].startsWith("-") && topLevel(config).includes(words[0])) {
    return completeCommand(config, words, current);
  }

  const table = mainFlagTable();
  const byName = new Map(table.flatMap((f) => f.names.map((n) => [n, f] as const)));
  let lockDir: string | undefined;
  let backend: string | undefined;
  let positionals = 0;
  let checkOrDone = false;
  for (let i = 0; i < before.length; i++) {
    const w = before[i];
    const eq = w.indexOf("=");
    const flag = byName.get(w.startsWith("--") && eq > 0 ? w.slice(0, eq) : w);
    if (flag?.names.includes("--exec")) return { directive: "files", words: [] }; // the command to run
    if (flag?.names.includes("--check") || flag?.names.includes("--done")) checkOrDone = true;
    if (flag?.takesValue) {
      const value = w.startsWith("--") && eq > 0 ? w.slice(eq + 1) : before[++i];
      if (flag.names.includes("--lock-dir")) lockDir = value;
      if (flag.names.includes("--backend")) backend = value;
      continue;
    }
    if (!flag && !w.startsWith("-")) positionals++;
  }
  if (dashdash !== -1) positionals += words.length - dashdash - 1;

  // The value of the flag just before: `--format <TAB>`.
  const prev = dashdash === -1 ? words[words.length - 1] : undefined;
  const prevFlag = prev !== undefined && !prev.includes("=") ? byName.get(prev) : undefined;
  if (prevFlag?.takesValue) return values(prevFlag);
  // `--format=<TAB>`: the candidates carry the flag, as the word does.
  if (dashdash === -1 && current.startsWith("--") && current.includes("=")) {
    const name = current.slice(0, current.indexOf("="));
    const flag = byName.get(name);
    if (!flag?.takesValue) return { directive: "words", words: [] };
    const v = values(flag);
    return v.directive === "words" ? { directive: "words", words: v.words.map((x) => `${name}=${x}`) } : v;
  }
  if (dashdash === -1 && current.startsWith("-")) {
    return { directive: "words", words: table.flatMap((f) => f.names.filter((n) => n.startsWith("--"))).sort() };
  }
  if (positionals > 0) return { directive: "words", words: [] }; // one DESCRIPTOR only
  const locks = await descriptors(lockDir, backend);
  // Options before the first word go to the main command, so a command name fits only first.
  const commands = words.length === 0 && !checkOrDone ? topLevel(config) : [];
  return { directive: "words", words: [...commands, ...locks] };
}

function values(flag: FlagInfo): Completion {
  if (flag.values === "dirs") return { directive: "dirs", words: [] };
  return { directive: "words", words: [...(flag.values ?? [])] };
}

/** completeCommand: `waitlock doctor --<TAB>`, `waitlock plugins <TAB>`, `waitlock autocomplete <TAB>`. */
function completeCommand(config: Config, words: string[], current: string): Completion {
  // The longest run of leading words that names a command or topic (plugins link).
  let id = words[0];
  let n = 1;
  while (n < words.length && config.commands.some((c) => c.id === `${id}:${words[n]}` || c.id.startsWith(`${id}:${words[n]}:`))) id = `${id}:${words[n++]}`;
  const command = config.findCommand(id);
  if (current.startsWith("-")) {
    const flags = Object.entries(command?.flags ?? {}).flatMap(([name, f]) => (f.hidden ? [] : [`--${name}`, ...(f.aliases ?? []).map((a) => `--${a}`)]));
    return { directive: "words", words: flags.sort() };
  }
  const prev = words[words.length - 1];
  const prevFlag = prev?.startsWith("--") ? command?.flags?.[prev.slice(2)] : undefined;
  if (prevFlag?.type === "option") return { directive: "words", words: [...(prevFlag.options ?? [])] };
  if (n === words.length) {
    // Subcommands of a topic (plugins link, plugins run, …), then the command's first argument's choices.
    const subs = config.commands.filter((c) => isOwnCommand(c) && !c.hidden && c.id.startsWith(`${id}:`)).map((c) => c.id.slice(id.length + 1).split(":")[0]);
    const firstArg = Object.values(command?.args ?? {})[0];
    const choices = n === words.length && firstArg?.options ? firstArg.options : [];
    if (id === "help") return { directive: "words", words: topLevel(config) };
    return { directive: "words", words: [...new Set([...subs, ...choices])].sort() };
  }
  return { directive: "files", words: [] };
}

/** completionScript: what `waitlock autocomplete SHELL` prints, for the shell to source. */
export function completionScript(shell: Shell, bin: string): string {
  const fn = `_${bin.replace(/[^A-Za-z0-9_]/g, "_")}_complete`;
  switch (shell) {
    case "bash":
      return `# ${bin} completion for bash: source <(${bin} autocomplete bash)
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} out directive
  out=$(command ${bin} __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null) || return 0
  directive=\${out%%$'\\n'*}
  case $directive in
    dirs) compopt -o filenames; COMPREPLY=($(compgen -d -- "$cur")) ;;
    files) compopt -o filenames; COMPREPLY=($(compgen -f -- "$cur")) ;;
    *)
      local IFS=$'\\n'
      [[ $out == *$'\\n'* ]] && COMPREPLY=($(compgen -W "\${out#*$'\\n'}" -- "$cur")) || COMPREPLY=()
      ;;
  esac
}
complete -F ${fn} ${bin}
`;
    case "zsh":
      return `#compdef ${bin}
# ${bin} completion for zsh: source <(${bin} autocomplete zsh) after compinit
${fn}() {
  local -a out candidates
  out=("\${(@f)$(command ${bin} __complete -- "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null)}")
  candidates=("\${(@)out[2,-1]}")
  case $out[1] in
    dirs) _files -/ ;;
    files) _files ;;
    *) (( \${#candidates} )) && compadd -- "\${(@)candidates}" ;;
  esac
}
compdef ${fn} ${bin}
`;
    case "fish":
      return `# ${bin} completion for fish: ${bin} autocomplete fish > ~/.config/fish/completions/${bin}.fish
function ${fn}
    set -l words (commandline -opc)
    set -e words[1]
    set -l current (commandline -ct)
    set -l out (command ${bin} __complete -- $words "$current" 2>/dev/null)
    or return
    switch "$out[1]"
        case dirs
            __fish_complete_directories "$current"
        case files
            __fish_complete_path "$current"
        case '*'
            set -e out[1]
            printf '%s\\n' $out
    end
end
complete -c ${bin} -f -a '(${fn})'
`;
  }
}
