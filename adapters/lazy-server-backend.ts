// A lock server's backend, loaded on first use. The etcd and Redis code is a
// good part of the CLI's bundle, and most runs (the lock directory) never need
// it: through a dynamic import the bundler keeps it out of start-up (it is
// neither evaluated nor compiled until a server URL is used), while it stays
// in the same bundle, so classes such as WaitlockError stay one class.
import type { Awaitable, HeldSlot, ListFilter, LockBackend, SlotInfo, SlotRequest, WaitOptions } from "./backend.ts";
import type { ServerTarget } from "./backend-url.ts";
import type { NetworkSupport } from "./http.ts";
import type { Platform } from "./platform.ts";

export class LazyServerBackend implements LockBackend {
  readonly location: string;
  readonly #target: ServerTarget;
  readonly #net: NetworkSupport;
  readonly #platform: Platform;
  #loading: Promise<LockBackend> | undefined;
  #loaded: LockBackend | undefined;

  constructor(target: ServerTarget, net: NetworkSupport, platform: Platform) {
    this.location = target.display;
    this.#target = target;
    this.#net = net;
    this.#platform = platform;
  }

  #backend(): Promise<LockBackend> {
    this.#loading ??= import("./server-backend.ts").then(({ serverBackend }) => {
      this.#loaded = serverBackend(this.#target, this.#net, this.#platform);
      return this.#loaded;
    });
    return this.#loading;
  }

  // Once loaded, a request goes straight through: no await of an already settled load.
  tryAcquire(req: SlotRequest): Awaitable<HeldSlot | undefined> {
    return this.#loaded ? this.#loaded.tryAcquire(req) : this.#backend().then((b) => b.tryAcquire(req));
  }

  acquire(req: SlotRequest, wait: WaitOptions): Awaitable<HeldSlot> {
    return this.#loaded ? this.#loaded.acquire(req, wait) : this.#backend().then((b) => b.acquire(req, wait));
  }

  async check(req: Pick<SlotRequest, "descriptor" | "maxHolders" | "shared">): Promise<boolean> {
    return (await this.#backend()).check(req);
  }

  async list(filter: ListFilter): Promise<SlotInfo[]> {
    return (await this.#backend()).list(filter);
  }

  async signalHolders(descriptor: string, signal: string): Promise<number[]> {
    return (await this.#backend()).signalHolders(descriptor, signal);
  }

  watch(descriptor: string | undefined, onChange: () => void): () => void {
    let stop: (() => void) | undefined;
    let stopped = false;
    void this.#backend().then((b) => {
      if (!stopped) stop = b.watch(descriptor, onChange);
    }, () => onChange()); // the watcher reads again and meets the error itself
    return () => {
      stopped = true;
      stop?.();
    };
  }

  close(): void {
    this.#loaded?.close?.();
  }
}
