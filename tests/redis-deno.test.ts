// The Deno module on a Redis backend, in real Deno processes (scenarios in
// tests/deno/redis.ts): ioredis loads through Deno's npm support, a lock
// works end to end, the process ends by itself once its locks are released,
// and a missing permission is a WaitlockError naming the flag, not a crash.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { DENO, ROOT, exited } from "./helpers.ts";
import { skipUnlessInstalled } from "./servers/installed.ts";
import { startRedis, type RedisServer } from "./servers/redis.ts";

/** A Deno run that has not ended by then left something that keeps it alive. */
const ENDS_WITHIN_MS = 20_000;

let redis: RedisServer;
let n = 0;

function denoRun(scenario: string, flags: string[]) {
  const backend = `${redis.url}/0?prefix=deno${process.pid}-${++n}`;
  const child = spawn(DENO, ["run", "--quiet", "--no-prompt", ...flags, join(ROOT, "tests/deno/redis.ts"), scenario, backend], {
    stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const killer = setTimeout(() => child.kill("SIGKILL"), ENDS_WITHIN_MS);
  return exited(child).then((r) => (clearTimeout(killer), { ...r, out }));
}

describe("Deno on a Redis backend", { skip: skipUnlessInstalled("redis-server"), concurrency: 1 }, () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test("locks, lists, hands over in the queue and releases; then the process ends by itself", async () => {
    const r = await denoRun("basics", ["--allow-read", "--allow-ffi", "--allow-env", "--allow-net"]);
    assert.equal(r.signal, null, `still running after ${ENDS_WITHIN_MS} ms (a connection or timer kept it alive): ${r.out}`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^ok basics$/m);
  });

  test("without --allow-env (ioredis reads the environment as it loads) the call fails with EPERM naming the flag", async () => {
    const r = await denoRun("no-env", ["--allow-read", "--allow-ffi", "--allow-net"]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^ok no-env$/m);
  });
});
