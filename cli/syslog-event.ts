// Sends one syslog line and exits: how the foreground holder logs "released"
// without loading syslog code itself.
// usage: syslog-event.cjs '{"facility":"daemon","target":{...},"pid":N,"severity":"info","text":"..."}'
import { EventLog } from "./syslog.ts";

const e = JSON.parse(process.argv[2] ?? "{}");
const log = new EventLog({ facility: e.facility, target: e.target, quiet: true, pid: e.pid });
if (e.severity === "err") log.error(e.text);
else if (e.severity === "warning") log.warning(e.text);
else log.info(e.text);
void log.flush();
