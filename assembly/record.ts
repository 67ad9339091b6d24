// Lock-record codec, format version 2. The byte layout is documented in
// docs/FORMAT.md; change both together and bump FORMAT_VERSION.
import { DecodeStatus, EncodeStatus, DescriptorStatus, LockType } from "./codes";
import { crc32Of } from "./crc32";
import { checkDescriptorAt } from "./descriptor";
import { INPUT, OUTPUT, SCRATCH_SIZE } from "./scratch";

export const FORMAT_VERSION: u16 = 2;
// "WALK" as it appears in the file, read as a little-endian u32.
const MAGIC_LE: u32 = 0x4b4c4157;

export const HOSTNAME_MAX: i32 = 255;
export const COMMAND_MAX: i32 = 4096;
const HEADER = 44; // fixed fields before the first string
const STRINGS_AT = HEADER;
/** Smallest byte count that can be a record: header, three empty strings, CRC. */
export const RECORD_MIN: i32 = HEADER + 2 + 2 + 2 + 4;
/** Largest: every string at its maximum. */
export const RECORD_MAX: i32 = RECORD_MIN + HOSTNAME_MAX + 255 + COMMAND_MAX;

const U32_LIMIT: f64 = 4294967295;
const U53_LIMIT: f64 = 9007199254740991;

// ---- decoded fields (valid after decodeRecord returned Ok) ----
let dVersion: u32 = 0;
let dType: u32 = 0;
let dSlot: u32 = 0;
let dMax: u32 = 0;
let dHolderPid: u32 = 0;
let dOwnerPid: u32 = 0;
let dOwnerStart: f64 = 0;
let dUid: u32 = 0;
let dAcquiredAt: f64 = 0;
let dHostOff: i32 = 0;
let dHostLen: i32 = 0;
let dDescOff: i32 = 0;
let dDescLen: i32 = 0;
let dCmdOff: i32 = 0;
let dCmdLen: i32 = 0;

export function recordVersion(): u32 { return dVersion; }
export function recordType(): u32 { return dType; }
export function recordSlot(): u32 { return dSlot; }
export function recordMaxHolders(): u32 { return dMax; }
export function recordHolderPid(): u32 { return dHolderPid; }
export function recordOwnerPid(): u32 { return dOwnerPid; }
export function recordOwnerStart(): f64 { return dOwnerStart; }
export function recordUid(): u32 { return dUid; }
export function recordAcquiredAt(): f64 { return dAcquiredAt; }
/** String fields are returned as byte offsets and lengths inside the input area. */
export function recordHostOffset(): i32 { return dHostOff; }
export function recordHostLength(): i32 { return dHostLen; }
export function recordDescriptorOffset(): i32 { return dDescOff; }
export function recordDescriptorLength(): i32 { return dDescLen; }
export function recordCommandOffset(): i32 { return dCmdOff; }
export function recordCommandLength(): i32 { return dCmdLen; }

/** The reader's version of the format, for diagnostics. */
export function formatVersion(): u32 { return FORMAT_VERSION; }
export function recordMaxBytes(): i32 { return RECORD_MAX; }

function validFields(type: u32, slot: u32, max: u32): bool {
  return type <= <u32>LockType.Shared && max >= 1 && slot < max;
}

/**
 * decodeRecord parses a record whose first min(len, SCRATCH_SIZE) bytes the host
 * copied into the input area; len is the true byte count of the file. It never
 * traps: every read is bounds-checked against the bytes present.
 */
export function decodeRecord(len: i32): DecodeStatus {
  if (len < RECORD_MIN) return DecodeStatus.Short;
  const p = INPUT;
  if (load<u32>(p) != MAGIC_LE) return DecodeStatus.BadMagic;
  const version = <u32>load<u16>(p + 4);
  if (version != FORMAT_VERSION) return DecodeStatus.UnknownVersion;
  if (len > RECORD_MAX || len > SCRATCH_SIZE) return DecodeStatus.BadLength;

  let at = STRINGS_AT;
  const hostLen = <i32>load<u16>(p + at);
  if (hostLen > HOSTNAME_MAX || at + 2 + hostLen + 6 > len) return DecodeStatus.BadLength;
  const hostOff = at + 2;
  at = hostOff + hostLen;
  const descLen = <i32>load<u16>(p + at);
  if (descLen > 255 || at + 2 + descLen + 4 > len) return DecodeStatus.BadLength;
  const descOff = at + 2;
  at = descOff + descLen;
  const cmdLen = <i32>load<u16>(p + at);
  if (cmdLen > COMMAND_MAX || at + 2 + cmdLen + 4 != len) return DecodeStatus.BadLength;
  const cmdOff = at + 2;
  at = cmdOff + cmdLen;

  if (crc32Of(p, at) != load<u32>(p + at)) return DecodeStatus.BadCrc;

  const type = <u32>load<u8>(p + 6);
  const flags = load<u8>(p + 7);
  const slot = load<u32>(p + 8);
  const max = load<u32>(p + 12);
  if (flags != 0 || !validFields(type, slot, max)) return DecodeStatus.BadField;
  if (checkDescriptorAt(p + descOff, descLen) != DescriptorStatus.Ok) return DecodeStatus.BadField;

  dVersion = version;
  dType = type;
  dSlot = slot;
  dMax = max;
  dHolderPid = load<u32>(p + 16);
  dOwnerPid = load<u32>(p + 20);
  dOwnerStart = <f64>load<u64>(p + 24);
  dUid = load<u32>(p + 32);
  dAcquiredAt = <f64>load<u64>(p + 36);
  dHostOff = hostOff;
  dHostLen = hostLen;
  dDescOff = descOff;
  dDescLen = descLen;
  dCmdOff = cmdOff;
  dCmdLen = cmdLen;
  return DecodeStatus.Ok;
}

