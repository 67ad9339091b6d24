// The main command's modes that take no lock: --list, --check and --done.
import { lstatSync } from "node:fs";
import { waitlock as wl } from "../adapters/node/index.ts";
import { callerOwner } from "./caller-owner.ts";
import type { Invocation } from "./invocation.ts";
import type { ModeContext } from "./mode-context.ts";

/** listMode prints the locks once, keeps listing them (--watch), or prints their metrics. */
export async function listMode(inv: Invocation): Promise<number> {
  if (inv.format === "prometheus" || inv.format === "openmetrics") {
    const { MetricsSource, eventsDirOf } = await import("./metrics-source.ts");
    process.stdout.write(await new MetricsSource(wl, inv.where, eventsDirOf(wl, inv.where)).render(inv.format));
    return 0;
  }
  const { render, toRows } = await import("./listing.ts");
  const { userName } = await import("./users.ts");
  const rows = async () => toRows(await wl.list({ ...inv.where, all: inv.all, staleOnly: inv.staleOnly }), Date.now(), userName);
  const view = { format: inv.format, showStatus: inv.all || inv.staleOnly };
  if (!inv.watch) {
    process.stdout.write(render(await rows(), view.format, view.showStatus));
    return 0;
  }
  const { watchListing } = await import("./watch.ts");
  return watchListing(wl.backend(inv.where), rows, view, process.stdout);
}

/** checkMode: 0 if the lock could be taken now, 1 if it is busy; it takes nothing. */
export async function checkMode(inv: Invocation, ctx: ModeContext): Promise<number> {
  const free = await wl.check(inv.descriptor, { ...inv.where, maxHolders: inv.maxHolders, shared: inv.shared });
  ctx.trace(`${inv.descriptor} is ${free ? "free" : "busy"}`);
  return free ? 0 : 1;
}

/**
 * doneMode ends every holder of the descriptor. A foreground holder ended so
 * sends its owner --lost-signal (cli/holder.ts), except the caller's own:
 * a script that says `waitlock --done NAME` for the lock it took lets go of
 * it and carries on.
 */
export async function doneMode(inv: Invocation, ctx: ModeContext): Promise<number> {
  const own = inv.network ? [] : await letGoOfOwn(inv, ctx);
  const pids = await wl.signalHolders(inv.descriptor, "SIGTERM", inv.where);
  if (pids.length === 0 && own.length === 0) {
    if (!ctx.quiet) process.stderr.write(`waitlock: nothing holds ${inv.descriptor}\n`);
    return 1;
  }
  if (pids.length > 0) ctx.trace(`sent SIGTERM to ${pids.join(", ")}`);
  return 0;
}

/**
 * letGoOfOwn ends, quietly (SIGUSR2), the foreground holders of the
 * descriptor whose owner is the caller of this --done, and waits until they
 * have let go; it returns their PIDs. The record says who the owner is, but
 * a record can be forged: the PID it names is signalled only if the kernel
 * says that process holds the slot file's lock.
 */
async function letGoOfOwn(inv: Invocation, ctx: ModeContext): Promise<number[]> {
  let caller: number;
  try {
    caller = callerOwner(inv.descriptor, (m) => ctx.trace(m));
  } catch {
    return []; // no caller to tell by (an adopted waitlock, a wrapper's vanished caller)
  }
  const callerStart = wl.platform.processStartTime(caller);
  const ended: number[] = [];
  for (const e of await wl.list({ descriptor: inv.descriptor, ...inv.where })) {
    const r = e.record;
    if (!r || e.status !== "active" || r.ownerPid !== caller || r.ownerStart !== callerStart || r.holderPid === r.ownerPid) continue;
    const id = lstatSync(e.location, { bigint: true, throwIfNoEntry: false });
    if (!id || wl.platform.holdsLock(r.holderPid, { dev: id.dev, ino: id.ino }) !== "holds") continue;
    try {
      wl.platform.kill(r.holderPid, "SIGUSR2");
      ended.push(r.holderPid);
    } catch {
      // exited meanwhile
    }
  }
  // Until they are gone, signalHolders would find them still holding, and end them as another's.
  const until = Date.now() + 5000;
  while (ended.some((pid) => wl.platform.processStartTime(pid) !== undefined) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  if (ended.length > 0) ctx.trace(`let go of the caller's own hold (holder PID ${ended.join(", ")})`);
  return ended;
}
