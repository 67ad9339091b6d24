// The Deno process's one instance of the WASM core: the very file Node loads,
// read from the package (needs --allow-read for build/).
import { createCore } from "../wasm-core.ts";

export const WASM_URL: URL = new URL("../../build/waitlock.wasm", import.meta.url);
export const core = createCore(Deno.readFileSync(WASM_URL));
