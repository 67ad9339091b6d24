// Where --syslog sends: parsed and validated with the other options (exit 3),
// without loading the syslog code itself.
import { WaitlockError } from "../adapters/errors.ts";

export type SyslogTarget = { kind: "unix"; path: string } | { kind: "udp" | "tcp"; host: string; port: number };

export const DEFAULT_TARGET: SyslogTarget = { kind: "unix", path: "/dev/log" };
/** parseSyslogTarget reads udp://host:port, tcp://host:port or unix:///path. */
export function parseSyslogTarget(text: string): SyslogTarget {
  const bad = () => new WaitlockError("EUSAGE", `syslog target must be udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH, not ${JSON.stringify(text)}`);
  const m = /^(udp|tcp|unix):\/\/(.*)$/.exec(text.trim());
  if (!m) throw bad();
  if (m[1] === "unix") {
    if (!m[2].startsWith("/")) throw bad();
    return { kind: "unix", path: m[2] };
  }
  const hp = /^(\[[0-9a-fA-F:]+\]|[^:\/\s]+):(\d{1,5})$/.exec(m[2]);
  if (!hp || Number(hp[2]) < 1 || Number(hp[2]) > 65535) throw bad();
  return { kind: m[1] as "udp" | "tcp", host: hp[1].replace(/^\[|\]$/g, ""), port: Number(hp[2]) };
}

export function describeTarget(t: SyslogTarget): string {
  return t.kind === "unix" ? `unix://${t.path}` : `${t.kind}://${t.host}:${t.port}`;
}
