// A quick proof that the WASM core works in this runtime: a published CRC-32
// vector and a record round trip. Used by `npm start` and by `waitlock doctor`.
import { LockType, type Core } from "./wasm-core.ts";

export interface SelfTestResult {
  ok: boolean;
  detail: string;
}

export function selfTest(core: Core): SelfTestResult {
  const crc = core.crc32(new TextEncoder().encode("123456789"));
  if (crc !== 0xcbf43926) return { ok: false, detail: `CRC-32 vector gave 0x${crc.toString(16)}, want 0xcbf43926` };
  const record = {
    type: LockType.Semaphore, slot: 1, maxHolders: 3, holderPid: 1, ownerPid: 1, ownerStart: 0,
    uid: 0, acquiredAt: 1764165600000, hostname: "selftest", descriptor: "self.test", command: "waitlock selftest",
  };
  const bytes = core.encodeRecord(record);
  const back = core.decodeRecord(bytes);
  const same = Object.entries(record).every(([k, v]) => back[k as keyof typeof back] === v);
  if (!same) return { ok: false, detail: "record round trip changed a field" };
  return { ok: true, detail: `CRC-32 vector ok, record format v${core.formatVersion} round trip ok (${bytes.length} bytes)` };
}
