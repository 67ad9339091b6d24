// Prints the hex encoding of the record given as JSON in argv[0], using the Deno
// adapter's core. The Node test compares it with Node's bytes.
import { core } from "../../adapters/deno/core.ts";

const record = JSON.parse(Deno.args[0]);
const bytes = core.encodeRecord(record);
console.log(Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""));
