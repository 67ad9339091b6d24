// The only code that touches the WASM core's memory. Everything above it sees
// plain TypeScript values: strings, numbers, arrays, LockRecord.
import { DecodeStatus, DescriptorStatus, EncodeStatus, LockType, Staleness } from "../assembly/codes.ts";
import { WaitlockError } from "./errors.ts";

export { DecodeStatus, LockType, Staleness };

/** A decoded lock record (docs/FORMAT.md). */
export interface LockRecord {
  version: number;
  type: LockType;
  slot: number;
  maxHolders: number;
  /** The process to signal (the foreground holder, the exec'ing waitlock, or the library user). */
  holderPid: number;
  /** The process whose life bounds the lock. */
  ownerPid: number;
  /** The owner's start time (Linux: clock ticks since boot), to survive PID reuse. */
  ownerStart: number;
  uid: number;
  /** Milliseconds since the epoch. */
  acquiredAt: number;
  hostname: string;
  descriptor: string;
  command: string;
}

/** What encodeRecord needs: a record without its version (always the current one). */
export type LockRecordInput = Omit<LockRecord, "version">;

interface CoreExports {
  memory: { readonly buffer: ArrayBuffer };
  inputPtr(): number;
  outputPtr(): number;
  scratchSize(): number;
  crc32Of(ptr: number, len: number): number;
  sha256Of(ptr: number, len: number): number;
  checkDescriptorAt(ptr: number, len: number): DescriptorStatus;
  descriptorBadIndex(): number;
  decodeRecord(len: number): DecodeStatus;
  restampRecord(len: number, acquiredAt: number): number;
  encodeRecord(
    type: number, slot: number, maxHolders: number, holderPid: number, ownerPid: number,
    ownerStart: number, uid: number, acquiredAt: number, hostLen: number, descLen: number, cmdLen: number,
  ): number;
  formatVersion(): number;
  recordMaxBytes(): number;
  recordVersion(): number;
  recordType(): number;
  recordSlot(): number;
  recordMaxHolders(): number;
  recordHolderPid(): number;
  recordOwnerPid(): number;
  recordOwnerStart(): number;
  recordUid(): number;
  recordAcquiredAt(): number;
  recordHostOffset(): number;
  recordHostLength(): number;
  recordDescriptorOffset(): number;
  recordDescriptorLength(): number;
  recordCommandOffset(): number;
  recordCommandLength(): number;
  slotOrder(maxHolders: number, preferred: number): number;
  effectiveCpus(affinity: number, quotaUs: number, periodUs: number): number;
  holdersForCpus(cpus: number, exclude: number): number;
  classify(recordValid: boolean, recordEmpty: boolean, lockHeld: boolean, sameHost: boolean): Staleness;
}

const DECODE_REASONS: Record<DecodeStatus, string> = {
  [DecodeStatus.Ok]: "ok",
  [DecodeStatus.Short]: "too short to be a lock record",
  [DecodeStatus.BadMagic]: "not a waitlock record (bad magic)",
  [DecodeStatus.UnknownVersion]: "record format version unknown to this waitlock",
  [DecodeStatus.BadLength]: "a length field is out of range or bytes trail the record",
  [DecodeStatus.BadCrc]: "checksum mismatch (torn or altered record)",
  [DecodeStatus.BadField]: "a field holds an impossible value",
};

const ENCODE_REASONS: Record<number, string> = {
  [EncodeStatus.BadType]: "lock type must be mutex, semaphore or shared",
  [EncodeStatus.BadSlot]: "slot must be an integer below maxHolders (maxHolders >= 1)",
  [EncodeStatus.BadNumber]: "PIDs, UID and times must be non-negative integers in range",
  [EncodeStatus.BadDescriptor]: "invalid descriptor",
  [EncodeStatus.HostnameTooLong]: "hostname longer than 255 bytes",
};

/** RecordDecodeError is a WaitlockError (code ECORRUPT) that also says which check failed. */
export class RecordDecodeError extends WaitlockError {
  readonly status: DecodeStatus;
  constructor(status: DecodeStatus) {
    super("ECORRUPT", DECODE_REASONS[status]);
    this.status = status;
  }
}

/** Core is the typed face of the WASM module. Create one per process with createCore. */
export class Core {
  readonly #x: CoreExports;
  readonly #in: number;
  readonly #out: number;
  readonly #size: number;
  readonly #utf8 = new TextEncoder();
  readonly #text = new TextDecoder(); // replaces invalid UTF-8 instead of throwing: records are untrusted

