// What Node adds to its Platform to record lock events (the sink itself, the
// same on every runtime, is ../event-sink.ts).
import * as fs from "node:fs";
import type { EventFiles } from "../event-sink.ts";

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

export const nodeEventFiles: EventFiles = {
  // libuv opens every file close-on-exec.
  openAppend: (path) => fs.openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o666),
  append: (fd, data) => void fs.writeSync(fd, data),
  rename: (from, to) => fs.renameSync(from, to),
  atExit: (fn) => void process.on("exit", fn),
};
