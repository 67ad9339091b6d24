import { crc32Of } from "../crc32";
import { INPUT } from "../scratch";
import { putAscii } from "./helpers.include";

describe("crc32Of", () => {
  it("matches the IEEE 802.3 check value for \"123456789\"", () => {
    const n = putAscii("123456789");
    expect(crc32Of(INPUT, n)).toBe(0xcbf43926);
  });

  it("is 0 for no bytes", () => {
    expect(crc32Of(INPUT, 0)).toBe(0);
  });

  it("matches the published value for \"The quick brown fox jumps over the lazy dog\"", () => {
    const n = putAscii("The quick brown fox jumps over the lazy dog");
    expect(crc32Of(INPUT, n)).toBe(0x414fa339);
  });

  it("matches the published value for one zero byte", () => {
    store<u8>(INPUT, 0);
    expect(crc32Of(INPUT, 1)).toBe(0xd202ef8d);
  });
});
