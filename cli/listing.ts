// Renders a listing in the four --format styles. Pure: entries in, text out.
import type { LockInfo } from "../adapters/api.ts";
import type { Format } from "./invocation.ts";
import stringWidth from "string-width";
import { duration, printable } from "./text.ts";

export interface Row {
  descriptor: string;
  slot: number;
  status: string;
  /** The holder: the record's, or, when that one no longer holds the lock, the first real holder. */
  pid: number | null;
  /** Every real holder, when the record's holder no longer holds the lock (see SlotInfo.holders). */
  holders: number[] | null;
  owner: number | null;
  user: string | null;
  uid: number | null;
  hostname: string | null;
  acquiredAt: string | null;
  heldForMs: number | null;
  type: string | null;
  maxHolders: number | null;
  command: string | null;
  path: string;
  problem: string | null;
  /** "held", or "waiting" for a queued request (servers keep a queue). */
  state: "held" | "waiting";
  /** The holder's fencing token (servers), as a decimal string. */
  fence: string | null;
  /** Seconds left on the holder's lease unless renewed (servers). */
  leaseLeftS: number | null;
}

const TYPES = ["mutex", "semaphore", "shared"];

export function toRows(entries: LockInfo[], now: number, userName: (uid: number) => string): Row[] {
  return entries.map((e) => {
    const r = e.record;
    return {
      descriptor: e.descriptor, slot: e.slot, status: e.status,
      pid: e.holders?.[0] ?? r?.holderPid ?? null, holders: e.holders ?? null, owner: r?.ownerPid ?? null,
      user: r ? userName(r.uid) : null, uid: r?.uid ?? null, hostname: r?.hostname ?? null,
      acquiredAt: r ? new Date(r.acquiredAt).toISOString() : null,
      heldForMs: r && e.status === "active" ? Math.max(0, now - r.acquiredAt) : null,
      type: r ? TYPES[r.type] ?? null : null, maxHolders: r?.maxHolders ?? null,
      command: r?.command ?? null, path: e.location,
      problem: e.problem ?? (e.holders && r ? `PID ${r.holderPid} in the record no longer holds it` : null),
      state: e.kind === "waiter" ? "waiting" : "held", fence: e.fence === undefined ? null : String(e.fence),
      leaseLeftS: e.leaseLeftMs === undefined ? null : Math.round(e.leaseLeftMs / 1000),
    };
  });
}

function human(rows: Row[], showStatus: boolean): string {
  if (rows.length === 0) return "";
  // Locks on a server come from many hosts, carry fences and leases, and queue: say so.
  const server = rows.some((r) => r.fence !== null || r.state === "waiting");
  const head = ["DESCRIPTOR", "SLOT", ...(server ? ["STATE", "HOST"] : []), "PID", "OWNER", "USER", "ACQUIRED", "HELD", ...(server ? ["FENCE", "LEASE"] : []), ...(showStatus ? ["STATUS"] : []), "COMMAND"];
  const cells = rows.map((r) => [
    r.descriptor, r.state === "waiting" ? "-" : String(r.slot), ...(server ? [r.state, r.hostname ?? "-"] : []),
    r.holders ? r.holders.join(",") : r.pid === null ? "-" : String(r.pid), r.owner === null ? "-" : String(r.owner),
    r.user ?? "-", r.acquiredAt ? r.acquiredAt.replace("T", " ").slice(0, 19) : "-",
    r.heldForMs === null ? "-" : duration(r.heldForMs),
    ...(server ? [r.fence ?? "-", r.leaseLeftS === null ? "-" : `${r.leaseLeftS}s`] : []),
    ...(showStatus ? [r.status + (r.problem ? ` (${r.problem})` : "")] : []),
    printable(r.command ?? ""),
  ]);
  // Columns are aligned by display width: a user or host name may hold wide characters.
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => stringWidth(c[i]))));
  const pad = (v: string, i: number) => v + " ".repeat(Math.max(0, widths[i] - stringWidth(v)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : pad(v, i))).join("  ").trimEnd();
  return [line(head), ...cells.map(line)].join("\n") + "\n";
}

// New columns go last, so scripts that count columns keep working.
const CSV_COLUMNS = ["descriptor", "pid", "slot", "status", "owner", "user", "hostname", "acquired", "held_ms", "type", "max_holders", "command", "path", "problem", "state", "fence", "lease_left_s"] as const;

function csvField(v: string | number | null): string {
  const s = v === null ? "" : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function values(r: Row): (string | number | null)[] {
  return [r.descriptor, r.pid, r.slot, r.status, r.owner, r.user, r.hostname, r.acquiredAt, r.heldForMs, r.type, r.maxHolders, r.command, r.path, r.problem, r.state, r.fence, r.leaseLeftS];
}

/** render formats rows; the human table shows a STATUS column when leftovers are included. */
export function render(rows: Row[], format: Format, showStatus: boolean): string {
  switch (format) {
    case "human":
      return human(rows, showStatus);
    case "csv":
      return [CSV_COLUMNS.join(","), ...rows.map((r) => values(r).map(csvField).join(","))].join("\n") + "\n";
    case "null":
      // Each field NUL-terminated, each record ended by one more NUL.
      return rows.map((r) => values(r).map((v) => `${v ?? ""}\0`).join("") + "\0").join("");
    case "json":
      return JSON.stringify(rows, null, 2) + "\n";
    default: // prometheus and openmetrics are metrics, not rows (cli/metrics.ts)
      throw new Error(`--format ${format} is not a listing of rows`);
  }
}
