// What MainRun (cli/main.ts) gives each mode of the main command, and takes
// back at the end: the events to flush, a waiting command's process to cancel.
import type { Starter } from "./exec.ts";
import type { EventLog } from "./syslog.ts";

export interface ModeContext {
  /** Explains a step on stderr, with -v (or WAITLOCK_DEBUG). */
  trace(message: string): void;
  readonly quiet: boolean;
  /** The syslog events (--syslog), once made; flushed when the invocation ends. */
  events?: EventLog;
  /** The command's process made while waiting (exec mode on a server); cancelled at the end unless it was used. */
  starter?: Starter;
}
