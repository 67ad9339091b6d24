// Markdown tables for the console and for bench/results/results.md (pasteable
// into README.md as they are), and the number formats they use.

/** int formats a count with thin groups of three digits: 12 345. */
export function int(n) {
  if (!Number.isFinite(n)) return "n/a";
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/** num formats a measurement with about three significant digits. */
export function num(n) {
  if (!Number.isFinite(n)) return "n/a";
  const a = Math.abs(n);
  if (a >= 1000) return int(n);
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

/** ratio formats a/b as "1.84×". */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : "n/a";
}

export const mib = (kib) => (Number.isFinite(kib) ? (kib / 1024).toFixed(1) : "n/a");

/**
 * render returns a table as markdown: a bold title line, an optional note,
 * then the table with padded columns. align: "l" or "r" per column.
 */
export function render({ title, note, head, rows, align = [] }) {
  const cells = [head, ...rows].map((r) => r.map((c) => String(c ?? "")));
  const width = head.map((_, i) => Math.max(3, ...cells.map((r) => r[i].length)));
  const pad = (s, i) => ((align[i] ?? (i === 0 ? "l" : "r")) === "r" ? s.padStart(width[i]) : s.padEnd(width[i]));
  const line = (r) => `| ${r.map(pad).join(" | ")} |`;
  const rule = `|${width.map((w, i) => ((align[i] ?? (i === 0 ? "l" : "r")) === "r" ? `${"-".repeat(w + 1)}:` : `${"-".repeat(w + 2)}`)).join("|")}|`;
  return [`**${title}**`, ...(note ? ["", note] : []), "", line(cells[0]), rule, ...cells.slice(1).map(line), ""].join("\n");
}
