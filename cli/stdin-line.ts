// The descriptor given on stdin (`echo backup | waitlock --exec ./backup.sh`):
// the first line, however slowly the producer writes it.
import { readSync } from "node:fs";
import { isatty } from "node:tty";

/** Far longer than any valid descriptor (255 bytes): a longer line is refused anyway, so reading stops there. */
const MAX_LINE_BYTES = 4096;
/** How long to wait before asking a non-blocking, still empty stdin again. */
const RETRY_MS = 5;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * readFirstLine returns the first line of fd, trimmed: everything up to the
 * first newline or the end of input, undefined if that is empty or fd is a
 * terminal (nobody is piping a descriptor in).
 *
 * - It reads one byte at a time and stops at the newline, as sh's `read` does:
 *   a producer that keeps its end open does not hold waitlock up, and the rest
 *   of the input is left for the --exec command, which inherits stdin.
 * - It never creates process.stdin: for a pipe that switches the open file
 *   description to non-blocking, which an empty pipe then answers with EAGAIN,
 *   and which the --exec command would inherit too.
 * - A stdin that is non-blocking anyway (whoever shares it set that) answers
 *   EAGAIN while the producer has not written yet: that means "not yet", not
 *   the end of input, so it waits a moment and asks again. Node cannot poll(2)
 *   a descriptor without reading from it, and a read through libuv would take
 *   more than the line.
 */
export function readFirstLine(fd: number): string | undefined {
  if (isatty(fd)) return undefined;
  const byte = Buffer.alloc(1);
  const line: number[] = [];
  while (line.length <= MAX_LINE_BYTES) {
    let n: number;
    try {
      n = readSync(fd, byte, 0, 1, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") {
        Atomics.wait(sleeper, 0, 0, RETRY_MS);
        continue;
      }
      break; // a closed descriptor, a directory, an I/O error: use what arrived
    }
    if (n === 0 || byte[0] === 0x0a) break;
    line.push(byte[0]);
  }
  const text = Buffer.from(line).toString("utf8").trim();
  return text === "" ? undefined : text;
}
