import { checkDescriptorAt, descriptorBadIndex } from "../descriptor";
import { DescriptorStatus } from "../codes";
import { INPUT } from "../scratch";
import { putAscii } from "./helpers.include";

function check(s: string): DescriptorStatus {
  return checkDescriptorAt(INPUT, putAscii(s));
}

describe("checkDescriptorAt", () => {
  it("accepts letters, digits, dot, underscore and dash", () => {
    expect(check("backup")).toBe(DescriptorStatus.Ok);
    expect(check("gpu_pool-2.lock")).toBe(DescriptorStatus.Ok);
    expect(check("A")).toBe(DescriptorStatus.Ok);
    expect(check("...")).toBe(DescriptorStatus.Ok);
  });

  it("refuses an empty descriptor", () => {
    expect(check("")).toBe(DescriptorStatus.Empty);
  });

  it("accepts 255 characters and refuses 256", () => {
    expect(check("a".repeat(255))).toBe(DescriptorStatus.Ok);
    expect(check("a".repeat(256))).toBe(DescriptorStatus.TooLong);
  });

  it("refuses path separators, spaces and shell characters, naming the position", () => {
    expect(check("a/b")).toBe(DescriptorStatus.BadChar);
    expect(descriptorBadIndex()).toBe(1);
    expect(check(" x")).toBe(DescriptorStatus.BadChar);
    expect(descriptorBadIndex()).toBe(0);
    expect(check("x$")).toBe(DescriptorStatus.BadChar);
    expect(descriptorBadIndex()).toBe(1);
  });

  it("refuses non-ASCII bytes and NUL", () => {
    store<u8>(INPUT, 0x61);
    store<u8>(INPUT + 1, 0xc3);
    store<u8>(INPUT + 2, 0xa9);
    expect(checkDescriptorAt(INPUT, 3)).toBe(DescriptorStatus.BadChar);
    expect(descriptorBadIndex()).toBe(1);
    store<u8>(INPUT + 1, 0);
    expect(checkDescriptorAt(INPUT, 2)).toBe(DescriptorStatus.BadChar);
  });

  it("reports a bad character before excess length", () => {
    expect(check("/" + "a".repeat(300))).toBe(DescriptorStatus.BadChar);
  });
});
