// Lock.release() as callers see it, whatever the backend: the backend's own
// release is a held slot we control here, so that "still in flight" is a state
// the test chooses rather than a race it hopes to win.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Lock } from "../adapters/api.ts";
import type { HeldSlot } from "../adapters/backend.ts";

/** A held slot whose release() stays in flight until letGo() is called, counting the calls. */
function slowHeld() {
  let letGo!: () => void;
  const released = new Promise<void>((resolve) => (letGo = resolve));
  const held = {
    calls: 0,
    slot: 0,
    fds: [],
    rewrite() {},
    release() {
      held.calls++;
      return released;
    },
  } satisfies HeldSlot & { calls: number };
  return { held, letGo };
}

test("a second release() while the first is in flight settles with it, not before", async () => {
  const { held, letGo } = slowHeld();
  const lock = new Lock("d", "here", held, () => undefined);
  const first = lock.release();
  let secondSettled = false;
  const second = lock.release().then(() => (secondSettled = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(secondSettled, false, "the second call resolved while the slot was still being given up");
  assert.equal(lock.released, true);
  letGo();
  await Promise.all([first, second]);
  assert.equal(held.calls, 1, "the backend's release ran once");
});

test("release() after the lock is released resolves at once and gives up nothing more", async () => {
  const { held, letGo } = slowHeld();
  letGo();
  const lock = new Lock("d", "here", held, () => undefined);
  await lock.release();
  await lock.release();
  assert.equal(held.calls, 1);
  assert.deepEqual(lock.fds, []);
});

test("a release that calls back into release() (say, from a loss listener) gives up the slot once", async () => {
  const { held, letGo } = slowHeld();
  let lock!: Lock;
  lock = new Lock("d", "here", held, () => void lock.release());
  letGo();
  await lock.release();
  assert.equal(held.calls, 1);
});
