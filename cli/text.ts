// Text for a terminal: cut by display width (a CJK character or an emoji takes
// two columns), and with control characters made harmless.
import stringWidth from "string-width";

/** printable replaces control characters (a record's command may carry escape sequences) with "?". */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
}

/**
 * cut returns text if it fits in `columns` terminal columns, else its longest
 * head that fits in columns - 1, followed by "…". Characters are never split:
 * it cuts between grapheme clusters.
 */
export function cut(text: string, columns: number): string {
  if (stringWidth(text) <= columns) return text;
  let head = "";
  let width = 0;
  for (const { segment } of new Intl.Segmenter().segment(text)) {
    const w = stringWidth(segment);
    if (width + w > columns - 1) break;
    head += segment;
    width += w;
  }
  return columns >= 1 ? `${head}…` : "";
}

/**
 * duration is how every listing and message shows a length of time: 45s,
 * 1m05s, 2h03m, 3d04h (whole units, rounded down; the second unit two digits,
 * so a column of them lines up).
 */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor((s % 86400) / 3600))}h`;
}
