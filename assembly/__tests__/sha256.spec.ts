import { sha256Of } from "../sha256";
import { INPUT, OUTPUT } from "../scratch";
import { putAscii } from "./helpers.include";

function hex(len: i32): string {
  let s = "";
  for (let i = 0; i < len; i++) {
    const b = load<u8>(OUTPUT + <usize>i);
    s += (b < 16 ? "0" : "") + b.toString(16);
  }
  return s;
}

describe("sha256Of", () => {
  it("matches FIPS 180-4's one-block example \"abc\"", () => {
    expect(sha256Of(INPUT, putAscii("abc"))).toBe(32);
    expect(hex(32)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("matches the published digest of no bytes", () => {
    expect(sha256Of(INPUT, 0)).toBe(32);
    expect(hex(32)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("matches FIPS 180-4's two-block example (56 bytes: the length needs a block of its own)", () => {
    const n = putAscii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    expect(sha256Of(INPUT, n)).toBe(32);
    expect(hex(32)).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });

  it("refuses a length the scratch area cannot hold", () => {
    expect(sha256Of(INPUT, -1)).toBe(0);
    expect(sha256Of(INPUT, 8193)).toBe(0);
  });
});
