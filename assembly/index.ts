// The waitlock core: pure functions over two scratch areas, no I/O, no imports.
export { inputPtr, outputPtr, scratchSize } from "./scratch";
export { crc32Of } from "./crc32";
export { sha256Of } from "./sha256";
export { checkDescriptorAt, descriptorBadIndex } from "./descriptor";
export {
  decodeRecord, encodeRecord, restampRecord, formatVersion, recordMaxBytes,
  recordVersion, recordType, recordSlot, recordMaxHolders, recordHolderPid, recordOwnerPid,
  recordOwnerStart, recordUid, recordAcquiredAt,
  recordHostOffset, recordHostLength, recordDescriptorOffset, recordDescriptorLength,
  recordCommandOffset, recordCommandLength,
} from "./record";
export { slotOrder, effectiveCpus, holdersForCpus } from "./slots";
export { classify } from "./staleness";
