// User names for listings, from /etc/passwd (read once, only when listing).
import { readFileSync } from "node:fs";

let byUid: Map<number, string> | undefined;

export function userName(uid: number): string {
  if (!byUid) {
    byUid = new Map();
    try {
      for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
        const [name, , id] = line.split(":");
        if (name && id && !byUid.has(Number(id))) byUid.set(Number(id), name);
      }
    } catch {
      // no passwd file: numeric IDs it is
    }
  }
  return byUid.get(uid) ?? String(uid);
}
