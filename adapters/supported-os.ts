// The operating systems waitlock runs on (README "Platforms"). The lock
// directory's protocol (docs/FORMAT.md) needs byte-range locks that belong to
// an open file description: released by the kernel when the last descriptor of
// that open file closes (whatever kills the holder), inherited by a command
// that is handed the descriptor, and excluding every other open file of the
// same process. Linux has them (OFD locks, F_OFD_SETLK). macOS and the BSDs do
// not: flock(2) belongs to the open file but locks the whole file, and
// fcntl(2) record locks belong to the process (a second open of the same file
// by the process does not conflict, and any close drops them all). A port to
// one of them is a new system file per runtime (adapters/node/system-linux.ts
// is the shape) with a protocol that makes do with what that kernel offers.

/** unsupportedOs says why waitlock cannot run on os (a Node process.platform / Deno.build.os name), or undefined where it can. */
export function unsupportedOs(os: string): string | undefined {
  if (os === "linux") return undefined;
  return `waitlock runs on Linux only, not ${os}: its locks are byte-range locks owned by an open file (Linux OFD locks), which ${os} does not offer`;
}
