// Status codes shared by the AssemblyScript core and the TypeScript adapters.
// This file is valid in both languages on purpose: the adapters import it
// directly, so a code can never mean one thing in WASM and another in JS.

/** The largest semaphore this build accepts (each slot is a file). */
export const MAX_HOLDERS = 4096;

/** Why a byte string is not a lock record (0 = it is one). */
export const enum DecodeStatus {
  Ok = 0,
  /** Fewer bytes than the smallest possible record. */
  Short = 1,
  /** The first four bytes are not "WALK". */
  BadMagic = 2,
  /** A format version this build does not read. */
  UnknownVersion = 3,
  /** A string length runs past the end, exceeds its maximum, or bytes trail the CRC. */
  BadLength = 4,
  /** The CRC32 does not match the bytes before it. */
  BadCrc = 5,
  /** Well-formed bytes carrying an impossible value (slot >= max, bad type, bad descriptor). */
  BadField = 6,
}

/** Why a record could not be encoded (0 = encoded). */
export const enum EncodeStatus {
  Ok = 0,
  BadType = -1,
  BadSlot = -2,
  BadNumber = -3,
  BadDescriptor = -4,
  HostnameTooLong = -5,
}

/** What is wrong with a descriptor (0 = valid). */
export const enum DescriptorStatus {
  Ok = 0,
  Empty = 1,
  TooLong = 2,
  BadChar = 3,
}

/** The kind of lock a record describes. */
export const enum LockType {
  Mutex = 0,
  Semaphore = 1,
  Shared = 2,
}

/** What a slot file means, from its record and its kernel lock. */
export const enum Staleness {
  /** Held by a process on this host (record may be unreadable: details unknown). */
  Active = 0,
  /** Lock free: a leftover from a holder that is gone; the next acquirer takes it over. */
  Stale = 1,
  /** Lock free and the content is not a record. */
  Corrupt = 2,
  /** Held, and the record names another host (NFS): never judged by local PIDs. */
  Foreign = 3,
}
