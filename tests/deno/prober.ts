// Probes a descriptor from Deno as fast as it can (check and list, forever),
// printing "probing" first. A fail-fast acquirer in another process must never
// see a false "busy" because of it.
// usage: deno run --allow-read --allow-write --allow-ffi --allow-env prober.ts LOCKDIR DESCRIPTOR
import { check, list } from "../../adapters/deno/mod.ts";

const [lockDir, descriptor] = Deno.args;
await check(descriptor, { lockDir });
console.log("probing");
for (;;) {
  await check(descriptor, { lockDir });
  await list({ lockDir, descriptor });
}
