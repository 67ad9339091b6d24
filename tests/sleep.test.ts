// The retry pause of the network backends: cut short by its signal, and no
// listener left behind on a signal that lives as long as a lock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { sleep } from "../adapters/sleep.ts";

test("sleeps that end by themselves leave no listener on a long-lived signal", async () => {
  const stop = new AbortController();
  for (let i = 0; i < 20; i++) await sleep(1, stop.signal);
  assert.equal(getEventListeners(stop.signal, "abort").length, 0);
});

test("an abort ends a sleep at once, and an aborted signal does not sleep at all", async () => {
  const stop = new AbortController();
  const t0 = performance.now();
  const slept = sleep(10_000, stop.signal);
  setTimeout(() => stop.abort(), 20);
  await slept;
  assert.ok(performance.now() - t0 < 1_000);
  const t1 = performance.now();
  await sleep(10_000, stop.signal);
  assert.ok(performance.now() - t1 < 100);
});
