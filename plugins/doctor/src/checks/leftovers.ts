// Stale and corrupt lock files, as the library lists them (list --all).
// Neither blocks anyone by itself: a stale file is taken over by its next
// acquirer. They are reported so a directory full of debris is noticed.
import { statSync } from "node:fs";
import { basename } from "node:path";
import type { LockInfo, Waitlock } from "../../../../adapters/api.ts";
import { age, errorText, ok, warn, type Finding } from "../finding.ts";

function mtimeOf(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** oldest picks the entry with the earliest moment (its record's acquiredAt, else the file's mtime). */
function oldest(entries: LockInfo[]): { entry: LockInfo; at?: number } {
  let best: { entry: LockInfo; at?: number } = { entry: entries[0] };
  for (const entry of entries) {
    const at = entry.record?.acquiredAt ?? mtimeOf(entry.location);
    if (at !== undefined && (best.at === undefined || at < best.at)) best = { entry, at };
  }
  return best;
}

const ago = (at: number | undefined, now: number) => (at === undefined ? "" : `, ${age(now - at)} old`);

export async function leftovers(wl: Waitlock, dir: string, now = Date.now()): Promise<Finding[]> {
  let entries: LockInfo[];
  try {
    entries = await wl.list({ lockDir: dir, all: true });
  } catch (err) {
    return [warn("lock files", `cannot list ${dir}: ${errorText(err)}`, "check the directory's permissions")];
  }
  const active = entries.filter((e) => e.status === "active" || e.status === "foreign").length;
  const stale = entries.filter((e) => e.status === "stale");
  const corrupt = entries.filter((e) => e.status === "corrupt");
  const out: Finding[] = [];
  const held = `${active} held now`;

  if (stale.length === 0) {
    out.push(ok("stale lock files", `none (${held})`));
  } else {
    const { entry, at } = oldest(stale);
    const by = entry.record ? `, last held by PID ${entry.record.holderPid}` : "";
    out.push(warn("stale lock files", `${stale.length} stale (oldest: ${basename(entry.location)}${ago(at, now)}${by}; ${held}): left by holders that died`,
      "nothing urgent: the next acquirer of each takes it over; see them with waitlock --list --stale-only, and do not delete lock files while waitlock may run (a file deleted under a new holder lets a second one in)"));
  }
  if (corrupt.length === 0) {
    out.push(ok("corrupt lock files", "none"));
  } else {
    const { entry, at } = oldest(corrupt);
    out.push(warn("corrupt lock files", `${corrupt.length} corrupt (oldest: ${basename(entry.location)}${ago(at, now)}: ${entry.problem ?? "unreadable"})`,
      "see them with waitlock --list --all; a regular file is overwritten by its next acquirer, anything else (a symlink, a directory) blocks its slot until removed: rm it"));
  }
  return out;
}
