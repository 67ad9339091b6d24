// What letting go of a held file does to its record, in one place for the
// library (file-backend.ts) and the detached foreground holder (cli/holder.ts,
// which loads nothing else): remove the file while still holding its lock, or
// empty it where the directory refuses the unlink, and never write through a
// file that has another name. Needs only these few calls, so the holder can
// pass node:fs ones.

export interface RecordFileOps {
  fstat(fd: number): { dev: bigint; ino: bigint; nlink: number };
  lstat(path: string): { dev: bigint; ino: bigint } | undefined;
  unlink(path: string): void;
  truncate(fd: number, length: number): void;
}

/**
 * discardRecordFile removes the file at path if it is still the one open as
 * fd (whose dev and inode are `id`, if the caller knows them), else (or if unlinking is refused, as in a sticky directory) empties fd's
 * file, unless that file has other names. It never throws: the unlock that
 * follows is what matters, and a leftover file is merely stale.
 */
export function discardRecordFile(ops: RecordFileOps, path: string, fd: number, id?: { dev: bigint; ino: bigint }): void {
  try {
    // An open file's identity never changes: a caller that took it when it locked the file passes it.
    const mine = id ?? ops.fstat(fd);
    const there = ops.lstat(path);
    let unlinked = false;
    if (there && there.dev === mine.dev && there.ino === mine.ino) {
      try {
        ops.unlink(path);
        unlinked = true;
      } catch {
        // EACCES/EPERM in a sticky directory: emptying the file is the next best thing.
      }
    }
    if (!unlinked && ops.fstat(fd).nlink <= 1) ops.truncate(fd, 0); // never empty a file with another name
  } catch {
    // see above
  }
}
