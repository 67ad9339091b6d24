// One line of a doctor report: what was checked, how it went, and what to do.

export type Status = "OK" | "WARN" | "FAIL";

export interface Finding {
  /** The check's name, e.g. "lock directory" or "kernel locks". */
  check: string;
  /** OK: fine or informational; WARN: works, but may surprise you; FAIL: waitlock will not work. */
  status: Status;
  /** What was found, in one line. */
  finding: string;
  /** What to do about it (absent when there is nothing to do). */
  fix?: string;
}

export const ok = (check: string, finding: string): Finding => ({ check, status: "OK", finding });
export const warn = (check: string, finding: string, fix?: string): Finding => ({ check, status: "WARN", finding, fix });
export const fail = (check: string, finding: string, fix?: string): Finding => ({ check, status: "FAIL", finding, fix });

/** humanLine renders `STATUS  check: finding — fix: …`, statuses padded so findings line up. */
export function humanLine(f: Finding): string {
  const line = `${f.status.padEnd(4)}  ${f.check}: ${oneLine(f.finding)}`;
  return f.fix ? `${line} — fix: ${oneLine(f.fix)}` : line;
}

/** jsonReport renders the findings as a JSON array of {check, status, finding, fix}. */
export function jsonReport(findings: readonly Finding[]): string {
  return JSON.stringify(findings.map((f) => ({ check: f.check, status: f.status, finding: f.finding, fix: f.fix ?? null })), null, 2);
}

/** A report fails when any check failed; warnings alone do not. */
export function failed(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.status === "FAIL");
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}

/** age says how long ago a moment was, in the largest sensible unit. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

/** bytes says how much space, in binary units. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/** errorText is the one-line message of anything thrown. */
export function errorText(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown } | null;
  const msg = typeof e?.message === "string" ? e.message.split("\n")[0] : String(err);
  return msg;
}
