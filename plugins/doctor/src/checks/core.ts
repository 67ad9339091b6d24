// The WASM core this CLI loads (build/waitlock.wasm under the CLI's root):
// that it loads here, and that its self-test passes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { selfTest } from "../../../../adapters/selftest.ts";
import { createCore, type Core } from "../../../../adapters/wasm-core.ts";
import { bytes, errorText, fail, ok, type Finding } from "../finding.ts";

const CHECK = "WASM core";

export interface CoreResult {
  finding: Finding;
  core?: Core;
}

/** wasmCore loads root/build/waitlock.wasm and runs its self-test (CRC-32 vector, record round trip). */
export function wasmCore(root: string): CoreResult {
  const path = join(root, "build/waitlock.wasm");
  let core: Core;
  let size: number;
  try {
    const wasm = readFileSync(path);
    size = wasm.length;
    core = createCore(wasm);
  } catch (err) {
    const missing = (err as { code?: string }).code === "ENOENT";
    return { finding: fail(CHECK, `${path} ${missing ? "is missing" : `does not load: ${errorText(err)}`}`, "rebuild it: npm run build (npm ci runs it too)") };
  }
  let result;
  try {
    result = selfTest(core);
  } catch (err) {
    result = { ok: false, detail: errorText(err) };
  }
  if (!result.ok) return { finding: fail(CHECK, `${path} loads but its self-test fails: ${result.detail}`, "rebuild it: npm run build"), core: undefined };
  return { finding: ok(CHECK, `${path} (${bytes(size)}) loads; ${result.detail}`), core };
}
