import {
  decodeRecord, encodeRecord, restampRecord, RECORD_MIN, RECORD_MAX, COMMAND_MAX,
  recordVersion, recordType, recordSlot, recordMaxHolders, recordHolderPid, recordOwnerPid,
  recordOwnerStart, recordUid, recordAcquiredAt, recordHostLength, recordDescriptorOffset,
  recordDescriptorLength, recordCommandLength, utf8Cut,
} from "../record";
import { DecodeStatus, EncodeStatus, LockType } from "../codes";
import { INPUT, OUTPUT } from "../scratch";
import { putAscii, outputToInput } from "./helpers.include";

/** Encodes a sample record (host "h1", descriptor "db", command given) and returns its length. */
function sample(cmd: string = "backup.sh --daily", type: f64 = LockType.Semaphore, slot: f64 = 2, max: f64 = 4): i32 {
  const h = putAscii("h1");
  const d = putAscii("db", h);
  const c = putAscii(cmd, h + d);
  return encodeRecord(type, slot, max, 4242, 4000, 123456789, 1000, 1764165600123, h, d, c);
}

describe("encodeRecord / decodeRecord", () => {
  it("round-trips every field", () => {
    const n = sample();
    expect(n).toBe(RECORD_MIN + 2 + 2 + 17);
    outputToInput(n);
    expect(decodeRecord(n)).toBe(DecodeStatus.Ok);
    expect(recordVersion()).toBe(2);
    expect(recordType()).toBe(LockType.Semaphore);
    expect(recordSlot()).toBe(2);
    expect(recordMaxHolders()).toBe(4);
    expect(recordHolderPid()).toBe(4242);
    expect(recordOwnerPid()).toBe(4000);
    expect(recordOwnerStart()).toBe(123456789);
    expect(recordUid()).toBe(1000);
    expect(recordAcquiredAt()).toBe(1764165600123);
    expect(recordHostLength()).toBe(2);
    expect(recordDescriptorLength()).toBe(2);
    expect(load<u8>(INPUT + recordDescriptorOffset())).toBe(0x64); // 'd'
    expect(recordCommandLength()).toBe(17);
  });

  it("starts with the bytes W A L K and version 2, little-endian", () => {
    sample();
    expect(load<u8>(OUTPUT)).toBe(0x57);
    expect(load<u8>(OUTPUT + 1)).toBe(0x41);
    expect(load<u8>(OUTPUT + 2)).toBe(0x4c);
    expect(load<u8>(OUTPUT + 3)).toBe(0x4b);
    expect(load<u8>(OUTPUT + 4)).toBe(2);
    expect(load<u8>(OUTPUT + 5)).toBe(0);
  });

  it("refuses impossible values instead of wrapping them", () => {
    expect(sample("x", 3)).toBe(EncodeStatus.BadType);
    expect(sample("x", LockType.Mutex, 1, 1)).toBe(EncodeStatus.BadSlot);
    expect(sample("x", LockType.Mutex, 0, 0)).toBe(EncodeStatus.BadSlot);
    expect(sample("x", LockType.Mutex, 0.5, 1)).toBe(EncodeStatus.BadSlot);
    const h = putAscii("h");
    const d = putAscii("a/b", h);
    expect(encodeRecord(0, 0, 1, 1, 1, 0, 0, 0, h, d, 0)).toBe(EncodeStatus.BadDescriptor);
    const d2 = putAscii("ok", h);
    expect(encodeRecord(0, 0, 1, -1, 1, 0, 0, 0, h, d2, 0)).toBe(EncodeStatus.BadNumber);
    expect(encodeRecord(0, 0, 1, 1, 1, 0, 4294967296, 0, h, d2, 0)).toBe(EncodeStatus.BadNumber);
    expect(encodeRecord(0, 0, 1, 1, 1, 0, 0, NaN, h, d2, 0)).toBe(EncodeStatus.BadNumber);
  });

  it("refuses a hostname over 255 bytes", () => {
    const h = putAscii("h".repeat(256));
    const d = putAscii("ok", h);
    expect(encodeRecord(0, 0, 1, 1, 1, 0, 0, 0, h, d, 0)).toBe(EncodeStatus.HostnameTooLong);
  });

  it("truncates a command line over 4096 bytes instead of refusing it", () => {
    const n = sample("c".repeat(5000));
    expect(n).toBe(RECORD_MIN + 2 + 2 + COMMAND_MAX);
    outputToInput(n);
    expect(decodeRecord(n)).toBe(DecodeStatus.Ok);
    expect(recordCommandLength()).toBe(COMMAND_MAX);
  });

  it("accepts the largest record", () => {
    const h = putAscii("h".repeat(255));
    const d = putAscii("d".repeat(255), h);
    const c = putAscii("c".repeat(4096), h + d);
    const n = encodeRecord(0, 0, 1, 1, 1, 0, 0, 0, h, d, c);
    expect(n).toBe(RECORD_MAX);
    outputToInput(n);
    expect(decodeRecord(n)).toBe(DecodeStatus.Ok);
  });
});

