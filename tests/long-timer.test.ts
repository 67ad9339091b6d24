// setLongTimeout: delays past setTimeout's limit (2^31 − 1 ms), waited in
// chunks. A small chunk size stands in for the limit, so re-arming is seen in
// milliseconds rather than weeks.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { setLongTimeout } from "../adapters/long-timer.ts";

/** activeTimeouts counts this process's armed setTimeout timers. */
const activeTimeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("setLongTimeout", () => {
  test("with chunks shorter than the delay, it re-arms and fires only once the whole delay has passed", async () => {
    const started = performance.now();
    const firedAfter = await new Promise<number>((resolve) => setLongTimeout(() => resolve(performance.now() - started), 150, 20));
    // A timer that was not re-armed would have fired after the first 20 ms chunk.
    assert.ok(firedAfter >= 150, `fired after ${firedAfter.toFixed(1)} ms`);
  });

  test("cancelling it between chunks disarms it", async () => {
    const before = activeTimeouts();
    let fired = false;
    const cancel = setLongTimeout(() => (fired = true), 60_000, 10);
    assert.equal(activeTimeouts(), before + 1);
    await sleep(100); // several chunks have come and gone, each re-arming the next
    assert.equal(activeTimeouts(), before + 1, "one chunk armed at a time");
    cancel();
    assert.equal(activeTimeouts(), before, "nothing left armed");
    cancel(); // again: nothing to do
    assert.equal(fired, false);
  });

  test("Infinity arms nothing; a delay past the limit arms without TimeoutOverflowWarning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const before = activeTimeouts();
      setLongTimeout(() => assert.fail("Infinity fired"), Infinity)();
      assert.equal(activeTimeouts(), before);
      let fired = false;
      const cancel = setLongTimeout(() => (fired = true), 3e9);
      assert.equal(activeTimeouts(), before + 1);
      await sleep(50); // an overflowing setTimeout fires after 1 ms
      assert.equal(fired, false);
      cancel();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      assert.deepEqual(warnings, []);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
