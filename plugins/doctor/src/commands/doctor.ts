// `waitlock doctor`: checks that waitlock can work here and says what to fix.
// run() parses the flags and delegates to diagnose(), loaded only when run.
import { Command, Flags, Help } from "@oclif/core";
import { parseBackendUrl } from "../../../../adapters/backend-url.ts";
import { failed, humanLine, jsonReport } from "../finding.ts";

export const FORMATS = ["human", "json"] as const;

export default class Doctor extends Command {
  static override summary = "Check that waitlock can work here, and say what to fix.";
  static override description = `One line per check: OK, WARN (works, but may surprise you) or FAIL (waitlock will not work), with the fix to apply. Checks the lock directory (which one and why, owner, mode, free space and inodes) or, with --backend, the server (reachable, version, round trip; etcd's smallest lease; whether Redis keeps locks across a restart, is a replica, or may evict them), its filesystem, that kernel locks work there, the WASM core, stale and corrupt lock files, the CPU count --onePerCPU sees, syslog reachability, and Deno.

Exit status: 0 when nothing FAILs, 1 otherwise, 3 on a usage error.`;
  static override examples = [
    "<%= config.bin %> doctor",
    "<%= config.bin %> doctor --lock-dir /srv/locks",
    "<%= config.bin %> doctor --format json",
    "<%= config.bin %> doctor --backend redis://10.0.0.5:6379",
  ];
  // Extra words are rejected in run() with a usage error; strict parsing would
  // instead let oclif take `doctor extra` for an unknown command `doctor extra`.
  static override strict = false;
  static override flags = {
    "lock-dir": Flags.string({ char: "d", helpValue: "DIR", description: "check this lock directory (default: as waitlock picks it: WAITLOCK_DIR, else automatic)" }),
    backend: Flags.string({ helpValue: "URL", description: "check this backend instead (env WAITLOCK_BACKEND): etcd://… reachability, version, round trip and smallest lease; redis://… reachability, version, round trip, and warnings for no persistence, a replica or an eviction policy that may drop locks" }),
    format: Flags.string({ char: "f", helpValue: "FMT", description: `${FORMATS.join(" or ")} (default human); json prints an array of {check, status, finding, fix}` }),
    help: Flags.boolean({ char: "h", description: "show this help" }),
  };

  async run(): Promise<void> {
    if (this.argv.includes("-h") || this.argv.includes("--help")) {
      const self = this.config.findCommand(this.id ?? "doctor");
      if (self) await new Help(this.config, { stripAnsi: true }).showCommandHelp(self);
      return;
    }
    let flags;
    try {
      let extra: unknown[];
      ({ flags, argv: extra } = await this.parse(Doctor));
      if (extra.length > 0) throw new Error(`unexpected argument ${JSON.stringify(extra[0])}`);
      if (flags.format !== undefined && !(FORMATS as readonly string[]).includes(flags.format)) {
        throw new Error(`unknown format ${JSON.stringify(flags.format)} (use ${FORMATS.join(" or ")})`);
      }
      if (flags["lock-dir"] === "") throw new Error("--lock-dir needs a directory");
      if (flags["lock-dir"] !== undefined && flags.backend !== undefined) throw new Error("--backend and --lock-dir cannot be combined");
      if (flags.backend !== undefined) parseBackendUrl(flags.backend); // a bad URL is a usage error, with the password hidden
    } catch (err) {
      const message = String((err as Error)?.message ?? err).split("\n")[0];
      process.stderr.write(`waitlock: ${message} (see waitlock doctor --help)\n`);
      process.exitCode = 3;
      return;
    }
    const { diagnose } = await import("../diagnose.ts");
    const backend = flags.backend ?? (flags["lock-dir"] === undefined ? process.env.WAITLOCK_BACKEND || undefined : undefined);
    const findings = await diagnose({ root: this.config.root, lockDir: flags["lock-dir"], backend });
    process.stdout.write(flags.format === "json" ? `${jsonReport(findings)}\n` : findings.map((f) => `${humanLine(f)}\n`).join(""));
    process.exitCode = failed(findings) ? 1 : 0;
  }
}
