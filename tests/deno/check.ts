// Asks check() about a descriptor from Deno and prints what it said:
// {"free":bool} or {"code":…,"message":…} if it failed.
// usage: deno run --allow-read --allow-write --allow-ffi --allow-env check.ts LOCKDIR DESCRIPTOR
import { check } from "../../adapters/deno/mod.ts";

const [lockDir, descriptor] = Deno.args;
try {
  console.log(JSON.stringify({ free: await check(descriptor, { lockDir }) }));
} catch (err) {
  console.log(JSON.stringify({ code: (err as { code?: string }).code, message: (err as Error).message }));
}
