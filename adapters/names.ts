// File names in a lock directory. A descriptor may contain dots, so names are
// parsed from the right, by suffix; slot files and reader files have suffixes
// that cannot be mistaken for each other.
//
// A file name holds at most NAME_MAX bytes, and a descriptor of up to 255
// characters plus its suffix can be longer. A file whose plain name fits keeps
// it (`<descriptor>.slot<N>.lock`, as every version names it, so lock
// directories stay shared with them); only a name that would not fit takes the
// long form `<first 128 characters>~<32 hex digits of SHA-256>.slot<N>.lock`.
// "~" is not allowed in a descriptor, so a long name never equals a plain one,
// and versions that know only plain names leave long ones out of listings. The
// record inside a long-named file carries the full descriptor (docs/FORMAT.md).

/** The longest file name Linux file systems accept, in bytes. */
export const NAME_MAX = 255;
/** How many characters of a long descriptor its file names keep, for people reading the directory. */
export const LONG_NAME_PREFIX = 128;
/** Hex digits of the SHA-256 in a long name: 128 bits, so no two descriptors meet by chance. */
const LONG_NAME_HASH_DIGITS = 32;
const LONG_NAME_MARK = "~";

/** `<key>.slot<N>.lock`: one per slot; its kernel lock is the truth. */
const SLOT_FILE = /^(.+)\.slot(0|[1-9][0-9]{0,8})\.lock$/;
/** `<key>.slot<N>.reader<PID>-<SEQ>.lock`: the record of one shared (read) holder. */
const READER_FILE = /^(.+)\.slot(0|[1-9][0-9]{0,8})\.reader([0-9]{1,10})-([0-9]{1,10})\.lock$/;
/** The key of a long name: nothing else, so no byte of a planted name reaches a listing. */
const LONG_KEY = new RegExp(`^[A-Za-z0-9._-]{1,${LONG_NAME_PREFIX}}${LONG_NAME_MARK}[0-9a-f]{${LONG_NAME_HASH_DIGITS}}$`);

export interface ParsedName {
  kind: "slot" | "reader";
  /**
   * What precedes the suffix: for a plain name the descriptor (not yet
   * validated), for a long name `<prefix>~<hash>`, whose full descriptor only
   * the record inside tells.
   */
  key: string;
  long: boolean;
  slot: number;
}

/** parseLockFileName tells whether name is one of ours, and what it names. */
export function parseLockFileName(name: string): ParsedName | undefined {
  const m = READER_FILE.exec(name) ?? SLOT_FILE.exec(name);
  if (!m) return undefined;
  const kind = m.length > 3 ? "reader" : "slot";
  return { kind, key: m[1], long: LONG_KEY.test(m[1]), slot: Number(m[2]) };
}

const utf8 = new TextEncoder();

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** LockFileNames names the files of descriptors, long ones through a digest (SHA-256) the caller supplies. */
export class LockFileNames {
  readonly #sha256: (bytes: Uint8Array) => Uint8Array;
  // One entry is enough: a process names one descriptor's files many times in a row.
  #lastDescriptor?: string;
  #lastKey = "";

  constructor(sha256: (bytes: Uint8Array) => Uint8Array) {
    this.#sha256 = sha256;
  }

  /** longKey is what a descriptor's long file names start with: `<prefix>~<hash>`. */
  longKey(descriptor: string): string {
    if (descriptor !== this.#lastDescriptor) {
      const digest = this.#sha256(utf8.encode(descriptor)).subarray(0, LONG_NAME_HASH_DIGITS / 2);
      this.#lastKey = `${descriptor.slice(0, LONG_NAME_PREFIX)}${LONG_NAME_MARK}${hex(digest)}`;
      this.#lastDescriptor = descriptor;
    }
    return this.#lastKey;
  }

  /** `<descriptor>.slot<N>.lock`, or its long form if that is too long. */
  slot(descriptor: string, slot: number): string {
    return this.#fit(descriptor, `.slot${slot}.lock`);
  }

  /** `<descriptor>.slot<N>.reader<PID>-<SEQ>.lock`, or its long form if that is too long. */
  reader(descriptor: string, slot: number, pid: number, seq: number): string {
    return this.#fit(descriptor, `.slot${slot}.reader${pid}-${seq}.lock`);
  }

  /** `<descriptor>.queue`, the directory of its waiters' tickets, or its long form if that is too long. */
  queue(descriptor: string): string {
    return this.#fit(descriptor, ".queue");
  }

  #fit(descriptor: string, suffix: string): string {
    // Descriptors are ASCII (validated before they get here): characters are bytes.
    return descriptor.length + suffix.length <= NAME_MAX ? descriptor + suffix : this.longKey(descriptor) + suffix;
  }

  /**
   * mayBelongTo tells whether a file so named can be one of descriptor's. For a
   * long name it only can: two descriptors could share a key, and only the
   * record inside tells which one the file is for.
   */
  mayBelongTo(parsed: ParsedName, descriptor: string): boolean {
    return parsed.long ? parsed.key === this.longKey(descriptor) : parsed.key === descriptor;
  }
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}
