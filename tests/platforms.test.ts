// Which systems waitlock runs on (README "Platforms"): Linux; anywhere else the
// first lock operation fails with one line saying why, before anything is
// written, in Node and in Deno alike, and doctor says so. Other systems cannot
// run here, so their system is chosen by name, as it would be there.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { createWaitlock } from "../adapters/api.ts";
import { core } from "../adapters/node/core.ts";
import { NodePlatform } from "../adapters/node/platform.ts";
import { nodeSystem } from "../adapters/node/system.ts";
import { unsupportedOs } from "../adapters/supported-os.ts";
import { system } from "../plugins/doctor/src/checks/system.ts";
import { tempDir } from "./helpers.ts";

describe("systems other than Linux", () => {
  for (const os of ["darwin", "freebsd", "openbsd", "win32"]) {
    test(`on ${os}, every operation refuses with one line (ESYSTEM) and writes nothing`, async (t) => {
      const dir = tempDir(t);
      const platform = new NodePlatform(nodeSystem(os));
      assert.equal(platform.unsupported, unsupportedOs(os));
      const wl = createWaitlock(platform, core);
      const refused = { code: "ESYSTEM", message: new RegExp(`^waitlock runs on Linux only, not ${os}: [^\\n]+$`) };
      await assert.rejects(wl.acquire("job", { lockDir: dir }), refused);
      await assert.rejects(wl.tryAcquire("job", { lockDir: dir }), refused);
      await assert.rejects(wl.check("job", { lockDir: dir }), refused);
      await assert.rejects(wl.list({ lockDir: dir }), refused);
      await assert.rejects(wl.signalHolders("job", "SIGTERM", { lockDir: dir }), refused);
      assert.deepEqual(readdirSync(dir), [], "nothing written");
    });
  }

  test("on Linux the same code takes locks", async (t) => {
    const wl = createWaitlock(new NodePlatform(nodeSystem("linux")), core);
    const lock = await wl.acquire("job", { lockDir: tempDir(t) });
    await lock.release();
  });

  test("doctor's system check: FAIL elsewhere, OK on Linux x64 glibc (tested), WARN for what is untested", () => {
    const darwin = system({ os: "darwin", arch: "arm64", glibc: undefined });
    assert.equal(darwin.status, "FAIL");
    assert.match(darwin.finding, /Linux only, not darwin/);
    assert.equal(system({ os: "linux", arch: "x64", glibc: "2.36" }).status, "OK");
    assert.equal(system({ os: "linux", arch: "arm64", glibc: "2.36" }).status, "WARN");
    const musl = system({ os: "linux", arch: "x64", glibc: undefined });
    assert.equal(musl.status, "WARN");
    assert.match(musl.finding, /musl/);
  });
});
