// The WASM core through its typed wrapper: known vectors, round trips, and
// property tests that no mutation of a record and no random input gets through.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { core } from "../adapters/node/core.ts";
import { DecodeStatus, LockType, RecordDecodeError, Staleness, type LockRecordInput } from "../adapters/wasm-core.ts";
import { isWaitlockError } from "../adapters/errors.ts";
import { RecordEncoder } from "../adapters/record-encoder.ts";
import { LockFileNames, NAME_MAX, parseLockFileName } from "../adapters/names.ts";
import { DENO } from "./deno-binary.ts";

const utf8 = new TextEncoder();
const byteLength = (s: string) => utf8.encode(s).length;

const sample: LockRecordInput = {
  type: LockType.Semaphore, slot: 2, maxHolders: 4, holderPid: 4242, ownerPid: 4000,
  ownerStart: 123456789, uid: 1000, acquiredAt: 1764165600123,
  hostname: "build-01", descriptor: "gpu_pool", command: "train.sh --epochs 3 — ünïcødé",
};

const descriptorArb = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"),
  minLength: 1, maxLength: 255,
});
const textArb = (maxBytes: number) =>
  fc.string({ unit: "binary", maxLength: maxBytes }).filter((s) => byteLength(s) <= maxBytes);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

const recordArb: fc.Arbitrary<LockRecordInput> = fc
  .record({
    type: fc.constantFrom(LockType.Mutex, LockType.Semaphore, LockType.Shared),
    maxHolders: fc.integer({ min: 1, max: 0xffffffff }),
    slotSeed: u32,
    holderPid: u32, ownerPid: u32, ownerStart: u53, uid: u32, acquiredAt: u53,
    hostname: textArb(255), descriptor: descriptorArb, command: textArb(4096),
  })
  .map(({ slotSeed, ...r }) => ({ ...r, slot: slotSeed % r.maxHolders }));

describe("crc32", () => {
  test("matches the IEEE 802.3 check value for 123456789", () => {
    assert.equal(core.crc32(utf8.encode("123456789")), 0xcbf43926);
  });
  test("matches zlib for the quick brown fox", () => {
    assert.equal(core.crc32(utf8.encode("The quick brown fox jumps over the lazy dog")), 0x414fa339);
  });
});

