// The CPU count --onePerCPU sees: the affinity mask, capped by a cgroup CPU
// quota, with the same math (in the WASM core) as the CLI.
import { cpus as onlineCpus } from "node:os";
import type { Platform } from "../../../../adapters/platform.ts";
import type { Core } from "../../../../adapters/wasm-core.ts";
import { ok, warn, type Finding } from "../finding.ts";

const CHECK = "CPUs for --onePerCPU";

export function cpus(p: Platform, core: Core | undefined): Finding {
  const { affinity, quotaUs, periodUs } = p.cpuLimits();
  const online = onlineCpus().length;
  const quota = quotaUs > 0 && periodUs > 0
    ? `cgroup CPU quota ${+(quotaUs / periodUs).toFixed(2)} CPUs (${quotaUs}/${periodUs} µs)`
    : "no cgroup CPU quota";
  const seen = `affinity ${affinity} of ${online} online CPUs, ${quota}`;
  if (!core) return warn(CHECK, `${seen}; the count itself needs the WASM core, which did not load`, "see the WASM core check");
  const n = core.holdersForCpus(core.effectiveCpus(affinity, quotaUs, periodUs), 0);
  return ok(CHECK, `${n} (${seen}); waitlock -c allows ${n} holder${n === 1 ? "" : "s"}, -c -x N leaves N out`);
}
