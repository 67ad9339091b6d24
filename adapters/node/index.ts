// waitlock for Node: named mutexes and counting semaphores released when their
// holder dies. See README "Library" for usage.
import { createWaitlock } from "../api.ts";
import { core } from "./core.ts";
import { eventSinks } from "../event-sink.ts";
import { nodeEventFiles } from "./events.ts";
import { nodeNetwork } from "./network.ts";
import { NodePlatform } from "./platform.ts";

const platform = new NodePlatform();
const waitlock = createWaitlock(platform, core, nodeNetwork, eventSinks(platform, nodeEventFiles));

export const { acquire, tryAcquire, check, list, signalHolders } = waitlock;
export { waitlock };
export { Lock, MAX_HOLDERS, DEFAULT_POLL_MS, DEFAULT_LEASE_SECONDS } from "../api.ts";
export type { AcquireOptions, CheckOptions, ListOptions, LockDirOption, LockInfo, Waitlock } from "../api.ts";
export { WaitlockError, isWaitlockError, EXIT_CODES } from "../errors.ts";
export type { ErrorCode } from "../errors.ts";
export { LockType } from "../wasm-core.ts";
export type { LockRecord } from "../wasm-core.ts";
