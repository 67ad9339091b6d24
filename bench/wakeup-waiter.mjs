// The waiter of the wake-up benchmark: a fresh process that calls acquire()
// once on a held lock and waits. It prints "parked" once acquire() has been
// called, then, when it gets the lock, the CLOCK_MONOTONIC time (ms) at which
// acquire() resolved, and exits.
// usage: wakeup-waiter.mjs LOCKDIR DESCRIPTOR
import { acquire } from "../dist/node/index.js";

const [lockDir, descriptor] = process.argv.slice(2);
const pending = acquire(descriptor, { lockDir });
process.stdout.write("parked\n");
const lock = await pending;
const at = Number(process.hrtime.bigint()) / 1e6;
process.stdout.write(`got ${at}\n`);
await lock.release();
