// The two static byte areas through which the host exchanges data with the core.
// No managed objects cross the boundary: the host copies bytes into INPUT, calls a
// function with plain numbers, and reads results from OUTPUT or from getters.
// That keeps the module free of a garbage collector and of imports.

/** Large enough for the biggest record (see record.ts, RECORD_MAX) and any descriptor. */
export const SCRATCH_SIZE: i32 = 8192;

export const INPUT: usize = memory.data(SCRATCH_SIZE, 16);
export const OUTPUT: usize = memory.data(SCRATCH_SIZE, 16);

/** Address of the input area, for the host to write into. */
export function inputPtr(): usize {
  return INPUT;
}

/** Address of the output area, for the host to read from. */
export function outputPtr(): usize {
  return OUTPUT;
}

/** Size in bytes of each area. */
export function scratchSize(): i32 {
  return SCRATCH_SIZE;
}
