// Opens an unnamed file in DIR through the Deno platform (Platform.openUnnamed,
// which a parked waiter rehearses its grant on) and prints what it got:
// {"kind","nlink","entries"} (the directory's names while it is open), or {"fd":null}.
// usage: deno run --allow-read --allow-write --allow-ffi unnamed.ts DIR
import { DenoPlatform } from "../../adapters/deno/platform.ts";

const [dir] = Deno.args;
const p = new DenoPlatform();
const fd = p.openUnnamed(dir);
if (fd === undefined) {
  console.log(JSON.stringify({ fd: null }));
} else {
  const st = p.fstat(fd);
  const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
  p.close(fd);
  console.log(JSON.stringify({ kind: st.kind, nlink: st.nlink, entries }));
}
