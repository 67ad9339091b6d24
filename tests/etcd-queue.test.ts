// The etcd protocol's queue rule, without a server: who a release lets
// through (QueueView.successors) and how a view follows watch events.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { KeyValue } from "../adapters/etcd/client.ts";
import { QueueView, grantable } from "../adapters/etcd/queue.ts";

const BASE = "p/d/";
let rev = 0n;

function kv(key: string, lease: string, value: object | string, mod?: bigint): KeyValue {
  const create = ++rev;
  return { key: BASE + key, lease, value: typeof value === "string" ? value : JSON.stringify(value), createRevision: create, modRevision: mod ?? create };
}

const entry = (mode: "exclusive" | "shared", maxHolders = 1) => ({ v: 1, mode, maxHolders, queuedAt: 0, host: "h", uid: 0, pid: 1, ownerPid: 1, ownerStart: 0, command: "c" });

/** view builds a queue: each item is [lease, mode, granted?]; granted ones hold slot keys (or read keys). */
function view(maxHolders: number, items: [string, "exclusive" | "shared", boolean][]): QueueView {
  const kvs: KeyValue[] = [];
  let slot = 0;
  for (const [lease, mode, granted] of items) {
    const q = kv(`q/${lease}`, lease, entry(mode, maxHolders));
    if (granted) {
      q.modRevision = q.createRevision + 1000n; // every grant rewrites the entry
      kvs.push(kv(mode === "shared" ? `read/${lease}` : `slot/${slot++}`, lease, entry(mode, maxHolders)));
    }
    kvs.push(q);
  }
  kvs.sort((a, b) => (a.createRevision < b.createRevision ? -1 : 1));
  return new QueueView(BASE, kvs, rev);
}

const leases = (v: QueueView, releaser: string) => v.successors(releaser).map((e) => e.lease);

describe("etcd queue: who a release lets through", () => {
  test("a mutex goes to the next waiter, and only to it", () => {
    assert.deepEqual(leases(view(1, [["a", "exclusive", true], ["b", "exclusive", false], ["c", "exclusive", false]]), "a"), ["b"]);
  });

  test("a semaphore's freed slot goes to the first waiter behind the holders", () => {
    const v = view(2, [["a", "exclusive", true], ["b", "exclusive", true], ["c", "exclusive", false], ["d", "exclusive", false]]);
    assert.deepEqual(leases(v, "a"), ["c"]);
    assert.deepEqual(leases(v, "b"), ["c"]);
  });

  test("a writer's release lets every reader up to the next writer through", () => {
    const v = view(1, [["w", "exclusive", true], ["r1", "shared", false], ["r2", "shared", false], ["w2", "exclusive", false], ["r3", "shared", false]]);
    assert.deepEqual(leases(v, "w"), ["r1", "r2"]);
  });

  test("a reader lets a writer through only when it is the last reader", () => {
    const v = view(1, [["r1", "shared", true], ["r2", "shared", true], ["w", "exclusive", false]]);
    assert.deepEqual(leases(v, "r1"), []);
    const last = view(1, [["r1", "shared", true], ["w", "exclusive", false]]);
    assert.deepEqual(leases(last, "r1"), ["w"]);
  });

  test("nobody waiting, or the releaser not queued (its lease gone): nobody", () => {
    assert.deepEqual(leases(view(1, [["a", "exclusive", true]]), "a"), []);
    assert.deepEqual(leases(view(1, [["b", "exclusive", false]]), "a"), []);
  });

  test("an entry already granted (or claiming for itself) is never handed a second grant", () => {
    // b was grantable before a let go (two slots): it claims by itself.
    assert.deepEqual(leases(view(2, [["a", "exclusive", true], ["b", "exclusive", false], ["c", "exclusive", false]]), "a"), ["c"]);
    // b's entry says granted (rewritten) though its grant key is not in view yet: skipped, and nobody behind it is let through.
    const b = kv("q/b", "b", entry("exclusive"));
    b.modRevision += 1000n;
    const v = new QueueView(BASE, [kv("q/a", "a", entry("exclusive")), kv("slot/0", "a", entry("exclusive")), b, kv("q/c", "c", entry("exclusive"))], rev);
    assert.deepEqual(leases(v, "a"), []);
  });

  test("an entry that is not waitlock's stops the hand-over (those behind it claim by themselves)", () => {
    const kvs = [kv("q/a", "a", entry("exclusive")), kv("slot/0", "a", entry("exclusive")), kv("q/x", "x", "not json"), kv("q/b", "b", entry("exclusive"))];
    assert.deepEqual(leases(new QueueView(BASE, kvs, rev), "a"), []);
  });

  test("the view follows puts and deletes, keeps arrival order, and sees --done requests", () => {
    const v = view(1, [["a", "exclusive", true]]);
    const b = kv("q/b", "b", entry("exclusive"));
    v.apply([{ type: "PUT", kv: b }], b.modRevision);
    assert.deepEqual(v.entries().map((e) => e.lease), ["a", "b"]);
    assert.deepEqual(leases(v, "a"), ["b"]);
    const done = kv("done", "r", { id: "x" });
    v.apply([{ type: "PUT", kv: done }, { type: "DELETE", kv: { ...b, value: "" } }], done.modRevision);
    assert.equal(v.done?.modRevision, done.modRevision);
    assert.deepEqual(v.entries().map((e) => e.lease), ["a"]);
    assert.ok(grantable({ maxHolders: 1, shared: false }, v.ahead("a")));
    assert.equal(v.grantOf("a")?.key, `${BASE}slot/0`);
  });
});
