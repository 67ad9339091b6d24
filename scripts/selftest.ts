// `npm start` until the CLI lands: load the WASM core the way the Node adapter does
// and prove it works.
import { statSync } from "node:fs";
import { core, WASM_URL } from "../adapters/node/core.ts";
import { selfTest } from "../adapters/selftest.ts";

const result = selfTest(core);
console.log(`waitlock core: ${WASM_URL.pathname} (${statSync(WASM_URL).size} bytes)`);
console.log(`${result.ok ? "OK" : "FAIL"}: ${result.detail}`);
process.exitCode = result.ok ? 0 : 1;
