// The Node process's one instance of the WASM core. The path is the same from
// the sources (adapters/node/) and from the bundle (dist/node/): both sit two
// levels below the package root, where build/waitlock.wasm lives.
import { readFileSync } from "node:fs";
import { createCore } from "../wasm-core.ts";

export const WASM_URL = new URL("../../build/waitlock.wasm", import.meta.url);
export const core = createCore(readFileSync(WASM_URL));
