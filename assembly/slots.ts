// Which slot to try first, and how many slots --onePerCPU means.
import { INPUT, OUTPUT } from "./scratch";
import { MAX_HOLDERS } from "./codes";

export { MAX_HOLDERS };

/**
 * slotOrder writes the order in which to try the slots of a semaphore of maxHolders
 * to the output area as u16 values and returns how many it wrote (0 if maxHolders
 * is out of range). The preferred slot comes first when it is in range; then the
 * slots not known to be busy, ascending; then the known-busy ones (busy knowledge
 * is a hint from a moment ago, so they are still tried, just last). The host
 * marks busy slots with a non-zero byte at input[slot] (a negative preferred
 * slot means none).
 */
export function slotOrder(maxHolders: i32, preferred: i32): i32 {
  const outPtr = OUTPUT;
  const busyPtr = INPUT;
  if (maxHolders < 1 || maxHolders > MAX_HOLDERS) return 0;
  let n = 0;
  const hasPreferred = preferred >= 0 && preferred < maxHolders;
  if (hasPreferred) store<u16>(outPtr + <usize>(n++ << 1), <u16>preferred);
  for (let pass = 0; pass < 2; pass++) {
    const wantBusy = pass == 1;
    for (let s = 0; s < maxHolders; s++) {
      if (hasPreferred && s == preferred) continue;
      if ((load<u8>(busyPtr + <usize>s) != 0) != wantBusy) continue;
      store<u16>(outPtr + <usize>(n++ << 1), <u16>s);
    }
  }
  return n;
}

/**
 * effectiveCpus is the CPU count a process can really use: its affinity mask,
 * capped by a cgroup quota (quota/period, rounded up) when one is set (quota > 0).
 */
export function effectiveCpus(affinity: i32, quotaUs: f64, periodUs: f64): i32 {
  let n = affinity < 1 ? 1 : affinity;
  if (quotaUs > 0 && periodUs > 0) {
    const q = <i32>Math.ceil(quotaUs / periodUs);
    if (q >= 1 && q < n) n = q;
  }
  return n;
}

/** holdersForCpus is --onePerCPU's semaphore size: cpus minus excluded, at least 1. */
export function holdersForCpus(cpus: i32, exclude: i32): i32 {
  const n = cpus - (exclude > 0 ? exclude : 0);
  return n < 1 ? 1 : n > MAX_HOLDERS ? MAX_HOLDERS : n;
}