describe("sha256", () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  test("matches FIPS 180-4's examples", () => {
    assert.equal(hex(core.sha256(utf8.encode("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(hex(core.sha256(new Uint8Array())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
  test("agrees with node:crypto on any bytes, across block boundaries", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        assert.equal(hex(core.sha256(bytes)), createHash("sha256").update(bytes).digest("hex"));
      }),
      { numRuns: 500 },
    );
  });
});

describe("lock file names", () => {
  const names = new LockFileNames((b) => core.sha256(b));
  const byteLength = (s: string) => utf8.encode(s).length;
  test("every descriptor, slot and reader gets a name that fits NAME_MAX and parses back to it", () => {
    fc.assert(
      fc.property(
        fc.oneof(descriptorArb, descriptorArb.map((d) => d.padEnd(200 + (d.length % 56), "z"))), fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 1, max: 0xffffffff }),
        (d, slot, pid, seq) => {
          for (const [kind, name, plain] of [
            ["slot", names.slot(d, slot), `${d}.slot${slot}.lock`],
            ["reader", names.reader(d, slot, pid, seq), `${d}.slot${slot}.reader${pid}-${seq}.lock`],
          ] as const) {
            assert.ok(byteLength(name) <= NAME_MAX, `${name}: ${byteLength(name)} bytes`);
            // A name that fits is the one every version uses; only one that does not takes the long form.
            const fits = byteLength(plain) <= NAME_MAX;
            if (fits) assert.equal(name, plain);
            const parsed = parseLockFileName(name);
            assert.deepEqual(parsed && { kind: parsed.kind, slot: parsed.slot, long: parsed.long }, { kind, slot, long: !fits });
            assert.ok(names.mayBelongTo(parsed!, d));
            if (!fits) {
              const hash = createHash("sha256").update(d).digest("hex").slice(0, 32);
              assert.equal(parsed!.key, `${d.slice(0, 128)}~${hash}`, "as docs/FORMAT.md says");
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
  test("two descriptors never share a file name (long names differ by their hash)", () => {
    const base = "p".repeat(250); // + up to 4 digits: every name is long
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(names.slot(`${base}${i}`, 0));
    assert.equal(seen.size, 2000);
    assert.ok([...seen].every((n) => n.startsWith(`${"p".repeat(128)}~`)));
  });
});

describe("descriptorProblem", () => {
  test("accepts valid descriptors", () => {
    for (const d of ["a", "backup", "gpu_pool-2.lock", "x".repeat(255)]) assert.equal(core.descriptorProblem(d), undefined);
  });
  test("explains what is wrong", () => {
    assert.match(core.descriptorProblem("")!, /empty/);
    assert.match(core.descriptorProblem("x".repeat(256))!, /longer than 255/);
    assert.match(core.descriptorProblem("../etc/passwd")!, /"\/" at position 3/);
    assert.match(core.descriptorProblem("café")!, /"é" at position 4/);
    assert.match(core.descriptorProblem("a b")!, /" " at position 2/);
  });
  test("agrees with the documented regular expression on any string", () => {
    const re = /^[A-Za-z0-9._-]{1,255}$/;
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), descriptorArb, fc.string({ unit: "binary", maxLength: 260 })), (s) => {
        assert.equal(core.descriptorProblem(s) === undefined, re.test(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("record codec", () => {
  test("round-trips a sample record", () => {
    const bytes = core.encodeRecord(sample);
    assert.deepEqual(core.decodeRecord(bytes), { version: 2, ...sample });
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "WALK");
  });

  test("every encodable record decodes to itself", () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        assert.deepEqual(core.decodeRecord(core.encodeRecord(r)), { version: 2, ...r });
      }),
      { numRuns: 3000 },
    );
  });

  test("a RecordEncoder gives encodeRecord's bytes, whether it restamps or encodes", () => {
    // A sequence of records, each the one before at a new time or with one field
    // changed: the encoder restamps the first kind and must notice every other.
    const step = fc.oneof(
      u53.map((acquiredAt) => ({ acquiredAt })),
      fc.constant({}), // the same record again, same time
      recordArb.chain((r) => fc.constantFrom(...(Object.keys(r) as (keyof LockRecordInput)[])).map((k) => ({ [k]: r[k] }))),
    );
    fc.assert(
      fc.property(recordArb, fc.array(step, { maxLength: 12 }), (first, steps) => {
        const encoder = new RecordEncoder(core);
        let r = first;
        const seen = [encoder.encode(r)];
        assert.deepEqual(seen[0], core.encodeRecord(r));
        for (const change of steps) {
          const next = { ...r, ...change };
          if (next.slot >= next.maxHolders) next.slot = next.maxHolders - 1; // a changed maxHolders keeps the record encodable
          r = next;
          assert.deepEqual(encoder.encode(r), core.encodeRecord(r), JSON.stringify(change));
        }
      }),
      { numRuns: 500 },
    );
  });

  test("restampRecord refuses bytes that are not a record, and leaves them as they were", () => {
    const bytes = core.encodeRecord(sample);
    bytes[20] ^= 0x10;
    const before = bytes.slice();
    assert.throws(() => core.restampRecord(bytes, sample.acquiredAt + 1), (e) => isWaitlockError(e, "ECORRUPT"));
    assert.deepEqual(bytes, before);
  });

  test("a command line over 4096 bytes is truncated on a character boundary", () => {
    const command = "é".repeat(3000); // 6000 bytes
    const decoded = core.decodeRecord(core.encodeRecord({ ...sample, command }));
    assert.equal(decoded.command, "é".repeat(2048));
  });

  test("impossible values are refused with EUSAGE, not wrapped", () => {
    for (const bad of [
      { slot: 4 }, { maxHolders: 0, slot: 0 }, { holderPid: -1 }, { uid: 2 ** 32 }, { acquiredAt: 1.5 },
      { descriptor: "a/b" }, { type: 7 as LockType },
    ]) {
      assert.throws(() => core.encodeRecord({ ...sample, ...bad }), (e) => isWaitlockError(e, "EUSAGE"), JSON.stringify(bad));
    }
  });

  test("a hostname over 255 bytes is the system's, not the caller's: ESYSTEM", () => {
    for (const hostname of ["h".repeat(256), "é".repeat(128)]) {
      assert.throws(() => core.encodeRecord({ ...sample, hostname }), (e) => isWaitlockError(e, "ESYSTEM"), `${hostname.length} characters`);
    }
  });

  test("every single-bit flip is rejected", () => {
    const bytes = core.encodeRecord(sample);
    for (let i = 0; i < bytes.length * 8; i++) {
      const copy = bytes.slice();
      copy[i >> 3] ^= 1 << (i & 7);
      assert.notEqual(core.decodeStatus(copy), DecodeStatus.Ok, `bit ${i}`);
    }
  });

  test("every mutation of an encoded record is rejected (flips, truncation, extension)", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("extend" as const), extra: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    );
    fc.assert(
      fc.property(recordArb, mutation, (r, m) => {
        const bytes = core.encodeRecord(r);
        let mutated: Uint8Array;
        if (m.kind === "flip") {
          mutated = bytes.slice();
          mutated[m.at % bytes.length] ^= m.bits;
        } else if (m.kind === "truncate") {
          mutated = bytes.subarray(0, m.at % bytes.length);
        } else {
          mutated = new Uint8Array([...bytes, ...m.extra]);
        }
        assert.notEqual(core.decodeStatus(mutated), DecodeStatus.Ok);
        assert.throws(() => core.decodeRecord(mutated), RecordDecodeError);
      }),
      { numRuns: 3000 },
    );
  });

  test("random bytes never throw anything but RecordDecodeError", () => {
    const header = new Uint8Array([0x57, 0x41, 0x4c, 0x4b, 2, 0]);
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 9000 }),
      fc.uint8Array({ minLength: 48, maxLength: 5000 }).map((b) => new Uint8Array([...header, ...b])),
    );
    fc.assert(
      fc.property(input, (bytes) => {
        try {
          core.decodeRecord(bytes);
        } catch (e) {
          assert.ok(e instanceof RecordDecodeError, String(e));
          assert.equal(e.code, "ECORRUPT");
          assert.ok(e.status > DecodeStatus.Ok && e.status <= DecodeStatus.BadField);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test("names the precise reason", () => {
    const bytes = core.encodeRecord(sample);
    const reason = (b: Uint8Array) => core.decodeStatus(b);
    assert.equal(reason(new Uint8Array(10)), DecodeStatus.Short);
    assert.equal(reason(new Uint8Array(100)), DecodeStatus.BadMagic);
    const v3 = bytes.slice();
    v3[4] = 3;
    assert.equal(reason(v3), DecodeStatus.UnknownVersion);
    assert.equal(reason(bytes.subarray(0, bytes.length - 1)), DecodeStatus.BadLength);
    const flipped = bytes.slice();
    flipped[20] ^= 1;
    assert.equal(reason(flipped), DecodeStatus.BadCrc);
  });
});

describe("slots and CPUs", () => {
  test("preferred slot first, known-busy last", () => {
    assert.deepEqual(core.slotOrder(4), [0, 1, 2, 3]);
    assert.deepEqual(core.slotOrder(4, 2), [2, 0, 1, 3]);
    assert.deepEqual(core.slotOrder(4, undefined, [0, 1]), [2, 3, 0, 1]);
    assert.deepEqual(core.slotOrder(3, 9), [0, 1, 2]);
    assert.deepEqual(core.slotOrder(0), []);
  });
  test("every slot is tried exactly once", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: -1, max: 5000 }), fc.array(fc.nat(5000)), (n, p, busy) => {
        const order = core.slotOrder(n, p, busy);
        assert.equal(order.length, n);
        assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
        if (p >= 0 && p < n) assert.equal(order[0], p);
      }),
      { numRuns: 300 },
    );
  });
  test("--onePerCPU math", () => {
    assert.equal(core.effectiveCpus(8, 150_000, 100_000), 2);
    assert.equal(core.effectiveCpus(4), 4);
    assert.equal(core.holdersForCpus(2, 1), 1);
    assert.equal(core.holdersForCpus(2, 9), 1);
  });
});

describe("classify", () => {
  const c = (recordValid: boolean, recordEmpty: boolean, lockHeld: boolean, sameHost: boolean) =>
    core.classify({ recordValid, recordEmpty, lockHeld, sameHost });
  test("only the kernel lock makes a slot held", () => {
    assert.equal(c(false, false, true, true), Staleness.Active); // unreadable but held: active
    assert.equal(c(true, false, false, true), Staleness.Stale);
    assert.equal(c(false, true, false, true), Staleness.Stale);
    assert.equal(c(false, false, false, true), Staleness.Corrupt);
    assert.equal(c(true, false, true, false), Staleness.Foreign);
  });
});

test("Deno loads the same .wasm and encodes identical bytes", () => {
  const script = new URL("./deno/encode_record.ts", import.meta.url).pathname;
  const hex = execFileSync(DENO, ["run", "--quiet", "--allow-read", script, JSON.stringify(sample)], { encoding: "utf8" }).trim();
  assert.equal(hex, Buffer.from(core.encodeRecord(sample)).toString("hex"));
});
