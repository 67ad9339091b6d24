// Whether the real servers the backend tests start are installed, and the skip
// reason when they are not. Off CI a missing server skips its tests, saying how
// to install it; on CI (.ci/run installs them) the tests run and fail instead,
// so a broken install can never pass as "skipped".
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export const INSTALL_HINT = "apt-get install etcd-server etcd-client redis-server";

/** onPath tells whether an executable of that name is on PATH. */
export function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || ".", name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** skipUnlessInstalled is a `skip` option for node:test: false, or why the binaries cannot run here. */
export function skipUnlessInstalled(...binaries: string[]): string | false {
  const missing = binaries.filter((name) => !onPath(name));
  if (missing.length === 0 || process.env.CI === "true") return false;
  return `${missing.join(", ")} not installed (${INSTALL_HINT})`;
}

/** notInstalled is the error a start function throws when its binary is missing (on CI, or when called anyway). */
export function notInstalled(binary: string): Error {
  return new Error(`${binary} is not installed (${INSTALL_HINT})`);
}
