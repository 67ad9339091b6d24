// Calls the API with whatever permissions Deno was given and prints what the
// first call said: {"ok":true} or {"waitlockError":bool,"code":…,"message":…}.
// Importing the module must work without any permission.
// usage: deno run [flags] permissions.ts acquire|signal [LOCKDIR]
import { isWaitlockError, signalHolders, tryAcquire } from "../../adapters/deno/mod.ts";

const [what, lockDir] = Deno.args;
try {
  if (what === "signal") await signalHolders("perm", "SIGTERM", { lockDir });
  else await (await tryAcquire("perm", { lockDir }))?.release();
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  console.log(JSON.stringify({ waitlockError: isWaitlockError(err), code: (err as { code?: string }).code, message: (err as Error).message }));
}
