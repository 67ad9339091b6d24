// The etcd client's base64 of keys and values (the JSON gateway's bytes
// fields), without a server: UTF-8 text either way, ASCII or not.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { b64, unb64 } from "../adapters/etcd/client.ts";

test("b64 is base64 of the text's UTF-8, and unb64 undoes it", () => {
  // Well-formed text of every kind: ASCII-only (the quick path), Latin-1 (one byte
  // per character in btoa, two in UTF-8: the quick path must not take it), and beyond.
  const texts = fc.oneof(fc.string({ unit: "binary-ascii" }), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }));
  fc.assert(
    fc.property(texts, (text) => {
      assert.equal(b64(text), Buffer.from(text, "utf8").toString("base64"));
      assert.equal(unb64(b64(text)), text);
    }),
    { numRuns: 2000 },
  );
  assert.equal(b64("é"), "w6k=");
  assert.equal(unb64("w6k="), "é");
  assert.equal(unb64(undefined), "");
});

test("unb64 reads bytes that are not UTF-8 as the replacement character, as before", () => {
  assert.equal(unb64(Buffer.from([0x61, 0xff, 0x62]).toString("base64")), "a\ufffdb");
});
