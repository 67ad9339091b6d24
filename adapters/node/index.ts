// waitlock for Node: named mutexes and counting semaphores released when their
// holder dies. See README "Library" for usage.
import { createWaitlock } from "../api.ts";
import { core } from "./core.ts";
import { nodeEventSink } from "./events.ts";
import { nodeNetwork } from "./network.ts";
import { NodePlatform } from "./platform.ts";

const waitlock = createWaitlock(new NodePlatform(), core, nodeNetwork, nodeEventSink);

export const { acquire, tryAcquire, check, list, signalHolders } = waitlock;
export { waitlock };
export { Lock, MAX_HOLDERS, DEFAULT_POLL_MS, DEFAULT_LEASE_SECONDS } from "../api.ts";
export type { AcquireOptions, CheckOptions, ListOptions, LockDirOption, LockInfo, Waitlock } from "../api.ts";
export { WaitlockError, isWaitlockError, EXIT_CODES } from "../errors.ts";
export type { ErrorCode } from "../errors.ts";
export { LockType } from "../wasm-core.ts";
export type { LockRecord } from "../wasm-core.ts";
