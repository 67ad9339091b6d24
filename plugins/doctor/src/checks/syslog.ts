// Where --syslog would deliver: the target in WAITLOCK_SYSLOG
// (udp://host:port, tcp://host:port, unix:///path), else the local socket
// /dev/log. Only what can be known without sending a message is checked:
// a socket is there, a TCP listener accepts, a UDP host resolves. Syslog never
// makes a lock fail, so problems here are warnings at most.
import { statSync } from "node:fs";
import { lookup } from "node:dns/promises";
import { connect } from "node:net";
import { errorText, ok, warn, type Finding } from "../finding.ts";
import { parseSyslogTarget, type SyslogTarget } from "../../../../cli/syslog-target.ts";

const CHECK = "syslog";
const CONNECT_TIMEOUT_MS = 2000;
const FORMS = "udp://host:port, tcp://host:port or unix:///path/to/socket";

export type Target = SyslogTarget;

/** parseTarget reads WAITLOCK_SYSLOG exactly as waitlock does; undefined when waitlock would refuse it. */
export function parseTarget(text: string): Target | undefined {
  try {
    return parseSyslogTarget(text);
  } catch {
    return undefined;
  }
}

function isSocket(path: string): boolean | undefined {
  try {
    return statSync(path).isSocket(); // follows the usual /dev/log -> /run/systemd/journal/dev-log link
  } catch {
    return undefined;
  }
}

function tcpReachable(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: CONNECT_TIMEOUT_MS });
    const done = (problem?: string) => {
      socket.destroy();
      resolve(problem);
    };
    socket.once("connect", () => done());
    socket.once("timeout", () => done(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
    socket.once("error", (err) => done((err as { code?: string }).code ?? errorText(err)));
  });
}

export async function syslog(env: (name: string) => string | undefined, devLog = "/dev/log"): Promise<Finding> {
  const local = isSocket(devLog);
  const localNote = local ? `local socket ${devLog} present` : `no local socket ${devLog}`;
  const configured = env("WAITLOCK_SYSLOG");
  if (!configured) {
    if (local) return ok(CHECK, `${localNote} (no WAITLOCK_SYSLOG target set)`);
    return warn(CHECK, `${local === false ? `${devLog} is not a socket` : localNote}, and no WAITLOCK_SYSLOG target is set: --syslog messages would be lost`,
      `run a syslog daemon (rsyslog, systemd-journald), or set WAITLOCK_SYSLOG to ${FORMS}`);
  }
  const target = parseTarget(configured);
  if (!target) return warn(CHECK, `WAITLOCK_SYSLOG=${configured} is not a target waitlock understands`, `use ${FORMS}`);
  if (target.kind === "unix") {
    const there = isSocket(target.path);
    if (there) return ok(CHECK, `WAITLOCK_SYSLOG ${configured}: socket present; ${localNote}`);
    return warn(CHECK, `WAITLOCK_SYSLOG ${configured}: ${there === false ? "not a socket" : "no such socket"}`, "start the syslog daemon that listens there, or fix WAITLOCK_SYSLOG");
  }
  if (target.kind === "tcp") {
    const problem = await tcpReachable(target.host, target.port);
    if (!problem) return ok(CHECK, `WAITLOCK_SYSLOG ${configured}: accepts connections; ${localNote}`);
    return warn(CHECK, `WAITLOCK_SYSLOG ${configured}: cannot connect (${problem})`, "start the syslog receiver there, open the firewall, or fix WAITLOCK_SYSLOG");
  }
  try {
    const { address } = await lookup(target.host);
    return ok(CHECK, `WAITLOCK_SYSLOG ${configured}: ${target.host === address ? "" : `${target.host} is ${address}; `}UDP delivery cannot be confirmed without a reply; ${localNote}`);
  } catch (err) {
    return warn(CHECK, `WAITLOCK_SYSLOG ${configured}: host ${target.host} does not resolve (${(err as { code?: string }).code ?? errorText(err)})`, "fix the host name in WAITLOCK_SYSLOG");
  }
}