  constructor(exports: CoreExports) {
    this.#x = exports;
    this.#in = exports.inputPtr();
    this.#out = exports.outputPtr();
    this.#size = exports.scratchSize();
  }

  // The memory is never grown (the core allocates nothing), but a fresh view per
  // call costs little and stays correct if that ever changes.
  #view?: Uint8Array;
  /** The WASM memory as bytes: one view, made again only when growing the memory detached it (length 0). */
  #bytes(): Uint8Array {
    if (this.#view === undefined || this.#view.length === 0) this.#view = new Uint8Array(this.#x.memory.buffer);
    return this.#view;
  }

  /** The record format version this build writes and reads. */
  get formatVersion(): number {
    return this.#x.formatVersion();
  }

  /** The largest record in bytes; a file longer than this is never a record. */
  get recordMaxBytes(): number {
    return this.#x.recordMaxBytes();
  }

  /** crc32 is the IEEE 802.3 CRC-32 of data (at most the scratch size, 8 KiB). */
  crc32(data: Uint8Array): number {
    if (data.length > this.#size) throw new RangeError(`crc32: at most ${this.#size} bytes`);
    this.#bytes().set(data, this.#in);
    return this.#x.crc32Of(this.#in, data.length) >>> 0;
  }

  /** sha256 is the SHA-256 digest of data (at most the scratch size, 8 KiB). */
  sha256(data: Uint8Array): Uint8Array {
    if (data.length > this.#size) throw new RangeError(`sha256: at most ${this.#size} bytes`);
    const mem = this.#bytes();
    mem.set(data, this.#in);
    const n = this.#x.sha256Of(this.#in, data.length);
    return mem.slice(this.#out, this.#out + n);
  }

  /** descriptorProblem returns why s is not a valid descriptor, or undefined if it is one. */
  descriptorProblem(s: string): string | undefined {
    // Encode at most one byte past the limit: enough to tell "too long".
    const mem = this.#bytes();
    const { written } = this.#utf8.encodeInto(s, mem.subarray(this.#in, this.#in + 256));
    const len = s.length > 255 ? Math.max(written, 256) : written;
    switch (this.#x.checkDescriptorAt(this.#in, len)) {
      case DescriptorStatus.Ok:
        return undefined;
      case DescriptorStatus.Empty:
        return "descriptor is empty";
      case DescriptorStatus.TooLong:
        return `descriptor is longer than 255 characters`;
      case DescriptorStatus.BadChar: {
        const at = this.#x.descriptorBadIndex();
        const ch = [...this.#text.decode(mem.subarray(this.#in + at, this.#in + at + 4))][0] ?? "?";
        return `descriptor has ${JSON.stringify(ch)} at position ${at + 1}; allowed: A-Z a-z 0-9 . _ -`;
      }
    }
  }

  /** encodeRecord returns the bytes of r, a copy of its own; a command line over 4096 bytes is truncated. */
  encodeRecord(r: LockRecordInput): Uint8Array {
    const n = this.#encode(r);
    return this.#bytes().slice(this.#out, this.#out + n);
  }

  /**
   * encodeRecordInto is encodeRecord for a caller that writes the record at once
   * and then has no more use for it: the bytes go into out (at least
   * recordMaxBytes long), and the view returned is out's first bytes, valid
   * until out is written again. A copy of its own (slice) makes a new
   * ArrayBuffer: at a record's size that is memory outside V8's heap, which
   * costs more to allocate and free than all the rest of encoding.
   */
  encodeRecordInto(r: LockRecordInput, out: Uint8Array): Uint8Array {
    const n = this.#encode(r);
    if (out.length < n) throw new RangeError(`encodeRecordInto: a record of ${n} bytes does not fit in ${out.length}`);
    out.set(this.#bytes().subarray(this.#out, this.#out + n));
    return out.subarray(0, n);
  }

  /**
   * restampRecord changes, in place, the time a record says it was acquired,
   * and its checksum to match: the same bytes encodeRecord would give at that
   * time. Bytes that are not a valid record are refused (ECORRUPT), unchanged.
   */
  restampRecord(bytes: Uint8Array, acquiredAt: number): void {
    if (bytes.length > this.#size) throw new RecordDecodeError(DecodeStatus.BadLength);
    const mem = this.#bytes();
    mem.set(bytes, this.#in);
    const status = this.#x.restampRecord(bytes.length, acquiredAt);
    if (status > 0) throw new RecordDecodeError(status);
    if (status < 0) throw new WaitlockError("EUSAGE", `cannot restamp record: ${ENCODE_REASONS[status] ?? `status ${status}`}`);
    bytes.set(mem.subarray(this.#in, this.#in + bytes.length));
  }

  /** #encode puts r's record in the output area and returns its length. */
  #encode(r: LockRecordInput): number {
    const mem = this.#bytes();
    const limit = this.#in + this.#size;
    let at = this.#in;
    const put = (s: string): number => {
      const { written } = this.#utf8.encodeInto(s, mem.subarray(at, limit));
      at += written;
      return written;
    };
    // The scratch area (8 KiB) holds far more than 255 bytes: a longer hostname shows in what was written.
    const hostLen = put(r.hostname);
    // The hostname is this system's, not the caller's: a system error, not a usage one.
    if (hostLen > 255) throw new WaitlockError("ESYSTEM", `cannot encode record: hostname longer than 255 bytes`);
    const descLen = put(r.descriptor);
    const cmdLen = put(r.command);
    const n = this.#x.encodeRecord(
      r.type, r.slot, r.maxHolders, r.holderPid, r.ownerPid, r.ownerStart, r.uid, r.acquiredAt,
      hostLen, descLen, cmdLen,
    );
    if (n < 0) throw new WaitlockError(n === EncodeStatus.HostnameTooLong ? "ESYSTEM" : "EUSAGE", `cannot encode record: ${ENCODE_REASONS[n] ?? `status ${n}`}`);
    return n;
  }

  /** decodeStatus checks bytes without building a record (DecodeStatus.Ok if it is one). */
  decodeStatus(bytes: Uint8Array): DecodeStatus {
    const mem = this.#bytes();
    mem.set(bytes.length > this.#size ? bytes.subarray(0, this.#size) : bytes, this.#in);
    return this.#x.decodeRecord(bytes.length);
  }

  /** decodeRecord parses bytes; anything that is not a valid record throws RecordDecodeError. */
  decodeRecord(bytes: Uint8Array): LockRecord {
    const status = this.decodeStatus(bytes);
    if (status !== DecodeStatus.Ok) throw new RecordDecodeError(status);
    const x = this.#x;
    const mem = this.#bytes();
    const str = (off: number, len: number) => this.#text.decode(mem.subarray(this.#in + off, this.#in + off + len));
    return {
      version: x.recordVersion(),
      type: x.recordType() as LockType,
      slot: x.recordSlot() >>> 0,
      maxHolders: x.recordMaxHolders() >>> 0,
      holderPid: x.recordHolderPid() >>> 0,
      ownerPid: x.recordOwnerPid() >>> 0,
      ownerStart: x.recordOwnerStart(),
      uid: x.recordUid() >>> 0,
      acquiredAt: x.recordAcquiredAt(),
      hostname: str(x.recordHostOffset(), x.recordHostLength()),
      descriptor: str(x.recordDescriptorOffset(), x.recordDescriptorLength()),
      command: str(x.recordCommandOffset(), x.recordCommandLength()),
    };
  }

  /**
   * slotOrder returns the slots of a semaphore of maxHolders in the order to try them:
   * the preferred slot (if in range), then free-looking slots, then known-busy ones.
   */
  slotOrder(maxHolders: number, preferred?: number, busy: Iterable<number> = []): number[] {
    const mem = this.#bytes();
    const n = Math.min(Math.max(0, Math.trunc(maxHolders) || 0), this.#size);
    mem.fill(0, this.#in, this.#in + n);
    for (const s of busy) if (s >= 0 && s < n) mem[this.#in + s] = 1;
    const count = this.#x.slotOrder(maxHolders, preferred ?? -1);
    return Array.from(new Uint16Array(mem.buffer, this.#out, count));
  }

  /** effectiveCpus: the affinity count capped by a cgroup CPU quota (quota <= 0: none). */
  effectiveCpus(affinity: number, quotaUs = 0, periodUs = 0): number {
    return this.#x.effectiveCpus(affinity, quotaUs, periodUs);
  }

  /** holdersForCpus: --onePerCPU's semaphore size, cpus minus exclude, at least 1. */
  holdersForCpus(cpus: number, exclude = 0): number {
    return this.#x.holdersForCpus(cpus, exclude);
  }

  /** classify tells what a slot file means; only a held kernel lock makes it held. */
  classify(s: { recordValid: boolean; recordEmpty: boolean; lockHeld: boolean; sameHost: boolean }): Staleness {
    return this.#x.classify(s.recordValid, s.recordEmpty, s.lockHeld, s.sameHost);
  }
}

/** createCore instantiates the WASM core from its bytes (synchronously: it is 2–3 KB). */
export function createCore(wasm: Uint8Array<ArrayBuffer>): Core {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm), {});
  return new Core(instance.exports as unknown as CoreExports);
}
