// File names in a lock directory. A descriptor may contain dots, so names are
// parsed from the right, by suffix; slot files and reader files have suffixes
// that cannot be mistaken for each other.

/** `<descriptor>.slot<N>.lock`: one per slot; its kernel lock is the truth. */
const SLOT_FILE = /^(.+)\.slot(0|[1-9][0-9]{0,8})\.lock$/;
/** `<descriptor>.slot<N>.reader<PID>-<SEQ>.lock`: the record of one shared (read) holder. */
const READER_FILE = /^(.+)\.slot(0|[1-9][0-9]{0,8})\.reader([0-9]{1,10})-([0-9]{1,10})\.lock$/;

export function slotFileName(descriptor: string, slot: number): string {
  return `${descriptor}.slot${slot}.lock`;
}

export function readerFileName(descriptor: string, slot: number, pid: number, seq: number): string {
  return `${descriptor}.slot${slot}.reader${pid}-${seq}.lock`;
}

export interface ParsedName {
  kind: "slot" | "reader";
  /** As named by the file; not yet validated as a descriptor. */
  descriptor: string;
  slot: number;
}

/** parseLockFileName tells whether name is one of ours, and what it names. */
export function parseLockFileName(name: string): ParsedName | undefined {
  let m = READER_FILE.exec(name);
  if (m) return { kind: "reader", descriptor: m[1], slot: Number(m[2]) };
  m = SLOT_FILE.exec(name);
  if (m) return { kind: "slot", descriptor: m[1], slot: Number(m[2]) };
  return undefined;
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}
