// What Deno adds to its Platform to record lock events (the sink itself, the
// same on every runtime, is ../event-sink.ts). The file is opened and written
// through libc, as the slot files are, so that it is never followed through a
// symlink nor blocks on a planted FIFO (Deno's own open cannot refuse either).
import type { EventFiles } from "../event-sink.ts";
import * as libc from "./libc.ts";

export const denoEventFiles: EventFiles = {
  openAppend: (path) => libc.openFile(path, libc.OPEN_FLAGS.append, 0o666),
  append: (fd, data) => void libc.writeAt(fd, data, 0),
  rename: (from, to) => Deno.renameSync(from, to),
  // "unload" is dispatched on a normal exit and on Deno.exit().
  atExit: (fn) => globalThis.addEventListener("unload", fn),
};
