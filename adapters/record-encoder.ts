// Encoding holder records for files that are written at once (the lock
// directory's slot and reader files), as a process that takes the same lock
// again and again needs them: into one buffer, and, when only the time differs
// from the record before, by restamping that record rather than encoding it
// again (the core changes its time and checksum: the same bytes either way).
// Encoding copies three strings into the core and checks them all; on an
// uncontended acquire + release that was the largest share of the library's
// own work.
import type { Core, LockRecordInput } from "./wasm-core.ts";

export class RecordEncoder {
  readonly #core: Core;
  readonly #buffer: Uint8Array;
  /** What #record holds (undefined: nothing to restamp). */
  #last: LockRecordInput | undefined;
  #record: Uint8Array | undefined;

  constructor(core: Core) {
    this.#core = core;
    this.#buffer = new Uint8Array(core.recordMaxBytes);
  }

  /**
   * encode returns r's record, a view of this encoder's buffer that the next
   * call overwrites: write it at once. r is kept to compare with the next
   * record, so it must not change afterwards.
   */
  encode(r: LockRecordInput): Uint8Array {
    const last = this.#last;
    const record = this.#record;
    this.#last = undefined; // until the buffer holds r's record: a failed call leaves nothing to restamp
    if (last !== undefined && record !== undefined && sameButTime(last, r)) {
      if (r.acquiredAt !== last.acquiredAt) this.#core.restampRecord(record, r.acquiredAt);
    } else {
      this.#record = this.#core.encodeRecordInto(r, this.#buffer);
    }
    this.#last = r;
    return this.#record!;
  }
}

/** sameButTime: would a and b encode the same, but for when they were acquired? */
function sameButTime(a: LockRecordInput, b: LockRecordInput): boolean {
  return a.type === b.type && a.slot === b.slot && a.maxHolders === b.maxHolders &&
    a.holderPid === b.holderPid && a.ownerPid === b.ownerPid && a.ownerStart === b.ownerStart &&
    a.uid === b.uid && a.hostname === b.hostname && a.descriptor === b.descriptor && a.command === b.command;
}
