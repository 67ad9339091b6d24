// The redis-server harness (tests/servers/redis.ts) that backend tests stand
// on: a real server that starts, pauses, dies and comes back on command, with
// or without persistence, checked with raw RESP commands.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { skipUnlessInstalled } from "./servers/installed.ts";
import { redisCommand } from "./servers/redis-resp.ts";
import { startRedis } from "./servers/redis.ts";
import { startTcpProxy } from "./servers/tcp-proxy.ts";

const skip = skipUnlessInstalled("redis-server");
const LONG = { timeoutMs: 10_000 };
const SHORT = { timeoutMs: 300 };

describe("redis harness", { skip }, () => {
  test("starts on a loopback port and serves SET and GET", async (t) => {
    const redis = await startRedis();
    t.after(() => redis.stop());
    assert.match(redis.endpoint, /^127\.0\.0\.1:\d+$/);
    assert.equal(redis.url, `redis://${redis.endpoint}`);
    assert.equal(await redisCommand(redis.port, ["SET", "greeting", "hello"], LONG), "OK");
    assert.equal(await redisCommand(redis.port, ["GET", "greeting"], LONG), "hello");
    assert.equal(await redisCommand(redis.port, ["GET", "nobody-wrote-this"], LONG), null);
  });

  test("paused, it answers nothing; resumed, it answers again", async (t) => {
    const redis = await startRedis();
    t.after(() => redis.stop());
    redis.pause();
    await assert.rejects(redisCommand(redis.port, ["PING"], SHORT), { code: "ETIMEDOUT" });
    redis.resume();
    assert.equal(await redisCommand(redis.port, ["PING"], LONG), "PONG");
  });

  test("without persistence a restart starts empty; with AOF it keeps what was written; stop removes the dir", async (t) => {
    for (const persistence of ["none", "aof"] as const) {
      const redis = await startRedis({ persistence });
      t.after(() => redis.stop());
      await redisCommand(redis.port, ["SET", "k", "v"], LONG);
      const pid = redis.pid;
      await redis.kill();
      assert.equal(redis.running, false);
      await assert.rejects(redisCommand(redis.port, ["PING"], SHORT), { code: "ECONNREFUSED" });
      await redis.restart();
      assert.notEqual(redis.pid, pid);
      assert.equal(await redisCommand(redis.port, ["GET", "k"], LONG), persistence === "aof" ? "v" : null, persistence);
      await redis.stop();
      assert.equal(existsSync(redis.dir), false);
    }
  });

  test("behind a proxy cut with reset, commands fail at once; restored, they work", async (t) => {
    const redis = await startRedis();
    t.after(() => redis.stop());
    const proxy = await startTcpProxy(redis.port);
    t.after(() => proxy.close());
    assert.equal(await redisCommand(proxy.port, ["PING"], LONG), "PONG");
    proxy.cut("reset");
    await assert.rejects(redisCommand(proxy.port, ["PING"], LONG), { code: "ECONNRESET" });
    proxy.cut("blackhole");
    await assert.rejects(redisCommand(proxy.port, ["PING"], SHORT), { code: "ETIMEDOUT" });
    proxy.restore();
    assert.equal(await redisCommand(proxy.port, ["PING"], LONG), "PONG");
  });
});
