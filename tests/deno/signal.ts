// Sends SIGTERM from Deno to the verified holders of a descriptor and prints
// the PIDs signalled as JSON, or {"error":CODE,"message":…}.
// usage: deno run --allow-read --allow-write --allow-ffi --allow-env --allow-run signal.ts LOCKDIR DESCRIPTOR
import { signalHolders } from "../../adapters/deno/mod.ts";

const [lockDir, descriptor] = Deno.args;
try {
  console.log(JSON.stringify(await signalHolders(descriptor, "SIGTERM", { lockDir })));
} catch (err) {
  console.log(JSON.stringify({ error: (err as { code?: string }).code, message: (err as Error).message }));
}
