// How findings name a user: "alice (uid 1000)", or "uid 1000" when it has no name.
import { userName } from "../../../../cli/users.ts";

export function who(uid: number): string {
  const name = userName(uid);
  return name === String(uid) ? `uid ${uid}` : `${name} (uid ${uid})`;
}