describe("decodeRecord rejects", () => {
  it("anything shorter than the smallest record", () => {
    expect(decodeRecord(0)).toBe(DecodeStatus.Short);
    expect(decodeRecord(RECORD_MIN - 1)).toBe(DecodeStatus.Short);
  });

  it("a wrong magic", () => {
    const n = sample();
    outputToInput(n);
    store<u8>(INPUT, 0x58);
    expect(decodeRecord(n)).toBe(DecodeStatus.BadMagic);
  });

  it("an unknown version", () => {
    const n = sample();
    outputToInput(n);
    store<u16>(INPUT + 4, 3);
    expect(decodeRecord(n)).toBe(DecodeStatus.UnknownVersion);
  });

  it("a truncated record and one with trailing bytes", () => {
    const n = sample();
    outputToInput(n);
    expect(decodeRecord(n - 1)).toBe(DecodeStatus.BadLength);
    store<u8>(INPUT + n, 0);
    expect(decodeRecord(n + 1)).toBe(DecodeStatus.BadLength);
  });

  it("a string length running past the end", () => {
    const n = sample();
    outputToInput(n);
    store<u16>(INPUT + 44, 0xffff);
    expect(decodeRecord(n)).toBe(DecodeStatus.BadLength);
  });

  it("a file longer than the largest record", () => {
    const n = sample();
    outputToInput(n);
    expect(decodeRecord(RECORD_MAX + 1)).toBe(DecodeStatus.BadLength);
    expect(decodeRecord(1 << 30)).toBe(DecodeStatus.BadLength);
  });

  it("a flipped bit in the body", () => {
    const n = sample();
    outputToInput(n);
    store<u8>(INPUT + 20, load<u8>(INPUT + 20) ^ 0x10);
    expect(decodeRecord(n)).toBe(DecodeStatus.BadCrc);
  });
});

describe("restampRecord", () => {
  it("gives the same bytes as encoding the record at the new time", () => {
    const n = sample();
    outputToInput(n);
    expect(restampRecord(n, 1764165609999)).toBe(0);
    const restamped = new Array<u8>(n);
    for (let i = 0; i < n; i++) restamped[i] = load<u8>(INPUT + <usize>i);
    expect(encodeRecordAt(1764165609999)).toBe(n); // from scratch: its strings overwrite the input area
    for (let i = 0; i < n; i++) expect(restamped[i]).toBe(load<u8>(OUTPUT + <usize>i));
    outputToInput(n);
    expect(decodeRecord(n)).toBe(DecodeStatus.Ok);
    expect(recordAcquiredAt()).toBe(1764165609999);
  });

  it("changes nothing in bytes that are not a valid record", () => {
    const n = sample();
    outputToInput(n);
    store<u8>(INPUT + 20, load<u8>(INPUT + 20) ^ 0x10);
    const before = load<u64>(INPUT + 36);
    expect(restampRecord(n, 1764165609999)).toBe(DecodeStatus.BadCrc);
    expect(load<u64>(INPUT + 36)).toBe(before);
    expect(restampRecord(n - 1, 1764165609999)).toBe(DecodeStatus.BadLength);
  });

  it("refuses a time that is not a whole number of ms in range", () => {
    const n = sample();
    outputToInput(n);
    expect(restampRecord(n, -1)).toBe(EncodeStatus.BadNumber);
    expect(restampRecord(n, 1.5)).toBe(EncodeStatus.BadNumber);
    expect(decodeRecord(n)).toBe(DecodeStatus.Ok);
    expect(recordAcquiredAt()).toBe(1764165600123);
  });
});

/** sample()'s record at another time, encoded from scratch (its input strings are overwritten by the call). */
function encodeRecordAt(acquiredAt: f64): i32 {
  const h = putAscii("h1");
  const d = putAscii("db", h);
  const c = putAscii("backup.sh --daily", h + d);
  return encodeRecord(LockType.Semaphore, 2, 4, 4242, 4000, 123456789, 1000, acquiredAt, h, d, c);
}

describe("utf8Cut", () => {
  it("never splits a multi-byte character", () => {
    // "aé" = 61 C3 A9: cutting at 2 would split é, so the cut backs up to 1.
    store<u8>(INPUT, 0x61);
    store<u8>(INPUT + 1, 0xc3);
    store<u8>(INPUT + 2, 0xa9);
    expect(utf8Cut(INPUT, 3, 2)).toBe(1);
    expect(utf8Cut(INPUT, 3, 3)).toBe(3);
    expect(utf8Cut(INPUT, 3, 1)).toBe(1);
  });
});