/**
 * restampRecord gives the record of len bytes in the input area a new
 * acquiredAt, and the CRC to match, in place: a holder taking the same lock
 * again needs only that changed, not the whole record encoded again. It
 * changes nothing unless the bytes are a valid record (decodeRecord's
 * checks); returns 0, the DecodeStatus that refused them, or
 * EncodeStatus.BadNumber for a time out of range.
 */
export function restampRecord(len: i32, acquiredAt: f64): i32 {
  if (!isU53(acquiredAt)) return EncodeStatus.BadNumber;
  const status = decodeRecord(len);
  if (status != DecodeStatus.Ok) return status;
  const p = INPUT;
  store<u64>(p + 36, <u64>acquiredAt);
  store<u32>(p + <usize>(len - 4), crc32Of(p, len - 4));
  dAcquiredAt = acquiredAt;
  return 0;
}

function isU32(v: f64): bool {
  return v >= 0 && v <= U32_LIMIT && Math.floor(v) == v;
}

function isU53(v: f64): bool {
  return v >= 0 && v <= U53_LIMIT && Math.floor(v) == v;
}

/** utf8Cut returns the largest n <= max such that cutting at n does not split a character. */
export function utf8Cut(ptr: usize, len: i32, max: i32): i32 {
  if (len <= max) return len;
  let n = max;
  // Back up over continuation bytes (10xxxxxx) so the cut lands on a character start.
  while (n > 0 && (load<u8>(ptr + <usize>n) & 0xc0) == 0x80) n--;
  return n;
}

function putString(at: i32, src: usize, len: i32): i32 {
  store<u16>(OUTPUT + <usize>at, <u16>len);
  memory.copy(OUTPUT + <usize>at + 2, src, <usize>len);
  return at + 2 + len;
}

/**
 * encodeRecord writes a record to the output area and returns its length, or a
 * negative EncodeStatus. The host puts hostname, descriptor and command line
 * bytes back to back at the start of the input area. Numbers arrive as f64 so
 * that a fraction or an out-of-range value is refused instead of wrapped.
 * A command line longer than COMMAND_MAX is truncated on a character boundary.
 */
export function encodeRecord(
  type: f64, slot: f64, maxHolders: f64, holderPid: f64, ownerPid: f64,
  ownerStart: f64, uid: f64, acquiredAt: f64,
  hostLen: i32, descLen: i32, cmdLen: i32,
): i32 {
  if (!(type == LockType.Mutex || type == LockType.Semaphore || type == LockType.Shared)) return EncodeStatus.BadType;
  if (!isU32(slot) || !isU32(maxHolders) || !validFields(<u32>type, <u32>slot, <u32>maxHolders)) return EncodeStatus.BadSlot;
  if (!isU32(holderPid) || !isU32(ownerPid) || !isU32(uid) || !isU53(ownerStart) || !isU53(acquiredAt)) {
    return EncodeStatus.BadNumber;
  }
  if (hostLen < 0 || descLen < 0 || cmdLen < 0 || hostLen + descLen > SCRATCH_SIZE) return EncodeStatus.BadNumber;
  if (hostLen > HOSTNAME_MAX) return EncodeStatus.HostnameTooLong;
  const host = INPUT;
  const desc = INPUT + <usize>hostLen;
  if (checkDescriptorAt(desc, descLen) != DescriptorStatus.Ok) return EncodeStatus.BadDescriptor;
  const cmd = desc + <usize>descLen;
  const cmdRoom = SCRATCH_SIZE - hostLen - descLen;
  const cmdKept = utf8Cut(cmd, cmdLen < cmdRoom ? cmdLen : cmdRoom, COMMAND_MAX);

  const o = OUTPUT;
  store<u32>(o, MAGIC_LE);
  store<u16>(o + 4, FORMAT_VERSION);
  store<u8>(o + 6, <u8>type);
  store<u8>(o + 7, 0);
  store<u32>(o + 8, <u32>slot);
  store<u32>(o + 12, <u32>maxHolders);
  store<u32>(o + 16, <u32>holderPid);
  store<u32>(o + 20, <u32>ownerPid);
  store<u64>(o + 24, <u64>ownerStart);
  store<u32>(o + 32, <u32>uid);
  store<u64>(o + 36, <u64>acquiredAt);
  let at = putString(STRINGS_AT, host, hostLen);
  at = putString(at, desc, descLen);
  at = putString(at, cmd, cmdKept);
  store<u32>(o + <usize>at, crc32Of(o, at));
  return at + 4;
}
